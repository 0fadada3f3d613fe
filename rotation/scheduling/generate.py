"""Synthetic scheduling problems: realistic hospitals for the benchmark, small ones for property tests.

`hospital()` builds a teaching hospital from the programmes in `rotation_programs.yaml` (the copy
shipped in `rotation/data/`, else the shared domain folder; `ZHUPEI_DOMAIN` or `path=` override
it): residents of several bases and September intakes share departments whose capacities are
tight (`slack` × the peak of the demand a perfectly even schedule would put on them).

`small()` builds a random programme around a hidden witness schedule and derives capacities,
year minimums, site limits and pins from that witness, so every instance is feasible by
construction. Both are deterministic for a seed and free of Django.
"""

from __future__ import annotations

import functools
import math
import os
import random
from datetime import date
from pathlib import Path

from .problem import (
    FREE,
    LEAVE,
    Department,
    ElectiveGroup,
    Problem,
    Requirement,
    Resident,
    Schedule,
    SiteLimits,
    month_index,
)

# the copy the repository ships (the demo hospital and the default programmes read it too)
REPO_DATA = Path(__file__).resolve().parents[2] / "accounts" / "data" / "rotation_programs.yaml"
# Set by a caller (the benchmark) to force a file; None = $ZHUPEI_DOMAIN, then REPO_DATA.
DOMAIN_PATH: Path | None = None

WINDOW = 36  # months in a training window (the programmes have 33, so 3 are FREE)

# Bases in the order `hospital(bases=N)` takes them, with their share of the residents: 内科 and
# 外科 are the biggest bases of a Chinese teaching hospital, 全科 is large by national policy.
BASE_ORDER = ["内科", "外科", "儿科", "急诊科", "全科", "麻醉科", "妇产科", "神经内科"]
BASE_WEIGHT = {"内科": 26, "外科": 22, "儿科": 10, "急诊科": 8, "全科": 16, "麻醉科": 10, "妇产科": 8, "神经内科": 6}

# Departments at a collaborating site (协同单位): the community health centre of the 全科 programme
# and the maternal and child hospital where 儿科 residents do child health care.
COLLABORATING = {"基层实践基地": "社区卫生服务中心", "儿童保健科": "妇幼保健院"}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红娥玲芬燕彬鹏辉宇浩凯欣怡婷雪琳晨阳"


def domain_path(path: str | os.PathLike | None = None) -> Path:
    """The programmes file: `path`, DOMAIN_PATH, $ZHUPEI_DOMAIN (file or folder), else the repository's copy."""
    for candidate in (path, DOMAIN_PATH, os.environ.get("ZHUPEI_DOMAIN")):
        if candidate:
            candidate = Path(candidate)
            return candidate / "rotation_programs.yaml" if candidate.is_dir() else candidate
    return REPO_DATA


@functools.lru_cache(maxsize=4)
def _load(path: str) -> dict:
    import yaml

    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_programmes(path: str | os.PathLike | None = None) -> tuple[dict, dict]:
    """(departments by name, programmes by name) from the YAML; checks each programme's sum rule."""
    data = _load(str(domain_path(path)))
    departments = {d["name"]: d for d in data["departments"]}
    programmes = {}
    for programme in data["programs"]:
        total = 0
        for item in programme["requirements"]:
            total += item["months"] if "department" in item else item["choose"] * item["months_each"]
            for name in [item["department"]] if "department" in item else item["from"]:
                if name not in departments:
                    raise ValueError(f"{programme['name']}: unknown department {name}")
        if total != programme["total_months"]:
            raise ValueError(f"{programme['name']}: requirements sum to {total}, not {programme['total_months']}")
        programmes[programme["name"]] = programme
    return departments, programmes


def _runs(months: int) -> int:
    """Long rotations may be split (普通外科 16 months is ward, clinic and emergency in practice)."""
    return 1 if months < 6 else 2 if months < 12 else 3


def _split(total: int, weights: list[float]) -> list[int]:
    """Largest-remainder split of `total` in proportion to `weights`."""
    scale = sum(weights)
    exact = [total * w / scale for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: counts[i] - exact[i])
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _ranked(rng: random.Random, options: tuple[int, ...], popularity: dict[int, float]) -> tuple[int, ...]:
    """A ranking drawn from the options' popularity (Plackett–Luce: popular ones tend to come first)."""
    left, ranking = list(options), []
    while left:
        pick = rng.choices(left, weights=[popularity[o] for o in left])[0]
        ranking.append(pick)
        left.remove(pick)
    return tuple(ranking)


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def fair_demand(problem: Problem) -> list[list[float]]:
    """demand[d][t]: what a perfectly even schedule would put in department d in month t.

    Each resident spreads each required month of d evenly over the window; an elective group's
    months spread evenly over its options.
    """
    demand = [[0.0] * problem.horizon for _ in problem.departments]
    for resident in problem.residents:
        share: dict[int, float] = {}
        for requirement in resident.requirements:
            share[requirement.department] = share.get(requirement.department, 0) + requirement.months
        for group in resident.electives:
            for option in group.options:
                share[option] = share.get(option, 0) + group.choose * group.months_each / len(group.options)
        first = resident.start - problem.first_month
        for d, months in share.items():
            row, per_month = demand[d], months / resident.length
            for t in range(first, first + resident.length):
                row[t] += per_month
    return demand


def required_months(resident: Resident) -> int:
    return sum(r.months for r in resident.requirements) + sum(g.choose * g.months_each for g in resident.electives)


def interval_shortfalls(problem: Problem) -> list[tuple[int, int, int, int, int]]:
    """Necessary-condition check: (department, from, to, demand, capacity) where the mandatory
    months of the residents whose whole window lies in [from, to) exceed the capacity there."""
    starts = sorted({r.start for r in problem.residents})
    ends = sorted({r.end for r in problem.residents})
    need: list[dict[tuple[int, int], int]] = [{} for _ in problem.departments]
    for resident in problem.residents:
        for requirement in resident.requirements:
            key = (resident.start, resident.end)
            row = need[requirement.department]
            row[key] = row.get(key, 0) + requirement.months
    problems = []
    for d, row in enumerate(need):
        if not row:
            continue
        prefix = [0]
        for value in problem.capacity[d]:
            prefix.append(prefix[-1] + value)
        for a in starts:
            for b in ends:
                if b <= a:
                    continue
                demand = sum(m for (s, e), m in row.items() if s >= a and e <= b)
                capacity = prefix[b - problem.first_month] - prefix[a - problem.first_month]
                if demand > capacity:
                    problems.append((d, a, b, demand, capacity))
    return problems


def hospital(
    residents: int,
    bases: int,
    seed: int = 1,
    *,
    cohorts: int = 3,
    late_share: float = 0.1,
    slack: float = 1.1,
    first_year: int = 2024,
    closures: int = 2,
    pinned_share: float = 0.0,
    pinned_months: int = 6,
    leave_share: float = 0.0,
    path: str | os.PathLike | None = None,
) -> Problem:
    """A teaching hospital: `residents` in the first `bases` programmes, `cohorts` September intakes.

    `late_share` of the residents start 1–6 months late. Capacities are ceil(slack × peak fair
    demand) per department; `closures` of the smaller departments (default 2) close for one
    February when the interval check says the instance stays feasible. `pinned_share` of the
    residents keep their first `pinned_months` months as a capacity-respecting greedy schedule left
    them (a re-plan); `leave_share` of them have 1–3 months of approved leave (pinned).
    """
    if not 1 <= bases <= len(BASE_ORDER):
        raise ValueError(f"bases must be 1..{len(BASE_ORDER)}")
    rng = random.Random(seed)
    catalogue, programmes = load_programmes(path)
    base_names = [name for name in BASE_ORDER if name in programmes][:bases]

    # departments: every one a chosen programme uses, in the catalogue's order
    used = set()
    for base in base_names:
        for item in programmes[base]["requirements"]:
            used.update([item["department"]] if "department" in item else item["from"])
    departments = [
        Department(
            key=info["code"],
            name=name,
            collaborating=name in COLLABORATING,
            site=COLLABORATING.get(name),
        )
        for name, info in catalogue.items()
        if name in used
    ]
    index = {d.name: i for i, d in enumerate(departments)}
    popularity = {i: rng.uniform(0.3, 3.0) for i in range(len(departments))}

    first_month = month_index(date(first_year, 9, 1))
    people: list[Resident] = []
    counts = _split(residents, [BASE_WEIGHT.get(name, 5) for name in base_names])
    n = 0
    for base, count in zip(base_names, counts, strict=True):
        programme = programmes[base]
        requirements = tuple(
            Requirement(index[item["department"]], item["months"], _runs(item["months"]))
            for item in programme["requirements"]
            if "department" in item
        )
        groups = tuple(
            ElectiveGroup(item["choose"], item["months_each"], tuple(index[o] for o in item["from"]))
            for item in programme["requirements"]
            if "department" not in item
        )
        limits = SiteLimits(**programme.get("collaborating_site_limits", {}))
        # later intakes slightly larger, as hospitals grow their quotas
        for cohort, size in enumerate(_split(count, [1 + 0.05 * c for c in range(cohorts)])):
            for _ in range(size):
                delay = rng.randint(1, 6) if rng.random() < late_share else 0
                people.append(
                    Resident(
                        key=f"R{n:05d}",
                        name=_name(rng),
                        start=first_month + 12 * cohort + delay,
                        length=WINDOW,
                        requirements=requirements,
                        electives=groups,
                        preferences=tuple(_ranked(rng, g.options, popularity) for g in groups),
                        site_limits=limits,
                        group=(base, first_year + cohort),
                    )
                )
                n += 1
    horizon = max(r.end for r in people) - first_month if people else WINDOW
    problem = Problem(departments=departments, residents=people, first_month=first_month, horizon=horizon, capacity=[])

    demand = fair_demand(problem)
    problem.capacity = [[max(1, math.ceil(slack * max(row) - 1e-9))] * horizon for row in demand]

    # A few small departments close for one February (renovation, accreditation visit), if that stays
    # feasible. Small ones: a closed month's whole fair share counts as imbalance, and a closure of a
    # department holding 100 residents would swamp the measure (and is not what hospitals do).
    # inside the busy part of the horizon, where a closure matters
    februaries = [t for t in range(first_month + 12, first_month + horizon - 12) if t % 12 == 1]
    small_ones = sorted(range(len(departments)), key=lambda d: (problem.capacity[d][0], d))[: len(departments) // 3]
    for d in rng.sample(small_ones, len(small_ones)):
        if closures <= 0 or not februaries:
            break
        t = rng.choice(februaries) - first_month
        saved = problem.capacity[d][t]
        problem.capacity[d][t] = 0
        if any(s[0] == d for s in interval_shortfalls(problem)):
            problem.capacity[d][t] = saved
        else:
            closures -= 1

    if pinned_share > 0:
        _pin_prefixes(problem, rng, pinned_share, pinned_months)
    if leave_share > 0:
        _add_leave(problem, rng, leave_share)
    return problem


def _pin_prefixes(problem: Problem, rng: random.Random, share: float, months: int) -> None:
    """Pin the first `months` of some residents as whole mandatory blocks laid end to end, each
    block reserved in full against the capacities so the pinned prefixes never overload a month."""
    load = [[0] * problem.horizon for _ in problem.departments]
    chosen = rng.sample(range(len(problem.residents)), round(share * len(problem.residents)))
    for r in sorted(chosen):
        resident = problem.residents[r]
        order = list(resident.requirements)
        rng.shuffle(order)
        t = resident.start - problem.first_month
        limit = t + months
        while t < limit and order:
            for requirement in order:
                span = range(t, t + requirement.months)
                row, cap = load[requirement.department], problem.capacity[requirement.department]
                if span.stop <= problem.horizon and all(row[m] < cap[m] for m in span):
                    break
            else:
                break  # nothing fits here: the rest of the window is left to the solver
            order.remove(requirement)
            for m in span:
                row[m] += 1
                if m < limit:
                    resident.pinned[problem.first_month + m] = requirement.department
            t = span.stop


def _add_leave(problem: Problem, rng: random.Random, share: float) -> None:
    """1–3 consecutive months of approved leave, inside the window's spare months, after any pins."""
    for resident in rng.sample(problem.residents, round(share * len(problem.residents))):
        spare = resident.length - required_months(resident)
        if spare <= 0:
            continue
        length = rng.randint(1, spare)
        free = [m for m in resident.months() if m not in resident.pinned]
        starts = [m for m in free if all(m + k in free for k in range(length))]
        if starts:
            first = rng.choice(starts)
            for m in range(first, first + length):
                resident.pinned[m] = LEAVE


def small(
    seed: int,
    residents: int = 12,
    departments: int = 6,
    *,
    length: int = 18,
    pinned_share: float = 0.2,
    leave_share: float = 0.15,
    slack: int = 1,
) -> Problem:
    """A small random instance that is feasible by construction (see `small_with_witness`)."""
    return small_with_witness(
        seed,
        residents,
        departments,
        length=length,
        pinned_share=pinned_share,
        leave_share=leave_share,
        slack=slack,
    )[0]


def small_with_witness(
    seed: int,
    residents: int = 12,
    departments: int = 6,
    *,
    length: int = 18,
    pinned_share: float = 0.2,
    leave_share: float = 0.15,
    slack: int = 1,
) -> tuple[Problem, Schedule]:
    """A small random instance and the hidden schedule that proves it feasible.

    One programme: mandatory departments (some `max_runs=2`, maybe a first-year minimum) plus one
    elective group; residents start in the first 3 months; capacities are the witness's load plus
    up to `slack`, months the witness leaves empty are sometimes closed; pins and leave come from
    the witness; one department may sit at a collaborating site with limits the witness meets.
    """
    rng = random.Random(seed)
    if departments < 3:
        raise ValueError("need at least 3 departments")
    depts = [Department(key=f"D{i}", name=f"科室{i}") for i in range(departments)]
    n_options = rng.randint(2, min(3, departments - 1))
    options = tuple(range(departments - n_options, departments))
    mandatory_depts = list(range(departments - n_options))
    group = ElectiveGroup(choose=1, months_each=rng.randint(1, 2), options=options)
    # programme months: the window minus 1–2 free months, spread over the mandatory departments
    budget = length - rng.randint(1, 2) - group.choose * group.months_each
    months = _split(budget, [rng.uniform(0.5, 2) for _ in mandatory_depts])
    months = [max(1, m) for m in months]
    while sum(months) > budget:
        months[months.index(max(months))] -= 1
    runs = [2 if m >= 2 and rng.random() < 0.4 else 1 for m in months]
    first_month = month_index(date(2025, 9, 1))

    # the witness: blocks in a random order, free months dropped in between
    witness: Schedule = []
    starts = [first_month + rng.randint(0, 2) for _ in range(residents)]
    for _ in range(residents):
        blocks = []
        for d, m, k in zip(mandatory_depts, months, runs, strict=True):
            if k == 2 and rng.random() < 0.5:
                cut = rng.randint(1, m - 1)
                blocks += [[d] * cut, [d] * (m - cut)]
            else:
                blocks.append([d] * m)
        for option in rng.sample(options, group.choose):
            blocks.append([option] * group.months_each)
        blocks += [[FREE]] * (length - sum(len(b) for b in blocks))
        rng.shuffle(blocks)
        witness.append([d for block in blocks for d in block])

    # year minimum: what every resident's witness already has in the first year, for one department
    year_minimum = {}
    if length > 12 and rng.random() < 0.6:
        d = rng.choice(mandatory_depts)
        floor = min(sum(1 for x in row[:12] if x == d) for row in witness)
        if floor:
            year_minimum[d] = ((1, floor),)
    requirements = tuple(
        Requirement(d, m, k, year_minimum.get(d, ())) for d, m, k in zip(mandatory_depts, months, runs, strict=True)
    )

    limits = SiteLimits()
    if rng.random() < 0.5:
        d = rng.randrange(departments)
        depts[d] = Department(key=depts[d].key, name=depts[d].name + "（协同）", collaborating=True, site="S1")
        most = max(sum(1 for x in row if x == d) for row in witness)
        limits = SiteLimits(max_sites=1, max_departments=1, max_months=most + rng.randint(0, 1))

    people = []
    for i, (start, row) in enumerate(zip(starts, witness, strict=True)):
        pinned = {}
        if rng.random() < leave_share:
            free = [k for k, x in enumerate(row) if x == FREE]
            k = rng.choice(free)
            row[k] = LEAVE
            pinned[start + k] = LEAVE
        if rng.random() < pinned_share:
            a = rng.randrange(length)
            for k in range(a, min(length, a + rng.randint(1, 4))):
                if row[k] >= 0:
                    pinned[start + k] = row[k]
        people.append(
            Resident(
                key=f"S{i:03d}",
                name=f"住院医师{i}",
                start=start,
                length=length,
                requirements=requirements,
                electives=(group,),
                preferences=(tuple(rng.sample(options, len(options))),),
                pinned=pinned,
                site_limits=limits,
                group="small",
            )
        )
    horizon = max(r.end for r in people) - first_month
    load = [[0] * horizon for _ in depts]
    for start, row in zip(starts, witness, strict=True):
        for k, d in enumerate(row):
            if d >= 0:
                load[d][start - first_month + k] += 1
    capacity = [
        [x + rng.randint(0, slack) if x else (0 if rng.random() < 0.3 else rng.randint(1, 2)) for x in row]
        for row in load
    ]
    problem = Problem(departments=depts, residents=people, first_month=first_month, horizon=horizon, capacity=capacity)
    return problem, witness
