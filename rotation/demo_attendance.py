"""Demo attendance for the persona department (心血管内科, clerk persona `clerk`).

Months m-4 .. m-2 approved (clerk → `head` → `office`), m-1 submitted and waiting for `head`,
the current month open. Everything goes through the services and the approval engine, so the
history (approval actions, audit) is real. Duty days and a few half-day absences are derived from
the resident and month, so reruns produce the same figures. Idempotent: a month already reported
is left alone.
"""

from decimal import Decimal

from django.utils import timezone

from accounts.demo import HOSPITAL, PERSONA_DEPARTMENT
from accounts.models import Department, User
from approvals.choices import ActionKind, RequestStatus
from approvals.services import approval_decide
from core.demo import register

from . import workflows_attendance  # noqa: F401  (the workflow the demo submits to)
from .choices import ReportStatus
from .models import AttendanceReport
from .months import add_months, month_start
from .services import attendance

APPROVED_MONTHS = 3


def _figures(report: AttendanceReport) -> dict[int, dict]:
    values = {}
    for line in report.lines.all():
        seed = line.resident_id * 7 + report.month.month
        room = Decimal(line.scheduled_days) - line.leave_days
        absence = Decimal("0.5") if seed % 9 == 0 and room >= 1 else Decimal(0)
        values[line.pk] = {
            "duty_days": min(2 + seed % 5, line.scheduled_days),
            "absence_days": absence,
            "note": "",
        }
    return values


def _decide(report: AttendanceReport, user: User) -> None:
    request = attendance.approval_request_for(report)
    if request is not None and request.status == RequestStatus.PENDING:
        approval_decide(
            request=request, decision=ActionKind.APPROVE, acting_user=user, expected_version=request.version
        )


@register("rotation_attendance", order=28)
def seed_attendance(stdout=None) -> str:
    department = Department.objects.filter(code=PERSONA_DEPARTMENT, hospital__code=HOSPITAL["code"]).first()
    if department is None:
        return "no persona department"
    clerk = User.objects.get(username="clerk")
    head = User.objects.get(username="head")
    office = User.objects.get(username="office")
    this_month = month_start(timezone.localdate())
    plan = [(add_months(this_month, -i), "approved") for i in range(APPROVED_MONTHS + 1, 1, -1)]
    plan += [(add_months(this_month, -1), "pending"), (this_month, "open")]
    done = 0
    for month, target in plan:
        if AttendanceReport.objects.filter(department=department, month=month).exists():
            continue
        report = attendance.attendance_report_open(department=department, month=month, acting_user=clerk)
        attendance.attendance_lines_update(report=report, values=_figures(report), acting_user=clerk)
        if target != "open":
            attendance.attendance_report_submit(report=report, acting_user=clerk)
        if target == "approved":
            _decide(report, head)
            _decide(report, office)
            report.refresh_from_db()
            if report.status != ReportStatus.APPROVED:
                raise RuntimeError(f"demo attendance {month:%Y-%m} not approved: {report.status}")
        done += 1
    return f"{done} months reported" if done else "up to date"
