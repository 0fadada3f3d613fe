"""The rotation solver on seeded random hospitals: every hard constraint holds, pins stay, preferences
are honoured when there is room, infeasible input is explained, and re-planning changes little.

Pure Python (no database). Instances come from `generate.small`, which is feasible by construction.
"""

from dataclasses import replace

import pytest

from rotation.scheduling import generate, metrics
from rotation.scheduling.problem import FREE, LEAVE, Department, ElectiveGroup, Problem, Requirement, Resident
from rotation.scheduling.solver import solve

SEEDS = range(14)


def _check(problem: Problem, result) -> None:
    assert result.feasible, result.explanation
    assert metrics.validate(problem, result.schedule) == []
    for resident, months in zip(problem.residents, result.schedule, strict=True):
        for month, value in resident.pinned.items():
            assert months[month - resident.start] == value


@pytest.mark.parametrize("seed", SEEDS)
def test_every_hard_constraint_holds_on_small_random_hospitals(seed):
    problem = generate.small(seed, residents=5 + seed % 10, departments=3 + seed % 6)
    result = solve(problem, time_limit=2.0, seed=seed)
    _check(problem, result)
    assert result.stats["overflow"] == 0
    assert result.trace and all(elapsed >= 0 for elapsed, _ in result.trace)


def test_it_is_no_worse_than_the_lower_bound_allows_and_beats_the_naive_schedule():
    problem = generate.hospital(60, 2, seed=3)
    result = solve(problem, time_limit=3, seed=0)
    _check(problem, result)
    got = metrics.balance(problem, result.schedule)
    naive = metrics.balance(problem, metrics.naive(problem))
    assert got.lower_bound_sum - 1e-6 <= got.sum
    assert got.sum < naive.sum
    assert got.overflow == 0


def _roomy(residents: int = 6, capacity: int = 9) -> Problem:
    """Two mandatory departments and an elective group with plenty of room."""
    departments = [Department(f"D{i}", f"科室{i}") for i in range(5)]
    group = ElectiveGroup(choose=1, months_each=2, options=(2, 3, 4))
    people = [
        Resident(
            key=f"R{i}",
            name=f"住院医师{i}",
            start=24300,
            length=12,
            requirements=(Requirement(0, 4), Requirement(1, 3, max_runs=2)),
            electives=(group,),
            preferences=((4, 2, 3),),
        )
        for i in range(residents)
    ]
    return Problem(departments, people, 24300, 12, [[capacity] * 12 for _ in departments])


def test_it_honours_first_preferences_when_capacity_allows():
    problem = _roomy()
    result = solve(problem, time_limit=0.5)
    _check(problem, result)
    for months in result.schedule:
        assert months.count(4) == 2 and 2 not in months and 3 not in months
    assert result.stats["preferences"]["first_choice"] == len(problem.residents)


def test_it_falls_back_to_the_next_preference_when_the_first_is_full():
    problem = _roomy(residents=6)
    problem.capacity[4] = [1] * 6 + [0] * 6  # room for 6 resident-months: three residents of six
    result = solve(problem, time_limit=1.0)
    _check(problem, result)
    firsts = sum(1 for months in result.schedule if 4 in months)
    assert 1 <= firsts <= 3
    assert all(2 in months for months in result.schedule if 4 not in months)


def test_it_is_deterministic_for_a_seed_on_an_easy_instance():
    problem = _roomy()
    first = solve(problem, time_limit=0.3, seed=7)
    second = solve(problem, time_limit=0.3, seed=7)
    assert first.schedule == second.schedule


def test_too_little_capacity_is_explained_with_the_department_and_months():
    problem = _roomy(residents=6)
    problem.capacity[0] = [1] * 12  # 24 resident-months needed, 12 available
    result = solve(problem, time_limit=0.5)
    assert not result.feasible and result.schedule is None
    reason = next(r for r in result.explanation if r.kind == "capacity")
    assert reason.department == 0
    assert reason.months == list(range(24300, 24312))
    assert reason.message_params["needed"] == 24 and reason.message_params["capacity"] == 12
    assert sorted(reason.residents) == list(range(6))


def test_a_resident_whose_leave_leaves_too_few_months_gets_a_window_reason():
    problem = _roomy(residents=3)
    problem.residents[1].pinned.update({24300 + k: LEAVE for k in range(7)})  # 5 months left, 9 needed
    result = solve(problem, time_limit=0.5)
    assert not result.feasible
    reason = next(r for r in result.explanation if r.kind == "window")
    assert reason.residents == [1]
    assert reason.message_params["needed"] == 9 and reason.message_params["available"] == 5


def test_progress_is_reported_from_start_to_finish():
    problem = generate.small(1, residents=8)
    seen = []
    solve(problem, time_limit=0.5, progress=lambda fraction, phrase: seen.append((fraction, phrase)))
    assert seen[0][0] == 0.0 and seen[-1][0] == 1.0
    assert all(0.0 <= fraction <= 1.0 and phrase for fraction, phrase in seen)


def test_replan_after_a_long_leave_changes_only_that_resident():
    problem = _roomy(residents=6)
    problem = replace(problem, horizon=18, capacity=[[9] * 18 for _ in problem.departments])
    first = solve(problem, time_limit=0.5)
    _check(problem, first)
    for resident, months in zip(problem.residents, first.schedule, strict=True):
        resident.previous = {resident.start + p: v for p, v in enumerate(months)}
    # resident 2 takes four months of leave in months 3..6: the window grows by four months
    target = problem.residents[2]
    target.length = 16
    target.previous = {m: v for m, v in target.previous.items()}
    target.pinned.update({24303 + k: LEAVE for k in range(4)})
    result = solve(problem, time_limit=1.0, replan=True)
    _check(problem, result)
    for i, (months, before) in enumerate(zip(result.schedule, first.schedule, strict=True)):
        if i != 2:
            assert months == before
    assert result.schedule[2][3:7] == [LEAVE] * 4
    assert result.stats["changes"] > 0


def test_replan_moves_other_residents_only_where_capacity_forces_it():
    problem = _roomy(residents=4, capacity=2)
    problem.capacity[0] = [2] * 12
    first = solve(problem, time_limit=0.5)
    _check(problem, first)
    for resident, months in zip(problem.residents, first.schedule, strict=True):
        resident.previous = {resident.start + p: v for p, v in enumerate(months)}
    # resident 0 has already done department 0 in months 0..3 in reality: pinned, in whatever load
    pins = {24300 + k: 0 for k in range(4)}
    problem.residents[0].pinned.update(pins)
    result = solve(problem, time_limit=2.0, replan=True)
    _check(problem, result)
    changed = [i for i, (a, b) in enumerate(zip(result.schedule, first.schedule, strict=True)) if a != b]
    assert all(i == 0 or any(first.schedule[i][k] == 0 for k in range(4)) for i in changed)
    assert result.stats["changed_residents"] == len(changed)


def test_a_free_month_never_turns_into_leave():
    problem = generate.small(5, residents=10)
    result = solve(problem, time_limit=2.0)
    _check(problem, result)
    for resident, months in zip(problem.residents, result.schedule, strict=True):
        leave = [resident.start + p for p, v in enumerate(months) if v == LEAVE]
        assert all(resident.pinned.get(m) == LEAVE for m in leave)
        assert months.count(FREE) == resident.length - months.count(LEAVE) - sum(
            r.months for r in resident.requirements
        ) - sum(g.choose * g.months_each for g in resident.electives)


def test_replan_moves_residents_out_of_months_closed_since_publication():
    """Every previous schedule is valid on its own, yet together they sit in months now closed."""

    departments = [Department(k, k) for k in ("甲", "乙", "丙")]
    capacity = [[0, 0] + [4] * 4, [4] * 6, [4] * 6]  # 甲 closed in the first two months
    previous = [[0, 0, 1, 1, 2, -1], [1, 1, 0, 0, 2, -1], [2, -1, 1, 1, 0, 0]]
    residents = [
        Resident(
            key=n,
            name=f"r{n}",
            start=100,
            length=6,
            requirements=(Requirement(0, 2), Requirement(1, 2), Requirement(2, 1)),
            previous={100 + i: v for i, v in enumerate(months)},
        )
        for n, months in enumerate(previous)
    ]
    problem = Problem(departments=departments, residents=residents, first_month=100, horizon=6, capacity=capacity)

    result = solve(problem, time_limit=3, seed=0, replan=True)

    assert result.feasible and metrics.validate(problem, result.schedule) == []
    assert result.schedule[1:] == previous[1:]  # only the resident in the closed months moves


def test_a_replan_that_cannot_clear_the_overflow_falls_back_to_a_fresh_plan(monkeypatch):
    """Hard constraints come before few changes: the office gets a valid schedule, marked as a fresh plan."""
    from rotation.scheduling import solver as module
    from rotation.scheduling.diagnose import Reason

    problem = generate.small(3)
    real = module._solve
    calls = []

    def stuck_replan(problem, **kwargs):
        calls.append(kwargs["replan"])
        if kwargs["replan"]:
            return module.Result(None, False, [Reason("unresolved", 0, [], [], {})], {})
        return real(problem, **kwargs)

    monkeypatch.setattr(module, "_solve", stuck_replan)
    result = solve(problem, time_limit=3, seed=0, replan=True)

    assert calls == [True, False]
    assert result.feasible and metrics.validate(problem, result.schedule) == []
    assert result.stats["replan_fell_back"] is True and "changed_residents" in result.stats
