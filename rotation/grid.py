"""The schedule as a table: residents x months (Grid) and departments x months (Heatmap).

Both are built either from a run's ScheduleEntries (reviewing a draft, an old version) or from the
live RotationBlocks (the published schedule), in a constant number of queries whatever the number
of residents: the grid pages its rows (50 residents), the heatmap aggregates in Python from one
query. Templates: `rotation/includes/grid.html` and `rotation/includes/heatmap.html`, e.g.

    grid = grid_from_run(run, residents_qs, page=request.GET.get("page"))
    {% include "rotation/includes/grid.html" with grid=grid %}

Department colours are stable (a CRC of the department id into a palette), so a department looks
the same on every page and in every version.
"""

from __future__ import annotations

import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.core.paginator import Page, Paginator
from django.db.models import Max, Min, QuerySet

from accounts.models import Department
from residents.models import ResidentProfile

from .choices import EntryKind
from .models import RotationBlock, ScheduleEntry, ScheduleRun
from .scheduling.problem import month_index, month_label, month_start

PER_PAGE = 50
# Light, distinguishable backgrounds that keep dark text readable.
PALETTE = [
    "#cfe2ff",
    "#d1e7dd",
    "#fff3cd",
    "#f8d7da",
    "#e2d9f3",
    "#cff4fc",
    "#ffe5d0",
    "#d2f4ea",
    "#f7d6e6",
    "#e9ecef",
    "#c5e1a5",
    "#ffe082",
    "#b3e5fc",
    "#f8bbd0",
    "#d7ccc8",
    "#c8e6c9",
    "#ffccbc",
    "#d1c4e9",
    "#b2dfdb",
    "#f0f4c3",
]


def department_colour(department_id: int | None) -> str:
    if department_id is None:
        return ""
    return PALETTE[zlib.crc32(str(department_id).encode()) % len(PALETTE)]


def short_name(department: Department | None) -> str:
    """What fits in a grid cell: the name without a trailing 科, at most four characters."""
    if department is None:
        return ""
    name = department.name
    if len(name) > 2 and name.endswith("科"):
        name = name[:-1]
    return name[:4]


def months_between(first: date, last: date) -> list[date]:
    return [month_start(i) for i in range(month_index(first), month_index(last) + 1)]


@dataclass
class Cell:
    month: date
    kind: str = "none"  # rotation, free, leave, or none (outside the resident's window / no data)
    department: Department | None = None
    pinned: bool = False
    changed: bool = False

    @property
    def short(self) -> str:
        return short_name(self.department)

    @property
    def colour(self) -> str:
        return department_colour(self.department.pk if self.department else None)


@dataclass
class Row:
    resident: ResidentProfile
    cells: list[Cell]

    @property
    def changed(self) -> int:
        return sum(1 for c in self.cells if c.changed)


@dataclass
class Grid:
    months: list[date]
    rows: list[Row]
    page: Page | None = None
    legend: list[tuple[Department, str]] = field(default_factory=list)  # (department, colour), in use on this page
    compared: bool = False  # whether `changed` flags were computed

    @property
    def month_labels(self) -> list[str]:
        return [month_label(month_index(m)) for m in self.months]

    @property
    def years(self) -> list[tuple[int, int]]:
        """(year, months of it shown), for a two-level header."""
        counts = Counter(m.year for m in self.months)
        return sorted(counts.items())


def _page(residents: QuerySet[ResidentProfile], page, per_page: int) -> Page:
    ordered = residents.select_related("user", "base").order_by("base__code", "cohort", "user__username", "pk")
    return Paginator(ordered, per_page).get_page(page)


def _assemble(
    page: Page,
    months: list[date],
    values: dict[int, dict[date, tuple[str, int | None, bool]]],
    before: dict[int, dict[date, int | None]] | None,
) -> Grid:
    department_ids = {d for row in values.values() for _k, d, _p in row.values() if d}
    if before:
        department_ids |= {d for row in before.values() for d in row.values() if d}
    departments = {d.pk: d for d in Department.objects.filter(pk__in=department_ids)} if department_ids else {}
    rows = []
    used: set[int] = set()
    for resident in page.object_list:
        mine = values.get(resident.pk, {})
        old = before.get(resident.pk) if before is not None else None
        cells = []
        for month in months:
            kind, department_id, pinned = mine.get(month, ("none", None, False))
            changed = False
            if old is not None and (old or kind != "none"):
                now = department_id if kind == EntryKind.ROTATION else None
                changed = kind != "none" and old.get(month) != now
            if department_id:
                used.add(department_id)
            cells.append(Cell(month, kind, departments.get(department_id), pinned, changed))
        rows.append(Row(resident, cells))
    legend = sorted(
        ((departments[d], department_colour(d)) for d in used if d in departments), key=lambda x: (x[0].code, x[0].pk)
    )
    return Grid(months=months, rows=rows, page=page, legend=legend, compared=before is not None)


def run_months(run: ScheduleRun) -> list[date]:
    bounds = run.entries.aggregate(first=Min("month"), last=Max("month"))
    if not bounds["first"]:
        return []
    return months_between(bounds["first"], bounds["last"])


def grid_from_run(
    run: ScheduleRun,
    residents: QuerySet[ResidentProfile],
    *,
    page=1,
    per_page: int = PER_PAGE,
    months: list[date] | None = None,
    compare_with: ScheduleRun | None = None,
) -> Grid:
    """The run's entries for a page of `residents` (restrict them to the run's residents and the
    user's scope first); `compare_with` flags cells that differ from another run."""
    residents = residents.filter(pk__in=run.entries.values("resident_id").distinct())
    page_obj = _page(residents, page, per_page)
    months = months if months is not None else run_months(run)
    ids = [r.pk for r in page_obj.object_list]
    values: dict[int, dict[date, tuple[str, int | None, bool]]] = defaultdict(dict)
    for resident_id, month, kind, department_id, pinned in ScheduleEntry.objects.filter(
        run=run, resident_id__in=ids
    ).values_list("resident_id", "month", "kind", "department_id", "pinned"):
        values[resident_id][month] = (kind, department_id, pinned)
    before = None
    if compare_with is not None:
        before = {pk: {} for pk in ids}
        for resident_id, month, kind, department_id in ScheduleEntry.objects.filter(
            run=compare_with, resident_id__in=ids
        ).values_list("resident_id", "month", "kind", "department_id"):
            before[resident_id][month] = department_id if kind == EntryKind.ROTATION else None
    return _assemble(page_obj, months, values, before)


def grid_from_blocks(
    residents: QuerySet[ResidentProfile], months: list[date], *, page=1, per_page: int = PER_PAGE
) -> Grid:
    """The published schedule (RotationBlocks) of a page of `residents` over `months`.

    Months of the resident's training window without a block are 'free'; months outside it 'none'.
    """
    page_obj = _page(residents, page, per_page)
    ids = [r.pk for r in page_obj.object_list]
    values: dict[int, dict[date, tuple[str, int | None, bool]]] = defaultdict(dict)
    if months:
        first, last = months[0], month_start(month_index(months[-1]) + 1)
        blocks = RotationBlock.objects.filter(resident_id__in=ids, start_date__lt=last, end_date__gte=first)
        for resident_id, department_id, start, end in blocks.order_by("start_date").values_list(
            "resident_id", "department_id", "start_date", "end_date"
        ):
            for month in months_between(max(start, first), min(end, months[-1])):
                values[resident_id][month] = (EntryKind.ROTATION, department_id, False)
    for resident in page_obj.object_list:
        window = range(month_index(resident.start_date), month_index(resident.planned_end_date) + 1)
        row = values[resident.pk]
        for month in months:
            if month not in row and month_index(month) in window:
                row[month] = (EntryKind.FREE, None, False)
    return _assemble(page_obj, months, values, None)


# --- heatmap --------------------------------------------------------------------------------------


@dataclass
class HeatCell:
    month: date
    load: int
    capacity: int
    minimum: int
    fair: float
    closed: bool = False

    @property
    def deviation(self) -> float:
        return self.load - self.fair

    @property
    def over(self) -> bool:
        return self.load > self.capacity

    @property
    def below(self) -> bool:
        return self.minimum > 0 and self.load < self.minimum

    @property
    def band(self) -> str:
        """A CSS class: over capacity, below minimum, then how far from the fair share."""
        if self.over:
            return "bg-danger text-white"
        if self.below:
            return "bg-warning-subtle"
        deviation = self.deviation
        if abs(deviation) < 0.5:
            return ""
        if deviation >= 1.5:
            return "bg-primary-subtle fw-semibold"
        if deviation > 0:
            return "bg-primary-subtle"
        if deviation <= -1.5:
            return "bg-info-subtle fw-semibold"
        return "bg-info-subtle"


@dataclass
class HeatRow:
    department: Department
    cells: list[HeatCell]

    @property
    def colour(self) -> str:
        return department_colour(self.department.pk)

    @property
    def imbalance(self) -> float:
        active = [c.deviation for c in self.cells if c.fair > 0 or c.load]
        return round(max(active) - min(active), 2) if active else 0.0

    @property
    def total(self) -> int:
        return sum(c.load for c in self.cells)


@dataclass
class Heatmap:
    months: list[date]
    rows: list[HeatRow]

    @property
    def month_labels(self) -> list[str]:
        return [month_label(month_index(m)) for m in self.months]

    @property
    def over(self) -> int:
        return sum(1 for r in self.rows for c in r.cells if c.over)

    @property
    def below(self) -> int:
        return sum(1 for r in self.rows for c in r.cells if c.below)


def _heatmap(
    months: list[date],
    assignments: dict[int, dict[int, int]],  # resident -> month index -> department id
    windows: dict[int, tuple[int, int]],  # resident -> (first month index, length)
    department_ids: Iterable[int] | None = None,
) -> Heatmap:
    from .services.department_settings import capacities

    if not months:
        return Heatmap(months=[], rows=[])
    first = month_index(months[0])
    count = len(months)
    load: dict[int, list[int]] = defaultdict(lambda: [0] * count)
    fair: dict[int, list[float]] = defaultdict(lambda: [0.0] * count)
    for resident_id, row in assignments.items():
        start, length = windows[resident_id]
        per_department = Counter(row.values())
        for month, department_id in row.items():
            if 0 <= month - first < count:
                load[department_id][month - first] += 1
        for department_id, n in per_department.items():
            share = n / length if length else 0
            shares = fair[department_id]
            for t in range(max(start, first), min(start + length, first + count)):
                shares[t - first] += share
    ids = set(load) | set(department_ids or [])
    departments = sorted(Department.objects.filter(pk__in=ids), key=lambda d: (d.code, d.pk))
    table = capacities(departments, months[0], count) if departments else {}
    rows = []
    for department in departments:
        limits = table.get(department.pk) or [(0, 0, True)] * count
        cells = [
            HeatCell(
                month=months[t],
                load=load[department.pk][t] if department.pk in load else 0,
                capacity=limits[t][0],
                minimum=limits[t][1],
                fair=round(fair[department.pk][t], 2) if department.pk in fair else 0.0,
                closed=limits[t][2],
            )
            for t in range(count)
        ]
        rows.append(HeatRow(department, cells))
    return Heatmap(months=months, rows=rows)


def heatmap_from_run(run: ScheduleRun, residents: QuerySet[ResidentProfile] | None = None) -> Heatmap:
    """Loads, capacities, minimums and fair shares of the departments in a run (optionally some residents)."""
    entries = ScheduleEntry.objects.filter(run=run)
    if residents is not None:
        entries = entries.filter(resident__in=residents)
    assignments: dict[int, dict[int, int]] = defaultdict(dict)
    spans: dict[int, list[int]] = {}
    for resident_id, month, kind, department_id in entries.values_list("resident_id", "month", "kind", "department_id"):
        index = month_index(month)
        span = spans.setdefault(resident_id, [index, index])
        span[0], span[1] = min(span[0], index), max(span[1], index)
        if kind == EntryKind.ROTATION and department_id:
            assignments[resident_id][index] = department_id
    if not spans:
        return Heatmap(months=[], rows=[])
    windows = {pk: (lo, hi - lo + 1) for pk, (lo, hi) in spans.items()}
    months = [
        month_start(i) for i in range(min(lo for lo, _ in spans.values()), max(hi for _, hi in spans.values()) + 1)
    ]
    for pk in windows:
        assignments.setdefault(pk, {})
    return _heatmap(months, assignments, windows)


def heatmap_from_blocks(residents: QuerySet[ResidentProfile], months: list[date]) -> Heatmap:
    """The published schedule's loads over `months` for `residents` (fair share over their windows)."""
    if not months:
        return Heatmap(months=[], rows=[])
    windows: dict[int, tuple[int, int]] = {}
    for pk, start, end in residents.values_list("pk", "start_date", "planned_end_date"):
        windows[pk] = (month_index(start), month_index(end) - month_index(start) + 1)
    assignments: dict[int, dict[int, int]] = {pk: {} for pk in windows}
    for resident_id, department_id, start, end in RotationBlock.objects.filter(resident__in=residents).values_list(
        "resident_id", "department_id", "start_date", "end_date"
    ):
        for index in range(month_index(start), month_index(end) + 1):
            assignments[resident_id][index] = department_id
    return _heatmap(months, assignments, windows)
