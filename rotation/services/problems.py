"""The bridge between the database and the Django-free scheduler.

`build_problem` turns residents (their windows, their base's programme, their elective
preferences, their published blocks) and the departments' monthly capacities into a
`scheduling.Problem`, plus an `Index` that maps the problem's integer indices back to database
ids. The other helpers turn a schedule into ScheduleEntry rows and back.

Windows run from the month of `start_date` to the month of `planned_end_date`, inclusive.

Re-planning (`replan=True`): blocks that have started (start_date <= today) are pinned in full (a
started block is never cut); the months of published blocks that have not started become the
resident's `previous` schedule, which the solver tries to keep (months no block covers: FREE).
Residents without any block are planned from scratch.

Leave: another app adds LEAVE pins through the registry here, e.g. in its AppConfig.ready()::

    from rotation.services.problems import pins

    @pins.register
    def approved_leave(resident_ids, first_month, count):
        # -> {resident_id: {month_index: LEAVE}}; month_index counts from first_month (0 = first_month)
        ...

Registered functions are called for every problem (re-planning or not); LEAVE always wins over a
block pin for that month.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from accounts.choices import SiteKind
from accounts.models import Department, Hospital
from residents.models import ResidentProfile

from ..choices import EntryKind, RequirementKind
from ..models import Programme, RotationBlock, ScheduleEntry, ScheduleRun
from ..scheduling import problem as sp
from ..scheduling.problem import FREE, LEAVE, month_index, month_start
from . import department_settings, elective_preferences

logger = logging.getLogger(__name__)

PinFunction = Callable[[list[int], date, int], Mapping[int, Mapping[int, int]]]


class PinRegistry:
    """Functions that fix months of residents' windows (approved leave); see the module docstring."""

    def __init__(self) -> None:
        self._functions: list[PinFunction] = []

    def register(self, fn: PinFunction) -> PinFunction:
        if fn not in self._functions:
            self._functions.append(fn)
        return fn

    def unregister(self, fn: PinFunction) -> None:
        if fn in self._functions:
            self._functions.remove(fn)

    def collect(self, resident_ids: list[int], first_month: date, count: int) -> dict[int, dict[int, int]]:
        """Absolute month index -> LEAVE per resident id, from every registered function."""
        result: dict[int, dict[int, int]] = defaultdict(dict)
        base = month_index(first_month)
        for fn in self._functions:
            for resident_id, months in (fn(resident_ids, first_month, count) or {}).items():
                for offset, value in months.items():
                    result[resident_id][base + offset] = value
        return result


pins = PinRegistry()


@dataclass
class Index:
    """Problem indices <-> database ids, plus what the review pages need to label them."""

    first_month: int
    horizon: int
    departments: list[int] = field(default_factory=list)  # problem index -> Department id
    residents: list[int] = field(default_factory=list)  # problem index -> ResidentProfile id
    department_objects: dict[int, Department] = field(default_factory=dict)  # id -> Department
    resident_objects: dict[int, ResidentProfile] = field(default_factory=dict)  # id -> ResidentProfile
    warnings: list[dict] = field(default_factory=list)  # residents left out, as warning dicts
    occupied: dict[int, list[int]] = field(default_factory=dict)  # dept id -> months taken by others

    def __post_init__(self) -> None:
        self.reindex()

    def reindex(self) -> None:
        self.department_index = {pk: i for i, pk in enumerate(self.departments)}
        self.resident_index = {pk: i for i, pk in enumerate(self.residents)}

    def month_date(self, month: int) -> date:
        """An absolute month index as the first day of that month."""
        return month_start(month)

    def months(self) -> range:
        return range(self.first_month, self.first_month + self.horizon)

    def department_name(self, index: int) -> str:
        department = self.department_objects.get(self.departments[index])
        return department.name if department else str(self.departments[index])


def window(profile: ResidentProfile) -> tuple[int, int]:
    """(first month, number of months) of a resident's training window."""
    start = month_index(profile.start_date)
    end = month_index(profile.planned_end_date)
    return start, end - start + 1


def _block_months(block: RotationBlock) -> range:
    return range(month_index(block.start_date), month_index(block.end_date) + 1)


def _excluded(profile: ResidentProfile, reason: str, detail: list[str] | None = None) -> dict:
    return {
        "kind": "excluded",
        "resident": profile.pk,
        "name": profile.user.real_name or profile.user.username,
        "reason": reason,
        "detail": detail or [],
    }


def build_problem(
    *, hospital: Hospital, residents: QuerySet[ResidentProfile], replan: bool, today: date | None = None
) -> tuple[sp.Problem, Index]:
    """The scheduler's input for these residents, and the map back to database ids.

    Residents without a programme, whose programme has problems, or whose window is empty are
    left out with a warning in `index.warnings`. Departments' capacities are reduced by what
    residents outside `residents` already occupy in published blocks (a base-only run must not
    fill places other bases hold).
    """
    from . import programmes

    today = today or timezone.localdate()
    this_month = month_index(today)
    profiles = list(residents.select_related("user", "base").order_by("base__code", "cohort", "user__username", "pk"))
    programme_by_base = {
        p.base_id: p
        for p in Programme.objects.filter(base_id__in={p.base_id for p in profiles}).prefetch_related(
            "requirements__options", "requirements__department"
        )
    }
    problems_by_programme = programmes.programme_problems(programme_by_base.values()) if programme_by_base else {}
    problems_by_base = {base_id: problems_by_programme.get(p.pk, []) for base_id, p in programme_by_base.items()}

    warnings: list[dict] = []
    kept: list[ResidentProfile] = []
    for profile in profiles:
        programme = programme_by_base.get(profile.base_id)
        if programme is None:
            warnings.append(_excluded(profile, "no_programme"))
        elif problems_by_base[programme.base_id]:
            warnings.append(
                _excluded(profile, "programme_problems", [str(m) for m in problems_by_base[profile.base_id]])
            )
        elif profile.planned_end_date < profile.start_date:
            warnings.append(_excluded(profile, "no_window"))
        elif window(profile)[1] < programme.total_months:
            # 1- and 2-year trainees (培训年限 by prior experience): the base sets their reduced
            # plan by hand; the programme's full months cannot fit their window.
            warnings.append(_excluded(profile, "short_window", [str(window(profile)[1]), str(programme.total_months)]))
        else:
            kept.append(profile)

    # Departments: every one a programme names, and every one a kept resident has a block in.
    department_ids: set[int] = set()
    for programme in {programme_by_base[p.base_id] for p in kept}:
        for requirement in programme.requirements.all():
            if requirement.department_id:
                department_ids.add(requirement.department_id)
            department_ids.update(o.pk for o in requirement.options.all())
    blocks_by_resident: dict[int, list[RotationBlock]] = defaultdict(list)
    for block in RotationBlock.objects.filter(resident__in=[p.pk for p in kept]).order_by("start_date", "pk"):
        blocks_by_resident[block.resident_id].append(block)
        department_ids.add(block.department_id)
    departments = list(
        Department.objects.filter(pk__in=department_ids)
        .select_related("hospital")
        .order_by("hospital_id", "code", "pk")
    )

    if kept:
        first = min(window(p)[0] for p in kept)
        last = max(sum(window(p)) for p in kept)
    else:
        first, last = this_month, this_month + 1
    index = Index(
        first_month=first,
        horizon=last - first,
        departments=[d.pk for d in departments],
        residents=[p.pk for p in kept],
        department_objects={d.pk: d for d in departments},
        resident_objects={p.pk: p for p in kept},
        warnings=warnings,
    )

    capacity, minimum = _capacities(index, departments, {p.pk for p in kept})
    preferences = elective_preferences.preferences_for(kept) if kept else {}
    leave = pins.collect(index.residents, month_start(first), index.horizon)

    problem_departments = [
        sp.Department(
            key=d.pk,
            name=d.name,
            collaborating=d.hospital.kind == SiteKind.COLLABORATING,
            site=d.hospital_id,
        )
        for d in departments
    ]
    problem_residents = []
    for profile in kept:
        start, length = window(profile)
        programme = programme_by_base[profile.base_id]
        requirements, electives, ranked = _requirements(index, programme, preferences.get(profile.pk, {}))
        pinned: dict[int, int] = {}
        previous: dict[int, int] = {}
        if replan:
            pinned, previous = _replan(index, blocks_by_resident.get(profile.pk, []), start, length, today)
        for month, value in leave.get(profile.pk, {}).items():
            if start <= month < start + length:
                pinned[month] = value
                previous.pop(month, None)
        problem_residents.append(
            sp.Resident(
                key=profile.pk,
                name=profile.user.real_name or profile.user.username,
                start=start,
                length=length,
                requirements=requirements,
                electives=electives,
                preferences=ranked,
                pinned=pinned,
                previous=previous,
                site_limits=sp.SiteLimits(
                    max_sites=programme.max_sites,
                    max_departments=programme.max_site_departments,
                    max_months=programme.max_site_months,
                ),
                group=(profile.base.code, profile.cohort),
            )
        )
    problem = sp.Problem(
        departments=problem_departments,
        residents=problem_residents,
        first_month=first,
        horizon=index.horizon,
        capacity=capacity,
        minimum=minimum,
    )
    return problem, index


def _capacities(index: Index, departments: list[Department], kept: set[int]) -> tuple[list[list[int]], list[list[int]]]:
    """Capacity and minimum per department and month; closed months and others' residents taken off."""

    first = month_start(index.first_month)
    table = department_settings.capacities(departments, first, index.horizon) if departments else {}
    occupied: dict[int, list[int]] = {d.pk: [0] * index.horizon for d in departments}
    horizon_end = month_start(index.first_month + index.horizon) - timedelta(days=1)
    others = (
        RotationBlock.objects.filter(department__in=departments, start_date__lte=horizon_end, end_date__gte=first)
        .exclude(resident__in=kept)
        .values_list("resident_id", "department_id", "start_date", "end_date")
    )
    for _resident, department_id, start, end in others:
        for month in range(
            max(month_index(start), index.first_month), min(month_index(end) + 1, index.first_month + index.horizon)
        ):
            occupied[department_id][month - index.first_month] += 1
    index.occupied = occupied
    capacity, minimum = [], []
    for department in departments:
        rows = table.get(department.pk) or [(0, 0, True)] * index.horizon
        capacity.append(
            [0 if closed else max(0, cap - occupied[department.pk][t]) for t, (cap, _m, closed) in enumerate(rows)]
        )
        minimum.append(
            [0 if closed else max(0, low - occupied[department.pk][t]) for t, (_c, low, closed) in enumerate(rows)]
        )
    return capacity, minimum


def _requirements(
    index: Index, programme: Programme, ranked: Mapping[int, list[int]]
) -> tuple[tuple[sp.Requirement, ...], tuple[sp.ElectiveGroup, ...], tuple[tuple[int, ...], ...]]:
    requirements, electives, preferences = [], [], []
    for requirement in programme.requirements.all():
        if requirement.kind == RequirementKind.MANDATORY:
            if requirement.department_id is None:
                continue
            requirements.append(
                sp.Requirement(
                    department=index.department_index[requirement.department_id],
                    months=requirement.months,
                    max_runs=requirement.max_runs,
                    year_minimum=tuple(sorted((int(y), int(m)) for y, m in (requirement.year_minimum or {}).items())),
                )
            )
            continue
        options = [o.pk for o in requirement.options.all()]  # the options' order: the default preference
        order = [pk for pk in ranked.get(requirement.pk, []) if pk in options]
        order += [pk for pk in options if pk not in order]
        electives.append(
            sp.ElectiveGroup(
                choose=requirement.choose,
                months_each=requirement.months,
                options=tuple(index.department_index[pk] for pk in options),
                max_runs=requirement.max_runs,
            )
        )
        preferences.append(tuple(index.department_index[pk] for pk in order))
    return tuple(requirements), tuple(electives), tuple(preferences)


def _replan(
    index: Index, blocks: list[RotationBlock], start: int, length: int, today: date
) -> tuple[dict[int, int], dict[int, int]]:
    """Pins (started blocks in full) and the previous schedule (later blocks; FREE where none).

    A resident without blocks is planned from scratch. Months before this one that no started
    block covers are only `previous` FREE, not pinned: the problem format pins departments or
    LEAVE, and the solver keeps previous months where it can.
    """
    pinned: dict[int, int] = {}
    previous: dict[int, int] = {}
    if not blocks:
        return pinned, previous
    window_months = range(start, start + length)
    for block in blocks:
        department = index.department_index[block.department_id]
        started = block.start_date <= today
        for month in _block_months(block):
            if month not in window_months:
                continue
            if started:
                pinned[month] = department
            else:
                previous.setdefault(month, department)
    for month in window_months:
        if month not in pinned:
            previous.setdefault(month, FREE)
    return pinned, previous


def schedule_from_entries(
    index: Index, entries: Iterable[ScheduleEntry], problem: sp.Problem | None = None
) -> sp.Schedule:
    """A run's entries as a schedule in the problem's resident order (missing months FREE)."""
    schedule = _empty(index, problem)
    for entry in entries:
        r = index.resident_index.get(entry.resident_id)
        if r is None:
            continue
        start = _start(index, problem, r, entry.resident_id)
        offset = month_index(entry.month) - start
        if not 0 <= offset < len(schedule[r]):
            continue
        if entry.kind == EntryKind.LEAVE:
            schedule[r][offset] = LEAVE
        elif entry.kind == EntryKind.ROTATION and entry.department_id in index.department_index:
            schedule[r][offset] = index.department_index[entry.department_id]
    return schedule


def schedule_from_blocks(
    index: Index, blocks: Iterable[RotationBlock], problem: sp.Problem | None = None
) -> sp.Schedule:
    """Published blocks as a schedule in the problem's resident order (uncovered months FREE)."""
    schedule = _empty(index, problem)
    for block in blocks:
        r = index.resident_index.get(block.resident_id)
        if r is None or block.department_id not in index.department_index:
            continue
        start = _start(index, problem, r, block.resident_id)
        for month in _block_months(block):
            if 0 <= month - start < len(schedule[r]):
                schedule[r][month - start] = index.department_index[block.department_id]
    return schedule


def _start(index: Index, problem: sp.Problem | None, r: int, resident_id: int) -> int:
    if problem is not None:
        return problem.residents[r].start
    return window(index.resident_objects[resident_id])[0]


def _empty(index: Index, problem: sp.Problem | None) -> sp.Schedule:
    if problem is not None:
        return [[FREE] * resident.length for resident in problem.residents]
    return [[FREE] * window(index.resident_objects[pk])[1] for pk in index.residents]


def entries_from_schedule(
    run: ScheduleRun,
    problem: sp.Problem,
    index: Index,
    schedule: sp.Schedule,
    pinned: Mapping[int, Collection[int]] | None = None,
) -> list[ScheduleEntry]:
    """Unsaved ScheduleEntry rows, one per resident-month; `pinned` maps resident index -> pinned
    absolute months (default: the problem's pins)."""
    entries = []
    for r, (resident, row) in enumerate(zip(problem.residents, schedule, strict=True)):
        kept = pinned.get(r, ()) if pinned is not None else resident.pinned
        resident_id = index.residents[r]
        for offset, value in enumerate(row):
            month = resident.start + offset
            if value == LEAVE:
                kind, department_id = EntryKind.LEAVE, None
            elif value == FREE:
                kind, department_id = EntryKind.FREE, None
            else:
                kind, department_id = EntryKind.ROTATION, index.departments[value]
            entries.append(
                ScheduleEntry(
                    run=run,
                    resident_id=resident_id,
                    month=month_start(month),
                    kind=kind,
                    department_id=department_id,
                    pinned=month in kept,
                )
            )
    return entries


def run_residents(run: ScheduleRun) -> QuerySet[ResidentProfile]:
    """The residents a run schedules: those in training of its hospital, base and cohort."""
    from residents.choices import TrainingStatus

    qs = ResidentProfile.objects.filter(
        base__hospital_id=run.hospital_id, status__in=[TrainingStatus.IN_TRAINING, TrainingStatus.EXTENDED]
    )
    if run.base_id:
        qs = qs.filter(base_id=run.base_id)
    if run.cohort:
        qs = qs.filter(cohort=run.cohort)
    return qs


def problem_for_run(run: ScheduleRun, *, replan: bool = False) -> tuple[sp.Problem, Index, sp.Schedule]:
    """The problem of the residents a run has entries for, and the run's schedule on it."""
    resident_ids = run.entries.values_list("resident_id", flat=True).distinct()
    problem, index = build_problem(
        hospital=run.hospital, residents=ResidentProfile.objects.filter(pk__in=resident_ids), replan=replan
    )
    schedule = schedule_from_entries(index, run.entries.all(), problem)
    return problem, index, schedule


def validate_entries(run: ScheduleRun) -> list:
    """What a run's entries break (requirements, capacity, windows), as metrics Violations.

    Built without re-planning pins: after publishing, the run's own blocks would pin it.
    """
    from ..scheduling import metrics

    problem, _index, schedule = problem_for_run(run)
    return metrics.validate(problem, schedule)
