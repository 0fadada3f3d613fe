"""The department's monthly attendance report (月度考勤): open, fill, submit, approve, reopen.

The attendance clerk (考勤员) opens a month for their department. Every resident whose published
RotationBlock overlaps the month gets a line, pre-filled from the schedule and from approved
leave:

* scheduled days = the weekdays (Monday to Friday) of block ∩ month. There is no holiday calendar
  yet, so public holidays count as working days; the clerk can note them;
* leave days = `rotation.services.leave.approved_leave_days` over block ∩ month, never more than
  the scheduled days (leave is only read here: it changes through leave requests);
* duty days (值班) and absences are entered by the clerk.

Submitting sends the report through the approval workflow "rotation.attendance" (the department
head, then the training office). Approved, the month is locked; returned or rejected, it is
editable again with the approver's comment. Corrections after approval need the office to reopen
the month with a reason. Every state change is audited.
"""

from __future__ import annotations

import calendar
import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.choices import Role
from accounts.models import Department, RoleAssignment, User
from approvals.choices import ActionKind, RequestStatus
from approvals.models import ApprovalAction, ApprovalRequest
from approvals.services import approval_resubmit, approval_submit
from core.audit import audit_record
from core.permissions import can

from ..choices import ReportStatus
from ..models import AttendanceLine, AttendanceReport, RotationBlock
from ..months import month_end, month_start

ATTENDANCE_WORKFLOW = "rotation.attendance"
EDITABLE = (ReportStatus.OPEN, ReportStatus.RETURNED)
HALF = Decimal("0.5")


# ---------------------------------------------------------------- days


def weekdays(first: datetime.date, last: datetime.date) -> int:
    """Monday to Friday from first to last, both included (no holiday calendar)."""
    if last < first:
        return 0
    days = (last - first).days + 1
    full_weeks, rest = divmod(days, 7)
    count = full_weeks * 5
    for offset in range(rest):
        if (first + datetime.timedelta(days=full_weeks * 7 + offset)).weekday() < 5:
            count += 1
    return count


def days_in_month(month: datetime.date) -> int:
    return calendar.monthrange(month.year, month.month)[1]


ATTENDANCE_ROLES = (
    Role.ATTENDANCE_CLERK,
    Role.TEACHING_SECRETARY,
    Role.DEPARTMENT_HEAD,
    Role.BASE_DIRECTOR,
    Role.BASE_SECRETARY,
    Role.TRAINING_OFFICE,
)


def may_use_attendance(user) -> bool:
    """From the roles alone (menu, page access, no query): who has attendance pages at all."""
    return bool(getattr(user, "is_authenticated", False)) and user.scope.has_role(*ATTENDANCE_ROLES)


def may_open(user: User, department: Department) -> bool:
    """Opening a month is the department's attendance clerk's job."""
    return department.pk in user.scope.departments(Role.ATTENDANCE_CLERK)


# ---------------------------------------------------------------- pre-fill


@dataclass
class Prefill:
    resident_id: int
    block_id: int
    scheduled_days: int
    leave_days: Decimal


def blocks_in_month(department: Department, month: datetime.date):
    first, last = month_start(month), month_end(month)
    return (
        RotationBlock.objects.filter(department=department, start_date__lte=last, end_date__gte=first)
        .select_related("resident__user")
        .order_by("resident_id", "start_date")
    )


def prefill(department: Department, month: datetime.date) -> dict[int, Prefill]:
    """Per resident rotating in the department this month: scheduled weekdays and approved leave.

    Two blocks of one resident in one month (rare: a split rotation) add up.
    """
    from .leave import approved_leave_days

    first, last = month_start(month), month_end(month)
    rows: dict[int, Prefill] = {}
    ranges: dict[tuple[datetime.date, datetime.date], list[int]] = defaultdict(list)
    for block in blocks_in_month(department, month):
        start, end = max(block.start_date, first), min(block.end_date, last)
        ranges[(start, end)].append(block.resident_id)
        row = rows.get(block.resident_id)
        if row is None:
            rows[block.resident_id] = Prefill(block.resident_id, block.pk, weekdays(start, end), Decimal(0))
        else:
            row.scheduled_days += weekdays(start, end)
    # One call per distinct period (most blocks cover the whole month, so usually one or two calls).
    for (start, end), resident_ids in ranges.items():
        for resident_id, days in approved_leave_days(resident_ids, start, end).items():
            if resident_id in rows:
                rows[resident_id].leave_days += Decimal(days)
    for row in rows.values():
        row.leave_days = min(row.leave_days, Decimal(row.scheduled_days))
    return rows


# ---------------------------------------------------------------- validation


def _decimal(value, label: str) -> Decimal:
    try:
        number = Decimal(str(value if value not in (None, "") else 0))
    except (InvalidOperation, ValueError):
        raise ValidationError(_("%(field)s must be a number.") % {"field": label}) from None
    if not number.is_finite():
        raise ValidationError(_("%(field)s must be a number.") % {"field": label})
    return number


def line_errors(
    *, scheduled_days: int, leave_days: Decimal, duty_days, absence_days, month: datetime.date
) -> dict[str, list[str]]:
    """The clerk's figures for one line, checked against the schedule: field -> messages (empty when fine)."""
    errors: dict[str, list[str]] = defaultdict(list)
    try:
        duty = _decimal(duty_days, _("Duty days"))
    except ValidationError as exc:
        errors["duty_days"] += exc.messages
        duty = None
    try:
        absence = _decimal(absence_days, _("Absence days"))
    except ValidationError as exc:
        errors["absence_days"] += exc.messages
        absence = None
    if duty is not None:
        if duty < 0:
            errors["duty_days"].append(_("Duty days cannot be negative."))
        elif duty != duty.to_integral_value():
            errors["duty_days"].append(_("Duty days are whole days."))
        elif duty > days_in_month(month):
            errors["duty_days"].append(
                _("Duty days cannot be more than the %(days)s days of the month.") % {"days": days_in_month(month)}
            )
    if absence is not None:
        if absence < 0:
            errors["absence_days"].append(_("Absence days cannot be negative."))
        elif absence % HALF:
            errors["absence_days"].append(_("Absence days are counted in half days (0.5)."))
        elif Decimal(leave_days) + absence > scheduled_days:
            errors["absence_days"].append(
                _(
                    "Leave (%(leave)s) and absence (%(absence)s) together cannot exceed the %(scheduled)s scheduled "
                    "working days."
                )
                % {"leave": _num(leave_days), "absence": _num(absence), "scheduled": scheduled_days}
            )
    return dict(errors)


def _num(value) -> str:
    value = Decimal(value)
    return str(value.quantize(Decimal(1))) if value == value.to_integral_value() else str(value.normalize())


class LineErrors(ValidationError):
    """The clerk's figures refused: `lines` maps line pk -> field -> messages (the pages mark each field)."""

    def __init__(self, lines: dict[int, dict[str, list[str]]]):
        self.lines = lines
        super().__init__([m for fields in lines.values() for messages in fields.values() for m in messages])


# ---------------------------------------------------------------- the report's approval


def approval_request_for(report: AttendanceReport) -> ApprovalRequest | None:
    """The latest approval request of a report (each submission after approval or rejection opens a new one)."""
    return (
        ApprovalRequest.objects.filter(
            workflow=ATTENDANCE_WORKFLOW,
            target_type=ContentType.objects.get_for_model(AttendanceReport),
            target_id=str(report.pk),
        )
        .order_by("-submitted_at", "-pk")
        .first()
    )


def last_return_comment(report: AttendanceReport) -> str:
    """What the approver wrote when they returned (or rejected) the report, for the clerk."""
    if report.status != ReportStatus.RETURNED:
        return ""
    request = approval_request_for(report)
    if request is None:
        return ""
    action = (
        ApprovalAction.objects.filter(request=request, kind__in=[ActionKind.RETURN, ActionKind.REJECT])
        .order_by("-created_at", "-pk")
        .first()
    )
    return action.comment if action else ""


def on_report_resubmitted(*, request, acting_user) -> None:
    """A returned report sent again from the approvals page is waiting for approval once more."""
    with transaction.atomic():
        report = AttendanceReport.objects.filter(pk=request.target_id, status=ReportStatus.RETURNED).first()
        if report is None:
            return
        AttendanceReport.objects.filter(pk=report.pk).update(status=ReportStatus.PENDING, submitted_at=timezone.now())
        audit_record(
            action="rotation.attendance.submit",
            target=report,
            acting_user=acting_user,
            changes={"status": [ReportStatus.RETURNED, ReportStatus.PENDING]},
            via="approvals",
        )


# ---------------------------------------------------------------- services


def _locked(report: AttendanceReport) -> AttendanceReport:
    return AttendanceReport.objects.select_for_update().select_related("department__hospital").get(pk=report.pk)


def _refuse_unless_editable(report: AttendanceReport) -> None:
    if report.status not in EDITABLE:
        raise ValidationError(
            _("This month is %(status)s and can no longer be changed.") % {"status": report.get_status_display()}
        )


def _apply_prefill(report: AttendanceReport) -> dict:
    """Lines follow the schedule: new residents added, figures recomputed, residents who left removed."""
    rows = prefill(report.department, report.month)
    existing = {line.resident_id: line for line in report.lines.all()}
    added, updated, removed = [], 0, []
    for resident_id, row in rows.items():
        line = existing.pop(resident_id, None)
        if line is None:
            added.append(
                AttendanceLine(
                    report=report,
                    resident_id=resident_id,
                    block_id=row.block_id,
                    scheduled_days=row.scheduled_days,
                    leave_days=row.leave_days,
                )
            )
            continue
        if (line.block_id, line.scheduled_days, line.leave_days) != (row.block_id, row.scheduled_days, row.leave_days):
            line.block_id, line.scheduled_days, line.leave_days = row.block_id, row.scheduled_days, row.leave_days
            # The clerk's absences never push the line over the schedule: keep what still fits.
            room = max(Decimal(line.scheduled_days) - line.leave_days, Decimal(0))
            line.absence_days = min(line.absence_days, room)
            line.save(update_fields=["block", "scheduled_days", "leave_days", "absence_days"])
            updated += 1
    AttendanceLine.objects.bulk_create(added)
    for line in existing.values():
        removed.append(line.resident_id)
        line.delete()
    return {"added": len(added), "updated": updated, "removed": len(removed)}


@transaction.atomic
def attendance_report_open(*, department: Department, month: datetime.date, acting_user: User) -> AttendanceReport:
    """The clerk opens a month: one line per resident rotating in the department, pre-filled.

    Opening an already opened month returns it unchanged (two clerks clicking at once get one report).
    """
    if not may_open(acting_user, department):
        raise PermissionDenied
    month = month_start(month)
    if month > month_start(timezone.localdate()):
        raise ValidationError(_("A month can be opened once it has begun."))
    report, created = AttendanceReport.objects.get_or_create(
        department=department, month=month, defaults={"opened_by": acting_user}
    )
    if not created:
        return report
    counts = _apply_prefill(report)
    audit_record(
        action="rotation.attendance.open",
        target=report,
        acting_user=acting_user,
        changes={"status": [None, ReportStatus.OPEN]},
        lines=counts["added"],
    )
    return report


@transaction.atomic
def attendance_report_refresh(*, report: AttendanceReport, acting_user: User) -> dict:
    """Recompute the pre-fill (schedule and approved leave) of an open month; the clerk's figures stay."""
    report = _locked(report)
    if not can(acting_user, "edit", report):
        raise PermissionDenied
    _refuse_unless_editable(report)
    counts = _apply_prefill(report)
    audit_record(action="rotation.attendance.refresh", target=report, acting_user=acting_user, **counts)
    return counts


@transaction.atomic
def attendance_lines_update(*, report: AttendanceReport, values: dict[int, dict], acting_user: User) -> int:
    """Save the clerk's duty days, absences and notes ({line pk: {"duty_days", "absence_days", "note"}}).

    All lines are checked first; any error raises LineErrors (line pk -> field -> messages) and
    nothing is saved. Returns the number of lines changed.
    """
    report = _locked(report)
    if not can(acting_user, "edit", report):
        raise PermissionDenied
    _refuse_unless_editable(report)
    lines = {line.pk: line for line in report.lines.select_for_update().select_related("resident__user")}
    if set(values) - set(lines):
        raise ValidationError(_("The list of residents has changed; reload the page."))
    errors = {}
    for pk, data in values.items():
        line = lines[pk]
        problems = line_errors(
            scheduled_days=line.scheduled_days,
            leave_days=line.leave_days,
            duty_days=data.get("duty_days"),
            absence_days=data.get("absence_days"),
            month=report.month,
        )
        if problems:
            errors[pk] = problems
    if errors:
        raise LineErrors(errors)
    changes = {}
    for pk, data in values.items():
        line = lines[pk]
        new = (int(Decimal(str(data.get("duty_days") or 0))), Decimal(str(data.get("absence_days") or 0)))
        note = (data.get("note") or "").strip()[:300]
        old = (line.duty_days, line.absence_days, line.note)
        if (new[0], new[1], note) == old:
            continue
        line.duty_days, line.absence_days, line.note = new[0], new[1], note
        line.save(update_fields=["duty_days", "absence_days", "note"])
        changes[line.resident.user.display_name] = [
            f"{old[0]}/{_num(old[1])}/{old[2]}",
            f"{new[0]}/{_num(new[1])}/{note}",
        ]
    if changes:
        audit_record(action="rotation.attendance.edit", target=report, acting_user=acting_user, changes=changes)
    return len(changes)


def _title(report: AttendanceReport) -> str:
    return _("Attendance %(month)s · %(department)s") % {
        "month": f"{report.month:%Y-%m}",
        "department": report.department.name,
    }


def totals(report: AttendanceReport) -> dict:
    lines = list(report.lines.all())
    return {
        "residents": len(lines),
        "scheduled": sum(line.scheduled_days for line in lines),
        "leave": sum((line.leave_days for line in lines), Decimal(0)),
        "duty": sum(line.duty_days for line in lines),
        "absence": sum((line.absence_days for line in lines), Decimal(0)),
    }


@transaction.atomic
def attendance_report_submit(*, report: AttendanceReport, acting_user: User) -> AttendanceReport:
    """Send the month to the department head, then the training office.

    After a return the same approval request is resubmitted (its history stays one thread); after
    a rejection or a reopen a new request starts.
    """
    report = _locked(report)
    if not can(acting_user, "submit", report):
        raise PermissionDenied
    _refuse_unless_editable(report)
    errors = []
    for line in report.lines.select_related("resident__user"):
        problems = line_errors(
            scheduled_days=line.scheduled_days,
            leave_days=line.leave_days,
            duty_days=line.duty_days,
            absence_days=line.absence_days,
            month=report.month,
        )
        for messages in problems.values():
            errors += [f"{line.resident.user.display_name}: {m}" for m in messages]
    if errors:
        raise ValidationError(errors)
    previous = report.status
    report.status = ReportStatus.PENDING
    report.submitted_at = timezone.now()
    report.save(update_fields=["status", "submitted_at"])
    figures = totals(report)
    context = {"residents": figures["residents"], "absence": str(figures["absence"])}
    request = approval_request_for(report)
    if request is not None and request.status == RequestStatus.RETURNED and request.submitter_id == acting_user.pk:
        approval_resubmit(request=request, acting_user=acting_user, context=context)
    else:
        approval_submit(
            workflow=ATTENDANCE_WORKFLOW,
            target=report,
            title=_title(report),
            acting_user=acting_user,
            hospital=report.department.hospital,
            base=report.department.base,
            department=report.department,
            context=context,
        )
    audit_record(
        action="rotation.attendance.submit",
        target=report,
        acting_user=acting_user,
        changes={"status": [previous, ReportStatus.PENDING]},
        lines=figures["residents"],
    )
    return report


@transaction.atomic
def attendance_report_reopen(*, report: AttendanceReport, reason: str, acting_user: User) -> AttendanceReport:
    """The office unlocks an approved month for a correction; the reason is kept and audited."""
    report = _locked(report)
    if not can(acting_user, "reopen", report):
        raise PermissionDenied
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Give the reason for reopening: the clerk and the auditors read it.")})
    report.status = ReportStatus.OPEN
    report.approved_at = None
    report.reopen_reason = reason
    report.save(update_fields=["status", "approved_at", "reopen_reason"])
    audit_record(
        action="rotation.attendance.reopen",
        target=report,
        acting_user=acting_user,
        changes={"status": [ReportStatus.APPROVED, ReportStatus.OPEN], "reopen_reason": ["", reason]},
    )
    _notify_clerks(report, "reopen", body=reason)
    return report


def _set_status(request: ApprovalRequest, status: str, acting_user: User | None, action: str) -> AttendanceReport:
    report = _locked(request.target)
    previous = report.status
    report.status = status
    update = ["status"]
    if status == ReportStatus.APPROVED:
        report.approved_at = timezone.now()
        update.append("approved_at")
    report.save(update_fields=update)
    audit_record(
        action=f"rotation.attendance.{action}",
        target=report,
        acting_user=acting_user,
        changes={"status": [previous, status]},
    )
    return report


def _notify_clerks(report: AttendanceReport, event: str, body: str = "") -> None:
    """Tell the department's clerks, in the hospital's language (not the approver's)."""
    from notices.notify import notify

    users = (
        RoleAssignment.objects.active_on()
        .filter(role=Role.ATTENDANCE_CLERK, department_id=report.department_id)
        .holders()
    )
    with translation.override(settings.LANGUAGE_CODE):
        titles = {
            "approve": _("Attendance %(month)s approved"),
            "return": _("Attendance %(month)s returned for changes"),
            "reopen": _("Attendance %(month)s reopened"),
        }
        notify(
            users,
            title=titles[event] % {"month": f"{report.month:%Y-%m}"},
            body=body,
            url=reverse("rotation:attendance_report", args=[report.uuid]),
            kind="rotation.attendance",
        )


# Hooks of the workflow (rotation/workflows_attendance.py): the engine calls them with the request.


def on_report_approved(*, request: ApprovalRequest, acting_user: User | None) -> None:
    report = _set_status(request, ReportStatus.APPROVED, acting_user, "approve")
    _notify_clerks(report, "approve")


def on_report_returned(*, request: ApprovalRequest, acting_user: User | None) -> None:
    report = _set_status(request, ReportStatus.RETURNED, acting_user, "return")
    _notify_clerks(report, "return", body=last_return_comment(report))


def on_report_rejected(*, request: ApprovalRequest, acting_user: User | None) -> None:
    """A rejected month still has to be reported: it goes back to the clerk like a return."""
    report = _set_status(request, ReportStatus.RETURNED, acting_user, "reject")
    _notify_clerks(report, "return", body=last_return_comment(report))


def on_report_withdrawn(*, request: ApprovalRequest, acting_user: User | None) -> None:
    _set_status(request, ReportStatus.OPEN, acting_user, "withdraw")


# ---------------------------------------------------------------- statistics (reads)

GROUPINGS = ("resident", "department", "month")


def statistics(lines, by: str = "resident") -> list[dict]:
    """Sum a (scoped, filtered) AttendanceLine queryset per resident, department or month.

    Each row: the group's label fields, months (reports counted), scheduled, leave, duty and
    absence days. One query.
    """
    from django.db.models import Count, Sum

    keys = {
        "resident": ["resident_id", "resident__uuid", "resident__user__real_name", "resident__base__name"],
        "department": ["report__department_id", "report__department__name", "report__department__hospital__name"],
        "month": ["report__month"],
    }[by if by in GROUPINGS else "resident"]
    order = {
        "resident": ["resident__user__real_name", "resident_id"],
        "department": ["report__department__name", "report__department_id"],
        "month": ["-report__month"],
    }[by if by in GROUPINGS else "resident"]
    rows = (
        lines.order_by()
        .values(*keys)
        .annotate(
            months=Count("report", distinct=True),
            residents=Count("resident", distinct=True),
            scheduled=Sum("scheduled_days"),
            leave=Sum("leave_days"),
            duty=Sum("duty_days"),
            absence=Sum("absence_days"),
        )
        .order_by(*order)
    )
    result = []
    for row in rows:
        result.append(
            {
                "resident": row.get("resident__user__real_name", ""),
                "resident_uuid": row.get("resident__uuid"),
                "base": row.get("resident__base__name", ""),
                "department": row.get("report__department__name", ""),
                "site": row.get("report__department__hospital__name", ""),
                "month": row.get("report__month"),
                "months": row["months"],
                "residents": row["residents"],
                "scheduled": row["scheduled"] or 0,
                "leave": Decimal(row["leave"] or 0),
                "duty": row["duty"] or 0,
                "absence": Decimal(row["absence"] or 0),
            }
        )
    return result


def month_statuses(departments, months: list[datetime.date]) -> dict[tuple[int, datetime.date], AttendanceReport]:
    """The reports of these departments in these months, by (department id, month)."""
    reports = AttendanceReport.objects.filter(department__in=departments, month__in=months)
    return {(r.department_id, r.month): r for r in reports}
