"""The balance measure, its lower bound, the hard constraints and the naive baseline, on hand-made cases."""

import math

import pytest

from rotation.scheduling.metrics import balance, lower_bound, naive, runs, validate
from rotation.scheduling.problem import (
    FREE,
    LEAVE,
    Department,
    ElectiveGroup,
    Problem,
    Requirement,
    Resident,
    SiteLimits,
)

A, B, C, SITE = 0, 1, 2, 3


def _problem(residents, capacity=2, horizon=4) -> Problem:
    departments = [
        Department("A", "甲科"),
        Department("B", "乙科"),
        Department("C", "丙科"),
        Department("S", "协同科", collaborating=True, site="site"),
    ]
    return Problem(
        departments=departments,
        residents=residents,
        first_month=100,
        horizon=horizon,
        capacity=[[capacity] * horizon for _ in departments],
    )


def _resident(key="r", start=100, length=4, requirements=((A, 2), (B, 1)), **kwargs) -> Resident:
    return Resident(
        key=key,
        name=key,
        start=start,
        length=length,
        requirements=tuple(Requirement(d, m) for d, m in requirements),
        **kwargs,
    )


@pytest.mark.parametrize(
    ("fair", "capacity", "total", "expected"),
    [
        ([1.0, 1.0, 1.0], [5, 5, 5], 3, 0.0),  # loads can equal the fair share exactly
        ([1.5, 1.5], [5, 5], 3, 1.0),  # 1 + 2: deviations −0.5 and +0.5
        ([1.0, 1.0], [0, 5], 2, 2.0),  # a closed month forces 0 and 2
        ([0.5, 0.5, 0.5, 0.5], [1, 1, 1, 1], 2, 1.0),
        ([2.0, 2.0, 2.0], [1, 1, 4], 6, 3.0),  # capacity forces loads 1, 1, 4: deviations −1, −1, +2
    ],
)
def test_lower_bound_by_hand(fair, capacity, total, expected):
    assert lower_bound(fair, capacity, total) == pytest.approx(expected)


def test_lower_bound_is_infinite_when_capacity_cannot_hold_the_total():
    assert math.isinf(lower_bound([1.0, 1.0], [0, 1], 2))


def test_balance_measures_load_against_the_fair_share():
    # two residents over 4 months, each needs A 2 and B 1 (+ 1 free month): fair share of A is 1 a month
    problem = _problem([_resident("r1"), _resident("r2")])
    stacked = [[A, A, B, FREE], [A, A, B, FREE]]  # A: 2, 2, 0, 0 against 1, 1, 1, 1
    spread = [[A, A, B, FREE], [B, FREE, A, A]]  # A: 1, 1, 1, 1
    assert validate(problem, stacked) == []
    assert balance(problem, stacked).departments[0].imbalance == pytest.approx(2.0)
    result = balance(problem, spread)
    assert result.sum == pytest.approx(0.5 + 0.5)  # B: 1, 0, 1, 0 against 0.5 each month
    assert result.lower_bound_sum == pytest.approx(1.0)  # B's half shares cannot be met with whole residents
    assert result.ratio == pytest.approx(1.0)


def test_validate_names_every_broken_rule():
    resident = _resident(
        requirements=(),
        pinned={100: LEAVE},
        electives=(ElectiveGroup(choose=1, months_each=1, options=(B, C)),),
    )
    resident.requirements = (Requirement(A, 2, year_minimum=((1, 2),)),)
    problem = _problem([resident], capacity=0)
    kinds = {v.kind for v in validate(problem, [[A, B, C, A]])}
    assert {"pinned", "elective", "runs", "capacity"} <= kinds
    assert {v.kind for v in validate(problem, [[LEAVE, A, FREE, FREE]])} >= {"count", "elective", "year_minimum"}


def test_leave_does_not_split_a_block_and_unpinned_leave_is_refused():
    assert runs([A, LEAVE, A, B], A) == 1
    problem = _problem([_resident(pinned={101: LEAVE})])
    assert validate(problem, [[A, LEAVE, A, B]]) == []
    assert [v.kind for v in validate(problem, [[A, LEAVE, A, LEAVE]])] == ["leave", "count"]


def test_site_limits_count_months_at_collaborating_departments():
    resident = _resident(requirements=((A, 1), (SITE, 3)), site_limits=SiteLimits(max_months=2))
    problem = _problem([resident])
    assert [v.detail["limit"] for v in validate(problem, [[A, SITE, SITE, SITE]])] == ["months"]


def test_naive_takes_departments_in_order_and_keeps_pins():
    resident = _resident(requirements=((A, 2), (B, 1)), pinned={100: B})
    problem = _problem([resident])
    assert naive(problem) == [[B, A, A, FREE]]
    assert validate(problem, naive(problem)) == []
