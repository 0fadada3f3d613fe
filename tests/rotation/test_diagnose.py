"""Why no schedule exists: each reason names the department, months, residents and the figures."""

from rotation.scheduling import generate
from rotation.scheduling.diagnose import diagnose
from rotation.scheduling.problem import LEAVE, Department, ElectiveGroup, Problem, Requirement, Resident, SiteLimits

START = 24300


def _problem(residents: int = 4, capacity: int = 9, length: int = 12, starts=None) -> Problem:
    departments = [Department(f"D{i}", f"科室{i}") for i in range(4)]
    people = [
        Resident(
            key=f"R{i}",
            name=f"住院医师{i}",
            start=(starts[i] if starts else START),
            length=length,
            requirements=(Requirement(0, 4), Requirement(1, 3, max_runs=2)),
            electives=(ElectiveGroup(choose=1, months_each=2, options=(2, 3)),),
            preferences=((2, 3),),
        )
        for i in range(residents)
    ]
    horizon = max(r.end for r in people) - START
    return Problem(departments, people, START, horizon, [[capacity] * horizon for _ in departments])


def test_a_feasible_problem_has_no_reasons():
    assert diagnose(_problem()) == []
    for seed in range(10):
        assert diagnose(generate.small(seed)) == []


def test_capacity_names_the_tightest_interval_and_its_figures():
    # two cohorts: the first four residents in months 0..11, two more in months 12..23
    problem = _problem(residents=6, starts=[START] * 4 + [START + 12] * 2)
    problem.capacity[0] = [1] * 12 + [2] * 12  # 16 months needed in year one, 12 there
    reasons = diagnose(problem)
    assert [r.kind for r in reasons] == ["capacity"]
    reason = reasons[0]
    assert reason.department == 0
    assert reason.months == list(range(START, START + 12))
    assert reason.residents == [0, 1, 2, 3]
    assert (reason.message_params["needed"], reason.message_params["capacity"]) == (16, 12)
    assert reason.message_params["first"] == "2025-01" and reason.message_params["last"] == "2025-12"


def test_pinned_residents_alone_over_capacity_give_a_month_overflow():
    problem = _problem(residents=3, capacity=2)
    for resident in problem.residents:
        resident.pinned[START + 5] = 0
    reasons = [r for r in diagnose(problem) if r.kind == "month_overflow"]
    assert len(reasons) == 1
    assert reasons[0].department == 0 and reasons[0].months == [START + 5]
    assert reasons[0].residents == [0, 1, 2]
    assert reasons[0].message_params["pinned"] == 3 and reasons[0].message_params["capacity"] == 2


def test_a_window_too_short_after_leave():
    problem = _problem(residents=2)
    problem.residents[0].pinned.update({START + k: LEAVE for k in range(5)})  # 7 months left, 9 needed
    reasons = diagnose(problem)
    assert [(r.kind, r.residents) for r in reasons] == [("window", [0])]
    assert reasons[0].message_params == {"resident": "住院医师0", "needed": 9, "available": 7, "leave": 5}
    assert reasons[0].months == [START + k for k in range(5)]


def test_a_required_department_closed_for_the_whole_window():
    problem = _problem(residents=2)
    problem.capacity[1] = [0] * 12
    reasons = diagnose(problem)
    closed = [r for r in reasons if r.kind == "closed"]
    assert {r.residents[0] for r in closed} == {0, 1}
    assert all(r.department == 1 and r.message_params["open"] == 0 for r in closed)


def test_an_elective_group_that_breaks_the_site_limits():
    problem = _problem(residents=1)
    collaborating = Department("C", "协同科室", collaborating=True, site="S1")
    problem.departments[2] = collaborating
    problem.departments[3] = Department("C2", "协同科室2", collaborating=True, site="S2")
    problem.residents[0].site_limits = SiteLimits(max_sites=0)
    reasons = diagnose(problem)
    assert [(r.kind, r.residents) for r in reasons] == [("elective", [0])]
    assert reasons[0].message_params["site_limits"] is True


def test_a_pinned_month_in_a_department_the_programme_lacks():
    problem = _problem(residents=1)
    problem.residents[0].pinned[START] = 3
    problem.residents[0].electives = ()
    problem.residents[0].preferences = ()
    reasons = diagnose(problem)
    assert [(r.kind, r.department) for r in reasons] == [("pin", 3)]
    assert reasons[0].message_params["pinned"] == 1 and reasons[0].message_params["required"] == 0


def test_a_year_minimum_with_no_room_in_that_year():
    problem = _problem(residents=1, length=24)
    resident = problem.residents[0]
    resident.requirements = (Requirement(0, 4, year_minimum=((1, 3),)), Requirement(1, 3, max_runs=2))
    for k in range(10):
        resident.pinned[START + k] = LEAVE if k < 8 else 1
    reasons = diagnose(problem)
    assert [(r.kind, r.department) for r in reasons] == [("year_minimum", 0)]
    assert reasons[0].message_params["room"] == 2 and reasons[0].message_params["needed"] == 3
