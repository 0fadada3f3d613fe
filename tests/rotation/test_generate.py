"""The generated problems the benchmark and the property tests rely on (pure Python, no database)."""

import math
from collections import Counter

import pytest

from rotation.scheduling import generate, metrics
from rotation.scheduling.problem import LEAVE


@pytest.fixture(scope="module")
def thousand():
    return generate.hospital(1000, 5, seed=1)


def _snapshot(problem):
    return (
        [(d.key, d.name, d.collaborating, d.site) for d in problem.departments],
        [(r.key, r.name, r.start, r.requirements, r.electives, r.preferences, r.pinned) for r in problem.residents],
        problem.capacity,
        problem.first_month,
        problem.horizon,
    )


def test_same_seed_same_hospital_other_seed_other_hospital():
    options = {"pinned_share": 0.2, "leave_share": 0.1}
    one = _snapshot(generate.hospital(300, 5, seed=7, **options))
    assert one == _snapshot(generate.hospital(300, 5, seed=7, **options))
    assert one != _snapshot(generate.hospital(300, 5, seed=8, **options))
    assert _snapshot(generate.small(4)) == _snapshot(generate.small(4))
    assert _snapshot(generate.small(4)) != _snapshot(generate.small(5))


def test_bases_cohorts_and_late_starters(thousand):
    residents = thousand.residents
    assert len(residents) == 1000
    sizes = Counter(r.group[0] for r in residents)
    assert set(sizes) == {"内科", "外科", "儿科", "急诊科", "全科"}
    assert sizes.most_common(2)[0][0] == "内科" and sizes.most_common(2)[1][0] == "外科"
    assert {r.group[1] for r in residents} == {2024, 2025, 2026}
    late = [r for r in residents if (r.start - thousand.first_month) % 12]
    assert 0.05 * 1000 < len(late) < 0.15 * 1000  # late_share 0.1
    assert all(1 <= (r.start - thousand.first_month) % 12 <= 6 for r in late)
    assert thousand.first_month == 2024 * 12 + 8  # September 2024
    seven = generate.hospital(100, 7, seed=1)
    assert {r.group[0] for r in seven.residents} >= {"麻醉科", "妇产科"}
    with pytest.raises(ValueError):
        generate.hospital(10, 9)


def test_requirements_sum_to_the_programme_and_fit_the_window(thousand):
    for resident in thousand.residents:
        assert generate.required_months(resident) == 33
        assert resident.length == 36
        assert thousand.first_month <= resident.start and resident.end <= thousand.first_month + thousand.horizon
        departments = [r.department for r in resident.requirements]
        assert len(departments) == len(set(departments))
        for group, ranked in zip(resident.electives, resident.preferences, strict=True):
            assert sorted(ranked) == sorted(group.options)
            assert not set(group.options) & set(departments)


def test_departments_are_shared_across_bases(thousand):
    names = [d.name for d in thousand.departments]
    users: dict[str, set] = {}
    for resident in thousand.residents:
        for requirement in resident.requirements:
            users.setdefault(names[requirement.department], set()).add(resident.group[0])
    assert users["心血管内科"] == {"内科", "急诊科", "全科"}
    assert {"内科", "急诊科", "全科"} <= users["急诊科"]
    collaborating = [d for d in thousand.departments if d.collaborating]
    assert {d.name for d in collaborating} == {"基层实践基地", "儿童保健科"}
    general = next(r for r in thousand.residents if r.group[0] == "全科")
    assert general.site_limits.max_months == 6  # from the programme's collaborating_site_limits


def test_capacities_cover_the_peak_fair_demand_but_barely(thousand):
    demand = generate.fair_demand(thousand)
    closed = 0
    for d, (caps, row) in enumerate(zip(thousand.capacity, demand, strict=True)):
        peak = max(row)
        for cap in caps:
            if cap == 0:
                closed += 1
            else:
                assert cap == max(1, math.ceil(1.1 * peak - 1e-9)), thousand.departments[d].name
    assert closed >= 1  # some department closes for a February
    assert generate.interval_shortfalls(thousand) == []
    # tight: across departments there is hardly more room than residents at the busiest month
    busiest = max(sum(row[t] for row in thousand.capacity) for t in range(thousand.horizon))
    assert busiest < 1.2 * 1000


def test_closed_months_are_februaries(thousand):
    for row in thousand.capacity:
        for t, cap in enumerate(row):
            if cap == 0:
                assert (thousand.first_month + t) % 12 == 1


def test_pins_and_leave_respect_capacity_and_the_window():
    problem = generate.hospital(400, 5, seed=3, pinned_share=0.3, pinned_months=6, leave_share=0.2)
    load = Counter()
    pinned = [r for r in problem.residents if any(v >= 0 for v in r.pinned.values())]
    on_leave = [r for r in problem.residents if LEAVE in r.pinned.values()]
    assert 0.2 * 400 < len(pinned) <= 0.3 * 400
    assert 0.15 * 400 < len(on_leave) <= 0.2 * 400
    for resident in problem.residents:
        leave = sum(1 for v in resident.pinned.values() if v == LEAVE)
        assert generate.required_months(resident) + leave <= resident.length
        for month, value in resident.pinned.items():
            assert resident.start <= month < resident.end
            if value >= 0:
                assert month < resident.start + 6
                load[value, month] += 1
    for (d, month), n in load.items():
        assert n <= problem.cap(d, month)


def test_naive_schedule_breaks_capacity_but_keeps_the_counts(thousand):
    schedule = metrics.naive(thousand)
    kinds = Counter(v.kind for v in metrics.validate(thousand, schedule))
    assert kinds["capacity"] > 50
    assert set(kinds) == {"capacity"}


@pytest.mark.parametrize("seed", range(20))
def test_small_instances_are_feasible(seed):
    problem, witness = generate.small_with_witness(seed)
    assert metrics.validate(problem, witness) == []
    assert len(problem.residents) == 12 and len(problem.departments) == 6
    assert generate.interval_shortfalls(problem) == []
    try:
        from rotation.scheduling.diagnose import diagnose
    except ImportError:
        pass
    else:
        assert diagnose(problem) == []
    for resident in problem.residents:
        leave = sum(1 for v in resident.pinned.values() if v == LEAVE)
        assert generate.required_months(resident) + leave <= resident.length


def test_small_instances_vary():
    problems = [generate.small(seed) for seed in range(20)]
    assert any(any(r.max_runs == 2 for r in p.residents[0].requirements) for p in problems)
    assert any(any(r.year_minimum for r in p.residents[0].requirements) for p in problems)
    assert any(any(d.collaborating for d in p.departments) for p in problems)
    assert any(any(r.pinned for r in p.residents) for p in problems)
    assert any(any(LEAVE in r.pinned.values() for r in p.residents) for p in problems)
    assert any(0 in row for p in problems for row in p.capacity)


def test_domain_path_prefers_explicit_then_env(tmp_path, monkeypatch):
    monkeypatch.setenv("ZHUPEI_DOMAIN", str(tmp_path))
    assert generate.domain_path() == tmp_path / "rotation_programs.yaml"
    assert generate.domain_path("/x/y.yaml").as_posix() == "/x/y.yaml"
    monkeypatch.delenv("ZHUPEI_DOMAIN")
    assert generate.domain_path().name == "rotation_programs.yaml"
    assert generate.domain_path().exists()
