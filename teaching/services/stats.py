"""Teaching statistics and credits: reads only (the views decide who may ask about whom).

- Credit (学时): an activity counts for a resident only with both a check-in and a check-out; rows
  marked by hand count too but are reported separately.
- Expected: a resident is expected at the department-audience activities of the department they rotate
  in on that day (RotationBlock), unless on approved leave that day (excused). Base and open activities
  never count as expected. Only activities that have started are counted.
- Compliance: each department's approved activities per type and month against its frequency rules
  (a department rule overrides its base's, which overrides the hospital-wide one).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from residents.models import ResidentProfile
from rotation.choices import LeaveStatus
from rotation.models import LeaveRequest, RotationBlock
from rotation.months import add_months, month_end, month_start
from rotation.services.leave import effective_span

from ..choices import ActivityStatus, Audience, Method, Purpose
from ..models import Activity, ActivityType, Attendance, FrequencyRule, Rating
from .plans import windows_of
from .records import MIN_RATINGS
from .types import rules_for

MET, PARTLY, NOT_MET, NO_RULES = "met", "partly", "not_met", "none"


def _bounds(first: date, last: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(first, time.min), tz)
    end = timezone.make_aware(datetime.combine(last + timedelta(days=1), time.min), tz)
    return start, end


def _local_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def held(queryset: QuerySet | None = None) -> QuerySet:
    """Activities that took (or take) place: approved, not cancelled."""
    queryset = Activity.objects.all() if queryset is None else queryset
    return queryset.filter(status=ActivityStatus.APPROVED)


# ---------------------------------------------------------------- residents


@dataclass
class Presence:
    """One user's rows at one activity."""

    checked_in: bool = False
    checked_out: bool = False
    manual: bool = False

    @property
    def credited(self) -> bool:
        return self.checked_in and self.checked_out


def presence(user_ids, activity_ids=None, *, first: date | None = None, last: date | None = None) -> dict:
    """{(activity_id, user_id): Presence} from the check-in and check-out rows."""
    rows = Attendance.objects.filter(user_id__in=list(user_ids), purpose__in=[Purpose.CHECK_IN, Purpose.CHECK_OUT])
    if activity_ids is not None:
        rows = rows.filter(activity_id__in=list(activity_ids))
    if first is not None and last is not None:
        start, end = _bounds(first, last)
        rows = rows.filter(activity__starts_at__gte=start, activity__starts_at__lt=end)
    found: dict = defaultdict(Presence)
    for activity_id, user_id, purpose, method in rows.values_list("activity_id", "user_id", "purpose", "method"):
        item = found[(activity_id, user_id)]
        if purpose == Purpose.CHECK_IN:
            item.checked_in = True
        else:
            item.checked_out = True
        item.manual = item.manual or method == Method.MANUAL
    return dict(found)


def credited_activities(user, first: date, last: date) -> QuerySet:
    """The approved activities in [first, last] the user attended with credit (check-in and check-out)."""
    start, end = _bounds(first, last)
    ins = Attendance.objects.filter(user=user, purpose=Purpose.CHECK_IN).values("activity_id")
    outs = Attendance.objects.filter(user=user, purpose=Purpose.CHECK_OUT).values("activity_id")
    return held().filter(starts_at__gte=start, starts_at__lt=end, pk__in=ins).filter(pk__in=outs)


def learning_count(profile: ResidentProfile, first: date, last: date) -> int:
    """业务学习 for 出科: teaching activities attended with credit in [first, last]."""
    return credited_activities(profile.user, first, last).count()


def _leave_days(profile_ids, first: date, last: date) -> dict[int, list]:
    spans = defaultdict(list)
    leaves = LeaveRequest.objects.filter(
        resident_id__in=list(profile_ids), status=LeaveStatus.APPROVED, end_date__gte=first, start_date__lte=last
    )
    for leave in leaves:
        spans[leave.resident_id].append(effective_span(leave))
    return spans


def _excused(spans: list, day: date) -> bool:
    return any(span.overlap_days(day, day) for span in spans)


def expected_activities(profile: ResidentProfile, first: date, last: date) -> tuple[list[Activity], set[int]]:
    """(activities the resident was expected at, ids of those excused by approved leave), started ones only."""
    now = timezone.now()
    blocks = list(
        RotationBlock.objects.filter(resident=profile, start_date__lte=last, end_date__gte=first).values_list(
            "department_id", "start_date", "end_date"
        )
    )
    if not blocks:
        return [], set()
    start, end = _bounds(first, last)
    candidates = held().filter(
        audience=Audience.DEPARTMENT,
        department_id__in={b[0] for b in blocks},
        starts_at__gte=start,
        starts_at__lt=min(end, now),
    )
    spans = _leave_days([profile.pk], first, last).get(profile.pk, [])
    expected, excused = [], set()
    for activity in candidates.select_related("activity_type"):
        day = _local_day(activity.starts_at)
        if not any(d == activity.department_id and s <= day <= e for d, s, e in blocks):
            continue
        expected.append(activity)
        if _excused(spans, day):
            excused.add(activity.pk)
    return expected, excused


@dataclass
class ResidentStats:
    attended: int = 0  # with credit
    hours: Decimal = Decimal(0)
    manual: int = 0  # of the credited, marked by hand at least once
    incomplete: int = 0  # checked in without checking out (or the reverse)
    expected: int = 0
    excused: int = 0
    expected_attended: int = 0
    by_month: dict = field(default_factory=dict)  # month -> {"count", "hours"}
    by_type: dict = field(default_factory=dict)  # type name -> {"count", "hours"}
    activities: list = field(default_factory=list)  # (activity, Presence, expected, excused)

    @property
    def rate(self) -> Decimal | None:
        """Attended with credit over expected, excused leave left out."""
        due = self.expected - self.excused
        if due <= 0:
            return None
        return (Decimal(self.expected_attended) * 100 / due).quantize(Decimal("0.1"))


def resident_stats(profile: ResidentProfile, first: date, last: date) -> ResidentStats:
    stats = ResidentStats()
    start, end = _bounds(first, last)
    found = presence([profile.user_id], first=first, last=last)
    attended_ids = {activity_id for activity_id, _user in found}
    attended = {
        a.pk: a
        for a in held()
        .filter(pk__in=attended_ids, starts_at__gte=start, starts_at__lt=end)
        .select_related("activity_type", "department")
    }
    expected, excused = expected_activities(profile, first, last)
    expected_ids = {a.pk for a in expected}
    stats.expected, stats.excused = len(expected), len(excused)
    by_month: dict = defaultdict(lambda: {"count": 0, "hours": Decimal(0)})
    by_type: dict = defaultdict(lambda: {"count": 0, "hours": Decimal(0)})
    for activity in attended.values():
        item = found[(activity.pk, profile.user_id)]
        if not item.credited:
            stats.incomplete += 1
            continue
        stats.attended += 1
        stats.hours += activity.hours
        stats.manual += item.manual
        month = month_start(_local_day(activity.starts_at))
        by_month[month]["count"] += 1
        by_month[month]["hours"] += activity.hours
        by_type[activity.activity_type.name]["count"] += 1
        by_type[activity.activity_type.name]["hours"] += activity.hours
        if activity.pk in expected_ids and activity.pk not in excused:
            stats.expected_attended += 1
    stats.by_month = dict(sorted(by_month.items()))
    stats.by_type = dict(by_type)
    rows = {a.pk: a for a in expected}
    rows.update(attended)
    stats.activities = sorted(
        (
            (a, found.get((a.pk, profile.user_id), Presence()), a.pk in expected_ids, a.pk in excused)
            for a in rows.values()
        ),
        key=lambda row: row[0].starts_at,
    )
    return stats


# ---------------------------------------------------------------- teachers


@dataclass
class TeacherStats:
    given: int = 0
    hours: Decimal = Decimal(0)
    by_type: dict = field(default_factory=dict)  # type name -> {"count", "hours"}
    by_month: dict = field(default_factory=dict)  # month -> {"count", "hours"}
    rated_activities: int = 0  # activities with at least MIN_RATINGS ratings (the only ones averaged)
    ratings: int = 0
    average: Decimal | None = None
    activities: list = field(default_factory=list)


def teacher_stats(teacher, first: date, last: date, activities: QuerySet | None = None) -> TeacherStats:
    """Activities given (approved, started) in [first, last]; ratings averaged over activities with ≥ 3 ratings."""
    start, end = _bounds(first, last)
    queryset = held(activities).filter(teacher=teacher, starts_at__gte=start, starts_at__lt=min(end, timezone.now()))
    rows = list(queryset.select_related("activity_type", "department").order_by("starts_at"))
    stats = TeacherStats(activities=rows)
    by_type: dict = defaultdict(lambda: {"count": 0, "hours": Decimal(0)})
    by_month: dict = defaultdict(lambda: {"count": 0, "hours": Decimal(0)})
    for activity in rows:
        stats.given += 1
        stats.hours += activity.hours
        by_type[activity.activity_type.name]["count"] += 1
        by_type[activity.activity_type.name]["hours"] += activity.hours
        month = month_start(_local_day(activity.starts_at))
        by_month[month]["count"] += 1
        by_month[month]["hours"] += activity.hours
    stats.by_type, stats.by_month = dict(by_type), dict(sorted(by_month.items()))
    per_activity: dict = defaultdict(list)
    for activity_id, scores in Rating.objects.filter(activity__in=[a.pk for a in rows]).values_list(
        "activity_id", "scores"
    ):
        per_activity[activity_id].append(scores)
    values = []
    for ratings in per_activity.values():
        if len(ratings) < MIN_RATINGS:
            continue
        stats.rated_activities += 1
        stats.ratings += len(ratings)
        for scores in ratings:
            values += [int(v) for v in scores.values()]
    if values:
        stats.average = (Decimal(sum(values)) / len(values)).quantize(Decimal("0.01"))
    return stats


# ---------------------------------------------------------------- departments: compliance and attendance


def _coverage(rule: FrequencyRule, month: date, held_days: list[date]) -> tuple[int, int]:
    """(periods in the month, periods with at least `count` activities): the same measure the plan page shows."""
    periods = windows_of(month, rule.per_days)
    covered = sum(1 for first, last in periods if sum(first <= d <= last for d in held_days) >= rule.count)
    return len(periods), covered


@dataclass
class ComplianceCell:
    department: object
    month: date
    state: str
    lines: list  # (activity type, periods in the month, periods covered)

    @property
    def met_count(self) -> int:
        return sum(1 for _t, required, count in self.lines if count >= required)


def compliance(departments, months: list[date]) -> list[tuple[object, list[ComplianceCell]]]:
    """A department × month grid: met (every rule), partly (some activity but not every rule), not met."""
    departments = list(departments)
    if not departments or not months:
        return []
    start, _ = _bounds(months[0], months[0])
    _, end = _bounds(month_end(months[-1]), month_end(months[-1]))
    days: dict = defaultdict(list)
    for department_id, type_id, starts_at in (
        held()
        .filter(department__in=departments, starts_at__gte=start, starts_at__lt=end)
        .values_list("department_id", "activity_type_id", "starts_at")
    ):
        day = _local_day(starts_at)
        days[(department_id, type_id, month_start(day))].append(day)
    types = {t.pk: t for t in ActivityType.objects.filter(rules__isnull=False).distinct()}
    grid = []
    for department in departments:
        rules = rules_for(department)
        row = []
        for month in months:
            lines = [
                (types.get(type_id, rule.activity_type), *_coverage(rule, month, days[(department.pk, type_id, month)]))
                for type_id, rule in sorted(rules.items(), key=lambda item: item[1].activity_type.position)
            ]
            if not lines:
                state = NO_RULES
            elif all(count >= required for _t, required, count in lines):
                state = MET
            elif any(count for _t, _r, count in lines):
                state = PARTLY
            else:
                state = NOT_MET
            row.append(ComplianceCell(department, month, state, lines))
        grid.append((department, row))
    return grid


def department_attendance(departments, first: date, last: date) -> dict[int, dict]:
    """Per department: expected resident-activities (excused left out), attended with credit, and the rate."""
    departments = list(departments)
    start, end = _bounds(first, last)
    activities = list(
        held()
        .filter(
            audience=Audience.DEPARTMENT,
            department__in=departments,
            starts_at__gte=start,
            starts_at__lt=min(end, timezone.now()),
        )
        .values_list("pk", "department_id", "starts_at")
    )
    result = {d.pk: {"expected": 0, "attended": 0, "rate": None} for d in departments}
    if not activities:
        return result
    blocks = list(
        RotationBlock.objects.filter(department__in=departments, start_date__lte=last, end_date__gte=first).values_list(
            "resident_id", "resident__user_id", "department_id", "start_date", "end_date"
        )
    )
    spans = _leave_days({b[0] for b in blocks}, first, last)
    found = presence({b[1] for b in blocks}, [a[0] for a in activities])
    for activity_id, department_id, starts_at in activities:
        day = _local_day(starts_at)
        for resident_id, user_id, block_department, s, e in blocks:
            if block_department != department_id or not s <= day <= e or _excused(spans.get(resident_id, []), day):
                continue
            result[department_id]["expected"] += 1
            item = found.get((activity_id, user_id))
            if item is not None and item.credited:
                result[department_id]["attended"] += 1
    for item in result.values():
        if item["expected"]:
            item["rate"] = (Decimal(item["attended"]) * 100 / item["expected"]).quantize(Decimal("0.1"))
    return result


def months_of_year(year: int) -> list[date]:
    return [date(year, m, 1) for m in range(1, 13)]


def last_months(count: int, today: date | None = None) -> list[date]:
    this = month_start(today or timezone.localdate())
    return [add_months(this, -i) for i in range(count - 1, -1, -1)]
