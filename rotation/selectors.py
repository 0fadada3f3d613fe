"""Reads of the published schedule (RotationBlocks), each scoped to what the user may see.

Views, exports, the print page and the iCal feed share these, so "which blocks does this person
see" has one answer. Month arithmetic works on first-of-month dates.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from accounts.models import Department, SpecialtyBase
from core.audit import audit_record
from core.filters import StyledFilterSet
from core.permissions import visible
from residents.models import ResidentProfile

from .models import RotationBlock
from .months import month_end, month_list, month_start, parse_month
from .permissions import managed_departments

#: Longest month range the grid, its export and the print page accept.
MAX_MONTHS = 36
DEFAULT_MONTHS = 12


# --- months -----------------------------------------------------------------------------------


def span_months(start: datetime.date, end: datetime.date) -> float:
    """Months a period covers: whole months exactly (1 Mar–30 Apr is 2), otherwise to a tenth."""
    if start.day == 1 and end == month_end(end):
        return float((end.year - start.year) * 12 + end.month - start.month + 1)
    return round(((end - start).days + 1) / 30.44, 1)


# --- blocks -----------------------------------------------------------------------------------


def blocks_of(profile: ResidentProfile) -> QuerySet[RotationBlock]:
    """A resident's blocks with what a timeline row shows (department, its site, supervisor)."""
    return (
        RotationBlock.objects.filter(resident=profile)
        .select_related("department__hospital", "supervisor")
        .order_by("start_date", "pk")
    )


def overlapping(queryset: QuerySet, first: datetime.date, last: datetime.date) -> QuerySet:
    """Blocks that touch the days first..last."""
    return queryset.filter(start_date__lte=last, end_date__gte=first)


@dataclass
class TimelineItem:
    """One row of "my rotation": a block, or a gap of unassigned time between blocks."""

    start: datetime.date
    end: datetime.date
    state: str  # completed / current / upcoming / gap
    block: RotationBlock | None = None

    @property
    def months(self) -> float:
        return span_months(self.start, self.end)

    @property
    def is_gap(self) -> bool:
        return self.block is None


@dataclass
class ResidentRotation:
    profile: ResidentProfile
    items: list[TimelineItem]
    today: datetime.date
    current: RotationBlock | None = None
    next: RotationBlock | None = None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def days_until_next(self) -> int | None:
        return (self.next.start_date - self.today).days if self.next else None

    @property
    def blocks(self) -> list[RotationBlock]:
        return [i.block for i in self.items if i.block is not None]


def _state(block: RotationBlock, today: datetime.date) -> str:
    if block.end_date < today:
        return "completed"
    if block.start_date > today:
        return "upcoming"
    return "current"


def resident_rotation(profile: ResidentProfile, today: datetime.date | None = None) -> ResidentRotation:
    """The whole training as a list of blocks and the gaps between them (2 queries).

    Gaps run from the training start to the first block, between blocks, and from the last block
    to the planned end, so a month the schedule left empty shows as one.
    """
    today = today or timezone.localdate()
    blocks = list(blocks_of(profile))
    items: list[TimelineItem] = []
    cursor = profile.start_date
    for block in blocks:
        if cursor and block.start_date > cursor:
            items.append(TimelineItem(cursor, block.start_date - datetime.timedelta(days=1), "gap"))
        items.append(TimelineItem(block.start_date, block.end_date, _state(block, today), block))
        following = block.end_date + datetime.timedelta(days=1)
        cursor = following if cursor is None else max(cursor, following)
    if blocks and profile.planned_end_date and cursor and cursor <= profile.planned_end_date:
        items.append(TimelineItem(cursor, profile.planned_end_date, "gap"))
    current = next((b for b in blocks if b.start_date <= today <= b.end_date), None)
    upcoming = [b for b in blocks if b.start_date > today]
    counts: dict[str, int] = defaultdict(int)
    for item in items:
        counts[item.state] += 1
    return ResidentRotation(
        profile=profile,
        items=items,
        today=today,
        current=current,
        next=upcoming[0] if upcoming else None,
        counts=dict(counts),
    )


def next_block(profile: ResidentProfile, today: datetime.date | None = None) -> RotationBlock | None:
    today = today or timezone.localdate()
    return blocks_of(profile).filter(start_date__gt=today).first()


def visible_resident_ids(user, ids) -> set[int]:
    """Which of these residents `user` may open (one query), for links from lists."""
    return set(visible(user, ResidentProfile).filter(pk__in=list(ids)).values_list("pk", flat=True))


# --- departments ------------------------------------------------------------------------------


def viewable_departments(user) -> QuerySet[Department]:
    """Departments whose month view a user may open: the departments they manage (office, base
    managers, teaching secretary, head) and those they keep attendance for."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Department.objects.none()
    clerk = user.scope.departments(Role.ATTENDANCE_CLERK)
    managed = managed_departments(user).values("pk")
    return Department.objects.filter(Q(pk__in=managed) | Q(pk__in=clerk)).select_related("hospital", "base")


def may_view_departments(user) -> bool:
    scope = getattr(user, "scope", None)
    if scope is None or not user.is_authenticated:
        return False
    return scope.has_role(
        Role.TRAINING_OFFICE,
        Role.BASE_DIRECTOR,
        Role.BASE_SECRETARY,
        Role.TEACHING_SECRETARY,
        Role.DEPARTMENT_HEAD,
        Role.ATTENDANCE_CLERK,
    )


def department_or_404(user, uuid) -> Department:
    """A department the user may view; any other is not found (and the attempt audited)."""
    department = viewable_departments(user).filter(uuid=uuid).first()
    if department is None:
        audit_record(
            action="access.not_found",
            outcome="denied",
            acting_user=user,
            target=None,
            model="accounts.department",
            lookup=f"uuid={uuid}",
        )
        raise Http404
    return department


def capacities(departments, first: datetime.date, count: int) -> dict[int, list[tuple[int, int, bool]]]:
    """(capacity, minimum, closed) per department id and month, from the programmes' settings."""
    from .services.department_settings import capacities as programme_capacities

    return programme_capacities(departments, first, count)


@dataclass
class DepartmentMonthView:
    department: Department
    month: datetime.date
    arriving: list[RotationBlock]
    leaving: list[RotationBlock]
    present: list[RotationBlock]
    capacity: int
    minimum: int
    closed: bool

    @property
    def count(self) -> int:
        return len({b.resident_id for b in self.present})

    @property
    def without_supervisor(self) -> int:
        return sum(1 for b in self.present if not b.supervisor_id)

    @property
    def over_capacity(self) -> bool:
        return self.count > self.capacity

    @property
    def under_minimum(self) -> bool:
        return self.count < self.minimum


def department_month(department: Department, month: datetime.date) -> DepartmentMonthView:
    """Who arrives in, is in, and leaves a department during a month (2-3 queries).

    Arriving: the block starts this month; leaving: it ends this month; present: it touches the
    month at all (the number compared with the capacity).
    """
    first, last = month_start(month), month_end(month)
    blocks = list(
        overlapping(RotationBlock.objects.filter(department=department), first, last)
        .select_related("resident__user", "resident__base", "supervisor")
        .order_by("start_date", "resident__name_initials", "pk")
    )
    capacity, minimum, closed = capacities([department], first, 1)[department.pk][0]
    return DepartmentMonthView(
        department=department,
        month=first,
        arriving=[b for b in blocks if b.start_date >= first],
        leaving=[b for b in blocks if b.end_date <= last],
        present=blocks,
        capacity=capacity,
        minimum=minimum,
        closed=closed,
    )


# --- grid and heatmap -------------------------------------------------------------------------


def grid_residents(user) -> QuerySet[ResidentProfile]:
    """Residents whose rows a user sees in the grid (rotation.permissions.grid_residents_q)."""
    from .permissions import grid_residents_q

    q = grid_residents_q(user) if getattr(user, "is_authenticated", False) and user.is_active else None
    if q is None:
        return ResidentProfile.objects.none()
    return ResidentProfile.objects.filter(q)


def grid_hospitals(user) -> set[int]:
    """The hospitals a user's grid covers: the office's, and those of the bases they manage."""
    from .permissions import BASE_MANAGERS, office_hospitals

    hospitals = set(office_hospitals(user))
    bases = user.scope.bases(*BASE_MANAGERS)
    if bases:
        hospitals |= set(SpecialtyBase.objects.filter(pk__in=bases).values_list("hospital_id", flat=True))
    return hospitals


def grid_bases(user):
    """Bases offered in the grid's base filter: the ones whose residents the user sees."""
    from .permissions import BASE_MANAGERS, office_hospitals

    q = Q(hospital_id__in=office_hospitals(user)) | Q(pk__in=user.scope.bases(*BASE_MANAGERS))
    return SpecialtyBase.objects.filter(q).order_by("code")


def grid_departments(user):
    """Departments offered in the grid's department filter: those of the hospitals (and sites) in scope."""
    hospitals = grid_hospitals(user)
    return (
        Department.objects.filter(Q(hospital_id__in=hospitals) | Q(hospital__parent_id__in=hospitals))
        .select_related("hospital")
        .order_by("hospital__kind", "code")
    )


def hospital_load_residents(user) -> QuerySet[ResidentProfile]:
    """Everyone counted in a department's load: all residents of the hospitals in scope.

    A base director compares a department's load with its capacity, and other bases' residents
    take places too; only counts leave this queryset, never names.
    """
    hospitals = grid_hospitals(user)
    return ResidentProfile.objects.filter(
        Q(base__hospital_id__in=hospitals) | Q(base__hospital__parent_id__in=hospitals)
    )


def departments_in_use(residents: QuerySet[ResidentProfile], months: list[datetime.date]) -> set[int]:
    """Departments these residents rotate through during `months` (the heatmap's rows)."""
    if not months:
        return set()
    blocks = overlapping(RotationBlock.objects.filter(resident__in=residents), months[0], month_end(months[-1]))
    return set(blocks.order_by().values_list("department_id", flat=True).distinct())


def _grid_bases_for(request):
    return grid_bases(request.user) if request is not None else SpecialtyBase.objects.none()


def _grid_departments_for(request):
    return grid_departments(request.user) if request is not None else Department.objects.none()


class GridFilter(StyledFilterSet):
    """The grid's rows: by base, cohort, and residents rotating through a department in the range."""

    base = django_filters.ModelChoiceFilter(label=_("Specialty base"), queryset=_grid_bases_for)
    cohort = django_filters.TypedChoiceFilter(label=_("Cohort"), choices=[], coerce=int)
    department = django_filters.ModelChoiceFilter(
        label=_("Department"), queryset=_grid_departments_for, method="rotating_in"
    )

    class Meta:
        model = ResidentProfile
        fields = ["base", "cohort", "department"]

    def __init__(self, *args, months: list[datetime.date] | None = None, **kwargs):
        self.months = months or []
        super().__init__(*args, **kwargs)
        cohorts = self.queryset.order_by("-cohort").values_list("cohort", flat=True).distinct()
        field = self.filters["cohort"].field
        field.choices = [("", field.label), *[(c, str(c)) for c in cohorts]]

    def rotating_in(self, queryset, name, value):
        blocks = RotationBlock.objects.filter(department=value)
        if self.months:
            blocks = overlapping(blocks, self.months[0], month_end(self.months[-1]))
        return queryset.filter(pk__in=blocks.values("resident_id"))

    def describe(self) -> dict[str, str]:
        """The filters in use as {label: value}, for the print header, the export stamp and its audit."""
        if not self.is_bound or not self.is_valid():
            return {}
        return {
            str(self.form.fields[name].label): str(value)
            for name, value in self.form.cleaned_data.items()
            if value not in (None, "")
        }


class RangeForm(forms.Form):
    """Which months the grid shows: a first month and how many (default 12 from this month)."""

    start = forms.CharField(label=_("From month"), required=False, widget=forms.DateInput(attrs={"type": "month"}))
    months = forms.IntegerField(
        label=_("Months"), required=False, min_value=1, max_value=MAX_MONTHS, widget=forms.NumberInput()
    )

    def clean_start(self) -> datetime.date | None:
        value = self.cleaned_data.get("start")
        if not value:
            return None
        month = parse_month(value)
        if month is None:
            raise forms.ValidationError(_("Give the month as YYYY-MM, e.g. 2026-03."), code="bad_month")
        return month

    def month_list(self) -> list[datetime.date]:
        """The chosen months; the defaults where input is missing or wrong (the form then shows why)."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        if self.is_bound and not self.is_valid():
            data = {k: v for k, v in getattr(self, "cleaned_data", {}).items() if k not in self.errors}
        first = data.get("start") or month_start(timezone.localdate())
        return month_list(first, data.get("months") or DEFAULT_MONTHS)


# --- home page --------------------------------------------------------------------------------


def home_rotation(request) -> dict:
    """The resident's home panel: where they are now and where they go next (2 queries).

    Template: rotation/schedule/home_panel.html (the lead registers the Panel)."""
    today = timezone.localdate()
    blocks = list(
        RotationBlock.objects.filter(resident__user=request.user, end_date__gte=today)
        .select_related("department__hospital", "supervisor")
        .order_by("start_date", "pk")[:2]
    )
    current = blocks[0] if blocks and blocks[0].start_date <= today else None
    upcoming = [b for b in blocks if b.start_date > today]
    following = upcoming[0] if upcoming else None
    return {
        "current": current,
        "next": following,
        "days_until_next": (following.start_date - today).days if following else None,
    }
