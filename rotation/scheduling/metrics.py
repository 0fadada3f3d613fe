"""How a schedule is judged: its hard constraints, its balance, and the naive baseline.

The balance measure is the one the issue fixes for every report, screen and benchmark: for each
department, over the months it has eligible residents, each month's load minus its fair share (the
load if every resident spread each of their requirements evenly over their window); a
department's imbalance is the largest minus the smallest of these. Its lower bound relaxes every
constraint except "integer loads between 0 and capacity that add up to the department's total",
so no schedule can beat it.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from dataclasses import dataclass, field

from .problem import FREE, LEAVE, Problem, Resident, Schedule

EPSILON = 1e-9


@dataclass(frozen=True)
class Violation:
    """A broken hard constraint. `resident`/`department` are problem indices, `month` absolute."""

    kind: str  # length, pinned, leave, count, unexpected, elective, runs, year_minimum, capacity, site
    resident: int | None = None
    department: int | None = None
    month: int | None = None
    detail: dict = field(default_factory=dict)


@dataclass
class DepartmentBalance:
    department: int
    months: list[int]  # the months with eligible residents (absolute), ascending
    load: list[int]
    fair: list[float]
    imbalance: float
    lower_bound: float
    overflow: int  # department-months over capacity

    @property
    def deviation(self) -> list[float]:
        return [load - fair for load, fair in zip(self.load, self.fair, strict=True)]


@dataclass
class Balance:
    sum: float
    max: float
    lower_bound_sum: float
    lower_bound_max: float
    overflow: int  # department-months over capacity, all departments
    departments: list[DepartmentBalance]

    @property
    def ratio(self) -> float:
        """How far from the lower bound (1.0 = provably optimal)."""
        if self.lower_bound_sum <= EPSILON:
            return 1.0 if self.sum <= EPSILON else math.inf
        return self.sum / self.lower_bound_sum


# --- hard constraints ---------------------------------------------------------------------------


def runs(sequence: list[int], department: int) -> int:
    """Separate periods of `department` in a resident's months; leave does not split a period."""
    count, previous = 0, None
    for value in sequence:
        if value == LEAVE:
            continue
        if value == department and previous != department:
            count += 1
        previous = value
    return count


def loads(problem: Problem, schedule: Schedule) -> list[list[int]]:
    """load[d][t - first_month]: residents in department d in month t."""
    result = [[0] * problem.horizon for _ in problem.departments]
    for resident, months in zip(problem.residents, schedule, strict=True):
        offset = resident.start - problem.first_month
        for i, value in enumerate(months):
            if value >= 0:
                result[value][offset + i] += 1
    return result


def resident_violations(problem: Problem, index: int, months: list[int]) -> list[Violation]:
    """Everything one resident's months must satisfy on their own (capacity aside)."""
    resident = problem.residents[index]
    found: list[Violation] = []
    if len(months) != resident.length:
        return [Violation("length", index, detail={"expected": resident.length, "got": len(months)})]
    for month, value in resident.pinned.items():
        if resident.start <= month < resident.end and months[month - resident.start] != value:
            found.append(Violation("pinned", index, value if value >= 0 else None, month))
    for i, value in enumerate(months):
        if value == LEAVE and resident.pinned.get(resident.start + i) != LEAVE:
            found.append(Violation("leave", index, None, resident.start + i))
    counts = Counter(v for v in months if v >= 0)
    required = {r.department: r for r in resident.requirements}
    for department, requirement in required.items():
        if counts.get(department, 0) != requirement.months:
            found.append(
                Violation(
                    "count",
                    index,
                    department,
                    detail={"expected": requirement.months, "got": counts.get(department, 0)},
                )
            )
    extra = {d: n for d, n in counts.items() if d not in required}
    limits: dict[int, int] = {}  # department -> max runs, for chosen electives
    for group_index, group in enumerate(resident.electives):
        chosen = [d for d in group.options if d in extra]
        for department in chosen:
            limits[department] = group.max_runs
            if extra.pop(department) != group.months_each:
                found.append(
                    Violation(
                        "count",
                        index,
                        department,
                        detail={"expected": group.months_each, "got": counts[department], "group": group_index},
                    )
                )
        if len(chosen) != group.choose:
            found.append(Violation("elective", index, detail={"group": group_index, "chosen": len(chosen)}))
    for department in extra:
        found.append(Violation("unexpected", index, department, detail={"got": counts[department]}))
    limits.update({d: r.max_runs for d, r in required.items()})
    for department, limit in limits.items():
        if counts.get(department) and runs(months, department) > limit:
            found.append(Violation("runs", index, department, detail={"limit": limit, "got": runs(months, department)}))
    for requirement in resident.requirements:
        for year, minimum in requirement.year_minimum:
            start = 12 * (year - 1)
            got = sum(1 for v in months[start : start + 12] if v == requirement.department)
            if got < minimum:
                found.append(
                    Violation(
                        "year_minimum",
                        index,
                        requirement.department,
                        detail={"year": year, "expected": minimum, "got": got},
                    )
                )
    found.extend(_site_violations(problem, index, resident, counts))
    return found


def _site_violations(problem: Problem, index: int, resident: Resident, counts: Counter) -> list[Violation]:
    limits = resident.site_limits
    away = {d: n for d, n in counts.items() if problem.departments[d].collaborating}
    if not away:
        return []
    checks = [
        ("sites", limits.max_sites, len({problem.departments[d].site for d in away})),
        ("departments", limits.max_departments, len(away)),
        ("months", limits.max_months, sum(away.values())),
    ]
    return [
        Violation("site", index, detail={"limit": name, "expected": limit, "got": got})
        for name, limit, got in checks
        if limit is not None and got > limit
    ]


def validate(problem: Problem, schedule: Schedule) -> list[Violation]:
    """Every hard constraint of every resident, then capacity per department-month."""
    found: list[Violation] = []
    if len(schedule) != len(problem.residents):
        return [Violation("length", detail={"expected": len(problem.residents), "got": len(schedule)})]
    for index, months in enumerate(schedule):
        found.extend(resident_violations(problem, index, months))
    for department, row in enumerate(loads(problem, schedule)):
        for offset, load in enumerate(row):
            capacity = problem.capacity[department][offset]
            if load > capacity:
                found.append(
                    Violation(
                        "capacity",
                        None,
                        department,
                        problem.first_month + offset,
                        {"capacity": capacity, "load": load},
                    )
                )
    return found


# --- balance ------------------------------------------------------------------------------------


def balance(problem: Problem, schedule: Schedule) -> Balance:
    """The imbalance of every department, its lower bound, and the totals."""
    load = loads(problem, schedule)
    fair = [[0.0] * problem.horizon for _ in problem.departments]
    eligible = [[False] * problem.horizon for _ in problem.departments]
    for resident, months in zip(problem.residents, schedule, strict=True):
        offset = resident.start - problem.first_month
        for department, n in Counter(v for v in months if v >= 0).items():
            share = n / resident.length
            row, flags = fair[department], eligible[department]
            for t in range(offset, offset + resident.length):
                row[t] += share
                flags[t] = True
    departments = []
    for department in range(len(problem.departments)):
        offsets = [t for t in range(problem.horizon) if eligible[department][t]]
        if not offsets:
            continue
        loads_d = [load[department][t] for t in offsets]
        fair_d = [fair[department][t] for t in offsets]
        caps = [problem.capacity[department][t] for t in offsets]
        deviation = [x - f for x, f in zip(loads_d, fair_d, strict=True)]
        departments.append(
            DepartmentBalance(
                department=department,
                months=[problem.first_month + t for t in offsets],
                load=loads_d,
                fair=fair_d,
                imbalance=max(deviation) - min(deviation),
                lower_bound=lower_bound(fair_d, caps, sum(loads_d)),
                overflow=sum(1 for x, c in zip(loads_d, caps, strict=True) if x > c),
            )
        )
    outside = sum(
        1
        for d in range(len(problem.departments))
        for t in range(problem.horizon)
        if not eligible[d][t] and load[d][t] > problem.capacity[d][t]
    )
    return Balance(
        sum=sum(d.imbalance for d in departments),
        max=max((d.imbalance for d in departments), default=0.0),
        lower_bound_sum=sum(d.lower_bound for d in departments),
        lower_bound_max=max((d.lower_bound for d in departments), default=0.0),
        overflow=sum(d.overflow for d in departments) + outside,
        departments=departments,
    )


def lower_bound(fair: list[float], capacity: list[int], total: int) -> float:
    """The smallest range of (load − fair) over integer loads in [0, capacity] adding up to `total`.

    The best range has its minimum at some k − fair[t]; for each such candidate `lo` the loads start
    at the least integers keeping every deviation ≥ lo, and the remaining units go one by one to
    the month whose deviation stays lowest (water-filling), which gives the least maximum for that `lo`.
    """
    if total <= 0 or not fair:
        return 0.0

    def width(lo: float) -> float:
        base = []
        for f, c in zip(fair, capacity, strict=True):
            x = max(0, math.ceil(f + lo - EPSILON))
            if x > c:
                return math.inf
            base.append(x)
        remaining = total - sum(base)
        if remaining < 0:
            return math.inf
        hi = max(x - f for x, f in zip(base, fair, strict=True))
        heap = [(x + 1 - f, t) for t, (x, f) in enumerate(zip(base, fair, strict=True)) if x < capacity[t]]
        heapq.heapify(heap)
        for _ in range(remaining):
            if not heap:
                return math.inf
            level, t = heapq.heappop(heap)
            hi = max(hi, level)
            base[t] += 1
            if base[t] < capacity[t]:
                heapq.heappush(heap, (base[t] + 1 - fair[t], t))
        return hi - lo

    def candidates(floor: float) -> set[float]:
        found = set()
        for f in fair:
            for k in range(max(0, math.ceil(f + floor - EPSILON)), math.floor(f + EPSILON) + 1):
                found.add(k - f)
        return found

    best = min(width(lo) for lo in candidates(-1.0) | {-f for f in fair})
    if math.isinf(best):
        best = min((width(lo) for lo in candidates(-max(fair) - 1)), default=math.inf)
        if math.isinf(best):
            return math.inf
    return min([best] + [width(lo) for lo in candidates(-best) if lo <= 0])


# --- the naive baseline -------------------------------------------------------------------------


def naive(problem: Problem) -> Schedule:
    """What systems do today: the programme's departments in order from the start month, no capacities.

    Pinned months stay; electives take each resident's first choices (or the first options).
    """
    schedule: Schedule = []
    for resident in problem.residents:
        queue: list[int] = []
        for requirement in resident.requirements:
            queue.extend([requirement.department] * requirement.months)
        for group_index, group in enumerate(resident.electives):
            ranked = resident.preferences[group_index] if group_index < len(resident.preferences) else ()
            order = list(ranked) + [d for d in group.options if d not in ranked]
            for department in order[: group.choose]:
                queue.extend([department] * group.months_each)
        pinned_counts = Counter(v for m, v in resident.pinned.items() if v >= 0 and resident.start <= m < resident.end)
        for department, n in pinned_counts.items():
            for _ in range(n):
                if department in queue:
                    queue.remove(department)
        months = []
        for month in resident.months():
            if month in resident.pinned:
                months.append(resident.pinned[month])
            else:
                months.append(queue.pop(0) if queue else FREE)
        schedule.append(months)
    return schedule
