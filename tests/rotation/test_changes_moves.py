"""The office operations as month-level moves: pure functions over a resident's months."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from rotation.scheduling.problem import LEAVE
from rotation.services import schedule_moves
from rotation.services.schedule_moves import Move, Segment

pytestmark = pytest.mark.usefixtures("english")


def _months(*values) -> dict:
    return {date(2027, 1 + i, 1): v for i, v in enumerate(values)}


def _after(months: dict, moves: list[Move]) -> list:
    result = dict(months)
    for move in moves:
        assert result[move.month] == move.before
        result[move.month] = move.after
    return [result[m] for m in sorted(result)]


def test_segments_are_runs_of_one_department_without_free_months_or_leave():
    months = _months(1, 1, None, 2, LEAVE, 2, 2)
    assert schedule_moves.segments(months) == [
        Segment(1, date(2027, 1, 1), date(2027, 2, 1)),
        Segment(2, date(2027, 4, 1), date(2027, 4, 1)),
        Segment(2, date(2027, 6, 1), date(2027, 7, 1)),
    ]


def test_assigning_a_range_moves_only_the_months_that_differ():
    months = _months(1, 1, 2, 2)
    moves = schedule_moves.moves_assign(7, months, date(2027, 2, 1), date(2027, 4, 1), 2)
    assert moves == [Move(7, date(2027, 2, 1), 1, 2)]


def test_assigning_outside_the_window_is_refused():
    with pytest.raises(ValidationError, match="outside"):
        schedule_moves.moves_assign(7, _months(1, 1), date(2027, 2, 1), date(2027, 3, 1), 2)


def test_swapping_two_residents_exchanges_their_departments_in_the_range():
    a, b = _months(1, 2, 3), _months(3, 1, 2)
    moves = schedule_moves.moves_swap_residents(1, a, 2, b, date(2027, 2, 1), date(2027, 3, 1))
    assert _after(a, [m for m in moves if m.resident == 1]) == [1, 1, 2]
    assert _after(b, [m for m in moves if m.resident == 2]) == [3, 2, 3]


def test_swapping_two_blocks_of_different_lengths_shifts_what_lies_between():
    months = _months(1, 1, 2, 3, 3, 3, None)
    moves = schedule_moves.moves_swap_blocks(5, months, date(2027, 1, 1), date(2027, 4, 1))
    assert _after(months, moves) == [3, 3, 3, 2, 1, 1, None]


def test_shifting_a_block_later_moves_the_following_months_up():
    months = _months(1, 1, 2, 3, None)
    moves = schedule_moves.moves_shift_block(5, months, date(2027, 1, 1), date(2027, 3, 1))
    assert _after(months, moves) == [2, 3, 1, 1, None]


def test_shifting_a_block_earlier_moves_the_preceding_months_down():
    months = _months(2, 3, None, 1, 1)
    moves = schedule_moves.moves_shift_block(5, months, date(2027, 4, 1), date(2027, 1, 1))
    assert _after(months, moves) == [1, 1, 2, 3, None]


def test_shifting_a_block_past_the_end_of_the_window_is_refused():
    with pytest.raises(ValidationError, match="outside"):
        schedule_moves.moves_shift_block(5, _months(1, 1, 2), date(2027, 1, 1), date(2027, 3, 1))


def test_a_block_must_start_where_the_user_says():
    with pytest.raises(ValidationError, match="No block starts in 2027-02"):
        schedule_moves.moves_swap_blocks(5, _months(1, 1, 2), date(2027, 2, 1), date(2027, 3, 1))


def test_moves_round_trip_through_json():
    move = Move(3, date(2027, 5, 1), None, 9)
    assert Move.from_json(move.as_json()) == move
