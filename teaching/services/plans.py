"""Monthly teaching plans (教学计划): build, copy, check, submit, approve; changes after approval; the calendar.

The department's teaching secretary plans the month: each activity has a type, a teacher (who holds a
staff role in the department), a time, a place and an audience. Checks when saving: a teacher is
never in two live activities at once (any department: refused); an activity longer than two hours
is allowed with a warning. Before submission the page shows the plan against the frequency rules
(`compliance`).

Submitting sends the plan through the workflow "teaching.plan" (the department head as the
department's teaching director, then the training office). Approved, its activities become
approved and appear on the calendar; returned or rejected, the plan is editable again with the
approver's comment. After approval the secretary may still move an activity, change its teacher or
place, or cancel it: the department's current residents and the teachers are notified, and every
change is audited.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Department, RoleAssignment, User
from approvals.choices import ActionKind, RequestStatus
from approvals.models import ApprovalAction, ApprovalRequest
from approvals.services import approval_resubmit, approval_submit
from core.audit import audit_record
from core.permissions import can
from rotation.months import add_months, month_end, month_start

from ..choices import ActivityStatus, Audience, PlanStatus
from ..models import Activity, ActivityType, TeachingPlan
from ..permissions import DEPARTMENT_STAFF, PLANNERS
from .types import rules_for

PLAN_WORKFLOW = "teaching.plan"
EDITABLE = (PlanStatus.DRAFT, PlanStatus.RETURNED)
LONG_ACTIVITY = datetime.timedelta(hours=2)
#: Fields of an activity the secretary sets (the form's fields).
FIELDS = (
    "title",
    "activity_type",
    "teacher",
    "starts_at",
    "ends_at",
    "place",
    "audience",
    "audience_base",
    "capacity",
    "hours",
)


# ---------------------------------------------------------------- who


def may_plan(user, department: Department) -> bool:
    return department.pk in user.scope.departments(*PLANNERS)


def department_teachers(department: Department) -> QuerySet[User]:
    """Who may teach here: everyone holding a staff role in the department today."""
    holders = RoleAssignment.objects.active_on().filter(department=department, role__in=DEPARTMENT_STAFF)
    return holders.holders().order_by("real_name", "pk")


def current_residents(department: Department, day: datetime.date | None = None) -> QuerySet[User]:
    """The residents rotating in the department on `day` (today)."""
    from rotation.models import RotationBlock

    day = day or timezone.localdate()
    blocks = RotationBlock.objects.filter(department=department, start_date__lte=day, end_date__gte=day)
    return User.objects.filter(resident_profile__in=blocks.values("resident_id"))


# ---------------------------------------------------------------- checks


def clashes(*, teacher: User, starts_at, ends_at, exclude_pk=None) -> QuerySet[Activity]:
    """Live activities (any department) the teacher is already in that overlap [starts_at, ends_at)."""
    qs = Activity.objects.filter(teacher=teacher, starts_at__lt=ends_at, ends_at__gt=starts_at).exclude(
        status=ActivityStatus.CANCELLED
    )
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return qs.select_related("department")


def _clash_error(teacher: User, clash: Activity) -> ValidationError:
    local = timezone.localtime(clash.starts_at)
    return ValidationError(
        {
            "teacher": _(
                "%(teacher)s already teaches “%(title)s” (%(department)s) at %(when)s; "
                "a teacher cannot be in two activities at once."
            )
            % {
                "teacher": teacher.display_name,
                "title": clash.title,
                "department": clash.department.name,
                "when": f"{local:%Y-%m-%d %H:%M}–{timezone.localtime(clash.ends_at):%H:%M}",
            }
        }
    )


def warnings_for(activity: Activity) -> list[str]:
    """Allowed but worth a second look (shown after saving and on the plan)."""
    found = []
    if activity.ends_at - activity.starts_at > LONG_ACTIVITY:
        found.append(
            _("“%(title)s” lasts longer than 2 hours; check that this is intended.") % {"title": activity.title}
        )
    return found


def _check(department: Department, values: dict, *, month: datetime.date | None, exclude_pk=None) -> None:
    errors: dict[str, list[str]] = {}
    starts, ends = values["starts_at"], values["ends_at"]
    if ends <= starts:
        errors.setdefault("ends_at", []).append(_("The end must be after the start."))
    if month is not None and month_start(timezone.localtime(starts).date()) != month:
        errors.setdefault("starts_at", []).append(
            _("The activity must take place in the plan's month (%(month)s).") % {"month": f"{month:%Y-%m}"}
        )
    teacher = values["teacher"]
    if not department_teachers(department).filter(pk=teacher.pk).exists():
        errors.setdefault("teacher", []).append(_("The teacher must hold a staff role in this department."))
    activity_type = values["activity_type"]
    if activity_type.hospital_id != (department.hospital.parent_id or department.hospital_id):
        errors.setdefault("activity_type", []).append(_("Choose one of this hospital's activity types."))
    if values.get("audience") == Audience.BASE and not (values.get("audience_base") or department.base_id):
        errors.setdefault("audience_base", []).append(_("Choose the base whose residents are expected."))
    if errors:
        raise ValidationError(errors)
    clash = clashes(teacher=teacher, starts_at=starts, ends_at=ends, exclude_pk=exclude_pk).first()
    if clash is not None:
        raise _clash_error(teacher, clash)


def _normalise(department: Department, values: dict) -> dict:
    values = {k: values.get(k) for k in FIELDS}
    values["title"] = (values["title"] or "").strip()
    values["place"] = (values["place"] or "").strip()
    values["audience"] = values["audience"] or Audience.DEPARTMENT
    if values["audience"] == Audience.BASE:
        values["audience_base"] = values["audience_base"] or department.base
    else:
        values["audience_base"] = None
    if values["hours"] in (None, ""):
        values["hours"] = values["activity_type"].default_hours
    return values


def _locked_plan(plan: TeachingPlan) -> TeachingPlan:
    return TeachingPlan.objects.select_for_update().select_related("department__hospital").get(pk=plan.pk)


def _refuse_unless_editable(plan: TeachingPlan) -> None:
    if plan.status not in EDITABLE:
        raise ValidationError(
            _("This plan is %(status)s and can no longer be changed.") % {"status": plan.get_status_display()}
        )


def _audit_values(values: dict) -> dict:
    out = {}
    for key, value in values.items():
        if isinstance(value, datetime.datetime):
            value = timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
        elif hasattr(value, "pk"):
            value = str(value)
        elif isinstance(value, Decimal):
            value = str(value)
        out[key] = value
    return out


# ---------------------------------------------------------------- building the plan


@transaction.atomic
def plan_open(*, department: Department, month: datetime.date, acting_user: User) -> TeachingPlan:
    """The secretary opens the department's plan of a month (an opened one is returned as it is)."""
    if not may_plan(acting_user, department):
        raise PermissionDenied
    month = month_start(month)
    if month < add_months(month_start(timezone.localdate()), -1):
        raise ValidationError(_("A plan can be made for last month, this month or a later one."))
    plan, created = TeachingPlan.objects.get_or_create(
        department=department, month=month, defaults={"created_by": acting_user}
    )
    if created:
        audit_record(
            action="teaching.plan.open", target=plan, acting_user=acting_user, changes={"status": [None, plan.status]}
        )
    return plan


@transaction.atomic
def activity_add(*, plan: TeachingPlan, values: dict, acting_user: User) -> tuple[Activity, list[str]]:
    """Add an activity to an editable plan; returns it with its warnings. Refusals raise ValidationError."""
    plan = _locked_plan(plan)
    if not can(acting_user, "edit", plan):
        raise PermissionDenied
    _refuse_unless_editable(plan)
    values = _normalise(plan.department, values)
    _check(plan.department, values, month=plan.month)
    activity = Activity.objects.create(
        plan=plan, department=plan.department, created_by=acting_user, status=ActivityStatus.PLANNED, **values
    )
    audit_record(action="teaching.activity.add", target=activity, acting_user=acting_user, values=_audit_values(values))
    return activity, warnings_for(activity)


@transaction.atomic
def activity_update(*, activity: Activity, values: dict, acting_user: User) -> tuple[Activity, list[str]]:
    """Change an activity of an editable plan (before approval)."""
    plan = _locked_plan(activity.plan)
    if not can(acting_user, "edit", plan):
        raise PermissionDenied
    _refuse_unless_editable(plan)
    values = _normalise(plan.department, values)
    _check(plan.department, values, month=plan.month, exclude_pk=activity.pk)
    activity = Activity.objects.select_for_update().get(pk=activity.pk)
    changes = _apply(activity, values)
    if changes:
        audit_record(action="teaching.activity.edit", target=activity, acting_user=acting_user, changes=changes)
    return activity, warnings_for(activity)


def _apply(activity: Activity, values: dict) -> dict:
    changes = {}
    for key, value in values.items():
        old = getattr(activity, key)
        if old != value:
            changes[key] = list(_audit_values({"old": old, "new": value}).values())
            setattr(activity, key, value)
    if changes:
        activity.save()
    return changes


@transaction.atomic
def activity_delete(*, activity: Activity, acting_user: User) -> None:
    plan = _locked_plan(activity.plan)
    if not can(acting_user, "edit", plan):
        raise PermissionDenied
    _refuse_unless_editable(plan)
    audit_record(action="teaching.activity.delete", target=activity, acting_user=acting_user, title=activity.title)
    activity.delete()


def shift_to_month(day: datetime.date, month: datetime.date) -> datetime.date | None:
    """The same weekday in the same week of `month` (the 2nd Tuesday stays the 2nd Tuesday); None past its end."""
    nth = (day.day - 1) // 7
    first = month_start(month)
    offset = (day.weekday() - first.weekday()) % 7
    target = first + datetime.timedelta(days=offset + 7 * nth)
    return target if target.month == first.month else None


@transaction.atomic
def plan_copy_previous(*, plan: TeachingPlan, acting_user: User) -> dict:
    """Copy last month's activities into this plan, same weekdays shifted to this month.

    Activities that would fall after the month's end, or whose teacher is busy then, are skipped.
    Returns {"copied": n, "skipped": [titles]}.
    """
    plan = _locked_plan(plan)
    if not can(acting_user, "edit", plan):
        raise PermissionDenied
    _refuse_unless_editable(plan)
    previous = TeachingPlan.objects.filter(department=plan.department, month=add_months(plan.month, -1)).first()
    if previous is None:
        raise ValidationError(_("There is no plan for last month to copy."))
    copied, skipped = 0, []
    teachers = set(department_teachers(plan.department).values_list("pk", flat=True))
    for source in previous.activities.exclude(status=ActivityStatus.CANCELLED).select_related("teacher"):
        start = timezone.localtime(source.starts_at)
        day = shift_to_month(start.date(), plan.month)
        if day is None or source.teacher_id not in teachers:
            skipped.append(source.title)
            continue
        tz = timezone.get_current_timezone()
        starts_at = datetime.datetime.combine(day, start.time(), tzinfo=tz)
        ends_at = starts_at + (source.ends_at - source.starts_at)
        if clashes(teacher=source.teacher, starts_at=starts_at, ends_at=ends_at).exists():
            skipped.append(source.title)
            continue
        Activity.objects.create(
            plan=plan,
            department=plan.department,
            activity_type_id=source.activity_type_id,
            title=source.title,
            teacher_id=source.teacher_id,
            starts_at=starts_at,
            ends_at=ends_at,
            place=source.place,
            audience=source.audience,
            audience_base_id=source.audience_base_id,
            capacity=source.capacity,
            hours=source.hours,
            created_by=acting_user,
        )
        copied += 1
    audit_record(
        action="teaching.plan.copy",
        target=plan,
        acting_user=acting_user,
        source=str(previous.pk),
        copied=copied,
        skipped=len(skipped),
    )
    return {"copied": copied, "skipped": skipped}


# ---------------------------------------------------------------- compliance


@dataclass
class ComplianceRow:
    activity_type: ActivityType
    count: int  # at least this many
    per_days: int  # every this many days
    planned: int  # activities of the type in the month
    windows: int  # periods of `per_days` days in the month
    covered: int  # periods with at least `count` activities

    @property
    def required(self) -> int:
        return self.windows * self.count

    @property
    def ok(self) -> bool:
        return self.covered >= self.windows

    @property
    def period(self) -> str:
        if self.per_days == 7:
            return _("weeks")
        if self.per_days == 14:
            return _("fortnights")
        if self.per_days in (28, 30, 31):
            return _("months")
        return _("periods of %(days)s days") % {"days": self.per_days}

    @property
    def summary(self) -> str:
        return _("%(covered)s of %(windows)s %(period)s covered") % {
            "covered": self.covered,
            "windows": self.windows,
            "period": self.period,
        }


def windows_of(month: datetime.date, per_days: int) -> list[tuple[datetime.date, datetime.date]]:
    """The month split evenly into round(days / per_days) periods (at least one), first to last day."""
    days = (month_end(month) - month).days + 1
    count = max(1, math.floor(days / per_days + 0.5))
    bounds = [round(i * days / count) for i in range(count + 1)]
    return [
        (month + datetime.timedelta(days=bounds[i]), month + datetime.timedelta(days=bounds[i + 1] - 1))
        for i in range(count)
    ]


def compliance(department: Department, month: datetime.date, activities=None) -> list[ComplianceRow]:
    """Per type with a rule: the month's planned (live) activities against the rule.

    `activities` defaults to the department's live activities starting in the month.
    """
    month = month_start(month)
    if activities is None:
        tz = timezone.get_current_timezone()
        first = datetime.datetime.combine(month, datetime.time.min, tzinfo=tz)
        after = datetime.datetime.combine(add_months(month, 1), datetime.time.min, tzinfo=tz)
        activities = Activity.objects.filter(department=department, starts_at__gte=first, starts_at__lt=after)
    days_by_type: dict[int, list[datetime.date]] = {}
    for activity in activities:
        if activity.status == ActivityStatus.CANCELLED:
            continue
        days_by_type.setdefault(activity.activity_type_id, []).append(timezone.localtime(activity.starts_at).date())
    rows = []
    for rule in sorted(rules_for(department).values(), key=lambda r: (r.activity_type.position, r.activity_type.code)):
        days = days_by_type.get(rule.activity_type_id, [])
        periods = windows_of(month, rule.per_days)
        covered = sum(1 for first, last in periods if sum(first <= d <= last for d in days) >= rule.count)
        rows.append(ComplianceRow(rule.activity_type, rule.count, rule.per_days, len(days), len(periods), covered))
    return rows


# ---------------------------------------------------------------- approval


def approval_request_for(plan: TeachingPlan) -> ApprovalRequest | None:
    return (
        ApprovalRequest.objects.filter(
            workflow=PLAN_WORKFLOW, target_type=ContentType.objects.get_for_model(TeachingPlan), target_id=str(plan.pk)
        )
        .order_by("-submitted_at", "-pk")
        .first()
    )


def last_return_comment(plan: TeachingPlan) -> str:
    if plan.status != PlanStatus.RETURNED:
        return ""
    request = approval_request_for(plan)
    if request is None:
        return ""
    action = (
        ApprovalAction.objects.filter(request=request, kind__in=[ActionKind.RETURN, ActionKind.REJECT])
        .order_by("-created_at", "-pk")
        .first()
    )
    return action.comment if action else ""


def _title(plan: TeachingPlan) -> str:
    return _("Teaching plan %(month)s · %(department)s") % {
        "month": f"{plan.month:%Y-%m}",
        "department": plan.department.name,
    }


@transaction.atomic
def plan_submit(*, plan: TeachingPlan, acting_user: User) -> TeachingPlan:
    """Send the plan to the department head, then the training office."""
    plan = _locked_plan(plan)
    if not can(acting_user, "submit", plan):
        raise PermissionDenied
    _refuse_unless_editable(plan)
    count = plan.activities.count()
    if not count:
        raise ValidationError(_("Add at least one activity before submitting the plan."))
    rows = compliance(plan.department, plan.month, plan.activities.all())
    context = {"activities": count, "short": sum(1 for row in rows if not row.ok)}
    previous = plan.status
    plan.status = PlanStatus.PENDING
    plan.submitted_at = timezone.now()
    plan.save(update_fields=["status", "submitted_at"])
    request = approval_request_for(plan)
    if request is not None and request.status == RequestStatus.RETURNED and request.submitter_id == acting_user.pk:
        approval_resubmit(request=request, acting_user=acting_user, context=context)
    else:
        approval_submit(
            workflow=PLAN_WORKFLOW,
            target=plan,
            title=_title(plan),
            acting_user=acting_user,
            hospital=plan.department.hospital,
            base=plan.department.base,
            department=plan.department,
            context=context,
        )
    audit_record(
        action="teaching.plan.submit",
        target=plan,
        acting_user=acting_user,
        changes={"status": [previous, PlanStatus.PENDING]},
        activities=count,
    )
    return plan


def _set_status(request: ApprovalRequest, status: str, acting_user: User | None, action: str) -> TeachingPlan:
    plan = _locked_plan(request.target)
    previous = plan.status
    plan.status = status
    update = ["status"]
    if status == PlanStatus.APPROVED:
        plan.approved_at = timezone.now()
        update.append("approved_at")
        plan.activities.filter(status=ActivityStatus.PLANNED).update(
            status=ActivityStatus.APPROVED, updated_at=timezone.now()
        )
    plan.save(update_fields=update)
    audit_record(
        action=f"teaching.plan.{action}", target=plan, acting_user=acting_user, changes={"status": [previous, status]}
    )
    return plan


def _notify_planners(plan: TeachingPlan, event: str, body: str = "") -> None:
    from notices.notify import notify

    users = RoleAssignment.objects.active_on().filter(role__in=PLANNERS, department_id=plan.department_id).holders()
    with translation.override(settings.LANGUAGE_CODE):
        titles = {
            "approve": _("Teaching plan %(month)s approved"),
            "return": _("Teaching plan %(month)s returned for changes"),
        }
        notify(
            users,
            title=titles[event] % {"month": f"{plan.month:%Y-%m}"},
            body=body,
            url=reverse("teaching:plans_detail", args=[plan.uuid]),
            kind="teaching.plan",
        )


def on_plan_approved(*, request: ApprovalRequest, acting_user: User | None) -> None:
    plan = _set_status(request, PlanStatus.APPROVED, acting_user, "approve")
    _notify_planners(plan, "approve")


def on_plan_returned(*, request: ApprovalRequest, acting_user: User | None) -> None:
    plan = _set_status(request, PlanStatus.RETURNED, acting_user, "return")
    _notify_planners(plan, "return", body=last_return_comment(plan))


def on_plan_rejected(*, request: ApprovalRequest, acting_user: User | None) -> None:
    """A rejected month still needs teaching: it goes back to the secretary like a return."""
    plan = _set_status(request, PlanStatus.RETURNED, acting_user, "reject")
    _notify_planners(plan, "return", body=last_return_comment(plan))


def on_plan_withdrawn(*, request: ApprovalRequest, acting_user: User | None) -> None:
    _set_status(request, PlanStatus.DRAFT, acting_user, "withdraw")


def on_plan_resubmitted(*, request: ApprovalRequest, acting_user: User | None) -> None:
    with transaction.atomic():
        plan = TeachingPlan.objects.filter(pk=request.target_id, status=PlanStatus.RETURNED).first()
        if plan is None:
            return
        TeachingPlan.objects.filter(pk=plan.pk).update(status=PlanStatus.PENDING, submitted_at=timezone.now())
        audit_record(
            action="teaching.plan.submit",
            target=plan,
            acting_user=acting_user,
            changes={"status": [PlanStatus.RETURNED, PlanStatus.PENDING]},
            via="approvals",
        )


# ---------------------------------------------------------------- changes after approval


def _notify_change(activity: Activity, title: str, body: str, teachers: list[User]) -> int:
    from notices.notify import notify

    recipients = list(current_residents(activity.department)) + teachers
    return notify(
        recipients,
        title=title,
        body=body,
        url=reverse("teaching:activity_detail", args=[activity.uuid]),
        kind="teaching.activity_change",
    )


def _when(activity: Activity) -> str:
    return f"{timezone.localtime(activity.starts_at):%Y-%m-%d %H:%M}–{timezone.localtime(activity.ends_at):%H:%M}"


CHANGEABLE = ("teacher", "starts_at", "ends_at", "place")


@transaction.atomic
def activity_change(*, activity: Activity, values: dict, acting_user: User) -> tuple[Activity, list[str]]:
    """Move an approved activity, change its teacher or place; the audience and the teachers are told."""
    activity = (
        Activity.objects.select_for_update().select_related("department__hospital", "teacher").get(pk=activity.pk)
    )
    if not can(acting_user, "edit", activity):
        raise PermissionDenied
    if activity.status != ActivityStatus.APPROVED:
        raise ValidationError(_("Only an approved activity can be changed this way."))
    values = {key: values.get(key) or getattr(activity, key) for key in CHANGEABLE}
    values["place"] = (values["place"] or "").strip()
    full = {
        "starts_at": values["starts_at"],
        "ends_at": values["ends_at"],
        "teacher": values["teacher"],
        "activity_type": activity.activity_type,
        "audience": activity.audience,
        "audience_base": activity.audience_base,
    }
    _check(activity.department, full, month=None, exclude_pk=activity.pk)
    old_teacher = activity.teacher
    old_when = _when(activity)
    changes = _apply(activity, values)
    if not changes:
        return activity, []
    audit_record(action="teaching.activity.change", target=activity, acting_user=acting_user, changes=changes)
    with translation.override(settings.LANGUAGE_CODE):
        body = _("Was: %(when)s, %(teacher)s. Now: %(new_when)s, %(new_teacher)s, %(place)s.") % {
            "when": old_when,
            "teacher": old_teacher.display_name,
            "new_when": _when(activity),
            "new_teacher": activity.teacher.display_name,
            "place": activity.place,
        }
        title = _("Teaching activity changed: %(title)s") % {"title": activity.title}
        teachers = [old_teacher] if old_teacher.pk == activity.teacher_id else [old_teacher, activity.teacher]
        _notify_change(activity, title, body, teachers)
    return activity, warnings_for(activity)


@transaction.atomic
def activity_cancel(*, activity: Activity, reason: str, acting_user: User) -> Activity:
    """Cancel an approved activity with a reason (told to the audience and the teacher)."""
    activity = Activity.objects.select_for_update().select_related("department", "teacher").get(pk=activity.pk)
    if not can(acting_user, "edit", activity):
        raise PermissionDenied
    if activity.status != ActivityStatus.APPROVED:
        raise ValidationError(_("Only an approved activity can be cancelled; delete it from the plan instead."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for the cancellation: the residents read it.")})
    activity.status = ActivityStatus.CANCELLED
    activity.save(update_fields=["status", "updated_at"])
    audit_record(
        action="teaching.activity.cancel",
        target=activity,
        acting_user=acting_user,
        changes={"status": [ActivityStatus.APPROVED, ActivityStatus.CANCELLED]},
        reason=reason,
    )
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Teaching activity cancelled: %(title)s") % {"title": activity.title}
        body = _("%(when)s. Reason: %(reason)s") % {"when": _when(activity), "reason": reason}
        _notify_change(activity, title, body, [activity.teacher])
    return activity


# ---------------------------------------------------------------- reads


def month_bounds(month: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    tz = timezone.get_current_timezone()
    return (
        datetime.datetime.combine(month_start(month), datetime.time.min, tzinfo=tz),
        datetime.datetime.combine(add_months(month, 1), datetime.time.min, tzinfo=tz),
    )


def calendar_activities(user) -> QuerySet[Activity]:
    """Approved (and cancelled, shown struck through) activities this user may see."""
    from core.permissions import visible

    return (
        visible(user, Activity)
        .filter(status__in=[ActivityStatus.APPROVED, ActivityStatus.CANCELLED])
        .select_related("department", "activity_type", "teacher")
        .order_by("starts_at", "pk")
    )


def expected_or_teaching(user) -> QuerySet[Activity]:
    """What the user teaches or is expected at (their audience): the iCal feed and the home panels."""
    from ..permissions import resident_audience_q

    q = Q(teacher_id=user.pk) | resident_audience_q(user)
    return (
        Activity.objects.filter(q)
        .filter(status__in=[ActivityStatus.APPROVED, ActivityStatus.CANCELLED])
        .select_related("department__hospital", "activity_type", "teacher")
        .distinct()
        .order_by("starts_at", "pk")
    )


# ---------------------------------------------------------------- iCal


def _utc(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")


def feed_for(user, *, stamp: datetime.datetime | None = None, past_days: int = 60) -> str:
    """The user's teaching calendar (RFC 5545), with the helpers and the token of the rotation feed.

    Only names go out (teacher, department): the feed is read by third-party calendar servers.
    """
    from rotation.ical import UID_DOMAIN, calendar, escape_text

    stamp = stamp or timezone.now()
    since = stamp - datetime.timedelta(days=past_days)
    events = []
    for activity in expected_or_teaching(user).filter(ends_at__gte=since):
        lines = [
            "BEGIN:VEVENT",
            f"UID:teaching-{activity.uuid}@{UID_DOMAIN}",
            f"DTSTAMP:{_utc(stamp)}",
            f"DTSTART:{_utc(activity.starts_at)}",
            f"DTEND:{_utc(activity.ends_at)}",
            f"SUMMARY:{escape_text(f'{activity.activity_type.name}: {activity.title}')}",
            "DESCRIPTION:"
            + escape_text(
                _("Teacher: %(teacher)s · %(department)s")
                % {"teacher": activity.teacher.display_name, "department": activity.department.name}
            ),
            f"LOCATION:{escape_text(activity.place)}",
            f"LAST-MODIFIED:{_utc(activity.updated_at)}",
            "STATUS:CANCELLED" if activity.status == ActivityStatus.CANCELLED else "STATUS:CONFIRMED",
            "END:VEVENT",
        ]
        events.append(lines)
    return calendar(_("Teaching activities"), events)
