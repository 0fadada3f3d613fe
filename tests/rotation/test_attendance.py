"""Monthly attendance (月度考勤): pre-fill from the schedule and approved leave, the clerk's figures,
approval by the head and the office, the lock, the office's reopen, and the statistics.

Services here; the pages, the permission matrix and the export in test_attendance_views.py.
"""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

import rotation.workflows_attendance  # noqa: F401  (the workflow, as the app registers it)
from approvals.choices import RequestStatus
from rotation.choices import LeaveKind, LeaveStatus, ReportStatus
from rotation.models import AttendanceLine, AttendanceReport, LeaveRequest
from rotation.services import attendance
from tests.factories.residents import ResidentProfileFactory, RotationBlockFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

MARCH = datetime.date(2026, 3, 1)  # 1 March 2026 is a Sunday: 22 weekdays


@pytest.fixture
def march_block(org, resident_profile, supervisor):
    return RotationBlockFactory(
        resident=resident_profile,
        department=org.cardiology,
        supervisor=supervisor,
        start_date=datetime.date(2026, 3, 1),
        end_date=datetime.date(2026, 4, 30),
    )


@pytest.fixture
def late_arrival(org):
    """A second resident who arrives in 心血管内科 on Monday 16 March: 12 weekdays in March."""
    profile = ResidentProfileFactory(base=org.internal, user__real_name="钱晚到")
    return RotationBlockFactory(
        resident=profile,
        department=org.cardiology,
        start_date=datetime.date(2026, 3, 16),
        end_date=datetime.date(2026, 5, 31),
    )


def leave(profile, start, end, days, status=LeaveStatus.APPROVED, **extra):
    return LeaveRequest.objects.create(
        resident=profile,
        kind=LeaveKind.choices[0][0],
        start_date=start,
        end_date=end,
        days=Decimal(days),
        reason="家中有事",
        status=status,
        **extra,
    )


def line_of(report, profile) -> AttendanceLine:
    return report.lines.get(resident=profile)


def test_weekdays_count_monday_to_friday_only():
    assert attendance.weekdays(datetime.date(2026, 3, 1), datetime.date(2026, 3, 31)) == 22
    assert attendance.weekdays(datetime.date(2026, 3, 16), datetime.date(2026, 3, 31)) == 12
    assert attendance.weekdays(datetime.date(2026, 3, 7), datetime.date(2026, 3, 8)) == 0  # a weekend
    assert attendance.weekdays(datetime.date(2026, 3, 9), datetime.date(2026, 3, 8)) == 0


def test_opening_a_month_lists_every_resident_with_scheduled_days_and_approved_leave(
    org, clerk, resident_profile, march_block, late_arrival, other_profile, audit_events
):
    leave(resident_profile, datetime.date(2026, 3, 9), datetime.date(2026, 3, 13), 5)
    leave(resident_profile, datetime.date(2026, 3, 23), datetime.date(2026, 3, 24), 2, status=LeaveStatus.PENDING)
    RotationBlockFactory(
        resident=other_profile,
        department=org.general_surgery,
        start_date=datetime.date(2026, 3, 1),
        end_date=datetime.date(2026, 3, 31),
    )

    report = attendance.attendance_report_open(department=org.cardiology, month=MARCH, acting_user=clerk)

    assert report.status == ReportStatus.OPEN
    assert report.lines.count() == 2  # the surgery resident is not here
    mine = line_of(report, resident_profile)
    assert (mine.scheduled_days, mine.leave_days, mine.block_id) == (22, Decimal(5), march_block.pk)
    late = line_of(report, late_arrival.resident)
    assert (late.scheduled_days, late.leave_days) == (12, Decimal(0))
    assert any(e["action"] == "rotation.attendance.open" for e in audit_events)


def test_opening_twice_returns_the_same_report(org, clerk, march_block):
    first = attendance.attendance_report_open(department=org.cardiology, month=MARCH, acting_user=clerk)
    again = attendance.attendance_report_open(department=org.cardiology, month=MARCH, acting_user=clerk)
    assert first.pk == again.pk
    assert AttendanceReport.objects.count() == 1


def test_only_the_departments_clerk_opens_and_not_a_future_month(org, clerk, head, march_block):
    with pytest.raises(PermissionDenied):
        attendance.attendance_report_open(department=org.cardiology, month=MARCH, acting_user=head)
    with pytest.raises(PermissionDenied):
        attendance.attendance_report_open(department=org.general_surgery, month=MARCH, acting_user=clerk)
    with pytest.raises(ValidationError):
        attendance.attendance_report_open(department=org.cardiology, month=datetime.date(2099, 1, 1), acting_user=clerk)
    assert not AttendanceReport.objects.exists()


def test_leave_beyond_the_scheduled_days_is_capped(org, clerk, resident_profile, late_arrival):
    """Leave counts calendar days; the report never shows more leave than working days in the department."""
    leave(late_arrival.resident, datetime.date(2026, 3, 1), datetime.date(2026, 3, 31), 31)
    report = attendance.attendance_report_open(department=org.cardiology, month=MARCH, acting_user=clerk)
    late = line_of(report, late_arrival.resident)
    assert late.leave_days == Decimal(12)


def test_refresh_picks_up_leave_approved_later_and_keeps_the_clerks_figures(
    org, clerk, resident_profile, march_block, audit_events
):
    report = attendance.attendance_report_open(department=org.cardiology, month=MARCH, acting_user=clerk)
    line = line_of(report, resident_profile)
    attendance.attendance_lines_update(
        report=report, values={line.pk: {"duty_days": 4, "absence_days": "1", "note": "夜班"}}, acting_user=clerk
    )
    leave(resident_profile, datetime.date(2026, 3, 9), datetime.date(2026, 3, 10), 2)

    counts = attendance.attendance_report_refresh(report=report, acting_user=clerk)

    line.refresh_from_db()
    assert counts == {"added": 0, "updated": 1, "removed": 0}
    assert (line.leave_days, line.duty_days, line.absence_days, line.note) == (Decimal(2), 4, Decimal(1), "夜班")
    assert any(e["action"] == "rotation.attendance.refresh" for e in audit_events)


def test_bad_figures_are_refused_with_clear_messages_and_nothing_is_saved(org, clerk, resident_profile, march_block):
    leave(resident_profile, datetime.date(2026, 3, 9), datetime.date(2026, 3, 13), 5)
    report = attendance.attendance_report_open(department=org.cardiology, month=MARCH, acting_user=clerk)
    line = line_of(report, resident_profile)

    cases = [
        ({"duty_days": -1, "absence_days": 0}, "duty_days", "Duty days cannot be negative."),
        ({"duty_days": 0, "absence_days": "-0.5"}, "absence_days", "Absence days cannot be negative."),
        ({"duty_days": 32, "absence_days": 0}, "duty_days", "Duty days cannot be more than the 31 days of the month."),
        ({"duty_days": 0, "absence_days": "0.3"}, "absence_days", "Absence days are counted in half days (0.5)."),
        (
            {"duty_days": 0, "absence_days": 18},
            "absence_days",
            "Leave (5) and absence (18) together cannot exceed the 22 scheduled working days.",
        ),
    ]
    for values, field, message in cases:
        with pytest.raises(attendance.LineErrors) as caught:
            attendance.attendance_lines_update(report=report, values={line.pk: values}, acting_user=clerk)
        assert caught.value.lines == {line.pk: {field: [message]}}
        assert caught.value.messages == [message]
    line.refresh_from_db()
    assert (line.duty_days, line.absence_days) == (0, Decimal(0))


def test_one_bad_line_saves_none(org, clerk, resident_profile, march_block, late_arrival):
    report = attendance.attendance_report_open(department=org.cardiology, month=MARCH, acting_user=clerk)
    good, bad = line_of(report, resident_profile), line_of(report, late_arrival.resident)
    with pytest.raises(ValidationError):
        attendance.attendance_lines_update(
            report=report,
            values={good.pk: {"duty_days": 3, "absence_days": 0}, bad.pk: {"duty_days": 1, "absence_days": 13}},
            acting_user=clerk,
        )
    assert set(AttendanceLine.objects.values_list("duty_days", flat=True)) == {0}


def _approve(report, user):
    from approvals.services import approval_decide

    request = attendance.approval_request_for(report)
    return approval_decide(request=request, decision="approve", acting_user=user, expected_version=request.version)


def test_submit_head_office_locks_the_month_and_reopen_needs_a_reason(
    org, clerk, head, office, secretary, march_block, audit_events
):
    report = attendance.attendance_report_open(department=org.cardiology, month=MARCH, acting_user=clerk)
    attendance.attendance_report_submit(report=report, acting_user=clerk)
    report.refresh_from_db()
    request = attendance.approval_request_for(report)
    assert report.status == ReportStatus.PENDING and report.submitted_at
    assert request.department_id == org.cardiology.pk
    assert set(request.current_approvers.all()) == {head}

    _approve(report, head)
    request.refresh_from_db()
    assert set(request.current_approvers.all()) == {office}
    _approve(report, office)
    report.refresh_from_db()
    assert report.status == ReportStatus.APPROVED and report.approved_at

    line = report.lines.get()
    with pytest.raises(PermissionDenied):
        attendance.attendance_lines_update(report=report, values={line.pk: {"duty_days": 1}}, acting_user=clerk)
    with pytest.raises(PermissionDenied):
        attendance.attendance_report_reopen(report=report, reason="改值班", acting_user=head)
    with pytest.raises(ValidationError):
        attendance.attendance_report_reopen(report=report, reason="  ", acting_user=office)
    report.refresh_from_db()
    assert report.status == ReportStatus.APPROVED

    attendance.attendance_report_reopen(report=report, reason="值班天数漏报", acting_user=office)
    report.refresh_from_db()
    assert (report.status, report.reopen_reason, report.approved_at) == (ReportStatus.OPEN, "值班天数漏报", None)
    reopen = [e for e in audit_events if e["action"] == "rotation.attendance.reopen"]
    assert reopen and reopen[0]["changes"]["reopen_reason"] == ["", "值班天数漏报"]
    attendance.attendance_lines_update(report=report, values={line.pk: {"duty_days": 1}}, acting_user=clerk)

    # Submitted again after the reopen: a new request, through the same two steps.
    attendance.attendance_report_submit(report=report, acting_user=clerk)
    assert attendance.approval_request_for(report).pk != request.pk
    actions = {e["action"] for e in audit_events}
    assert {"rotation.attendance.submit", "rotation.attendance.approve", "rotation.attendance.edit"} <= actions


def test_a_returned_month_is_editable_again_and_resubmits_the_same_request(org, clerk, head, march_block):
    from approvals.services import approval_decide

    report = attendance.attendance_report_open(department=org.cardiology, month=MARCH, acting_user=clerk)
    attendance.attendance_report_submit(report=report, acting_user=clerk)
    request = attendance.approval_request_for(report)
    approval_decide(
        request=request, decision="return", acting_user=head, expected_version=request.version, comment="值班漏填"
    )
    report.refresh_from_db()
    assert report.status == ReportStatus.RETURNED
    assert attendance.last_return_comment(report) == "值班漏填"

    line = report.lines.get()
    attendance.attendance_lines_update(report=report, values={line.pk: {"duty_days": 6}}, acting_user=clerk)
    attendance.attendance_report_submit(report=report, acting_user=clerk)
    request.refresh_from_db()
    assert attendance.approval_request_for(report).pk == request.pk
    assert request.status == RequestStatus.PENDING
    assert set(request.current_approvers.all()) == {head}


def test_statistics_sum_per_resident_department_and_month(org, clerk, resident_profile, march_block):
    for month in (MARCH, datetime.date(2026, 4, 1)):
        report = attendance.attendance_report_open(department=org.cardiology, month=month, acting_user=clerk)
        line = report.lines.get()
        attendance.attendance_lines_update(
            report=report, values={line.pk: {"duty_days": 3, "absence_days": "0.5"}}, acting_user=clerk
        )
    lines = AttendanceLine.objects.all()
    (per_resident,) = attendance.statistics(lines, "resident")
    assert (per_resident["resident"], per_resident["months"], per_resident["scheduled"]) == ("李住院", 2, 22 + 22)
    assert (per_resident["duty"], per_resident["absence"]) == (6, Decimal(1))
    (per_department,) = attendance.statistics(lines, "department")
    assert per_department["residents"] == 1 and per_department["months"] == 2
    assert [r["month"] for r in attendance.statistics(lines, "month")] == [datetime.date(2026, 4, 1), MARCH]
