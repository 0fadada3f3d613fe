"""Monthly attendance pages as the real roles: the clerk opens and fills a month, the head and the
office approve in the approvals inbox, the month locks; the office reopens with a reason; a return
goes back to the clerk with the comment. Every view's permission matrix, bad input, the export.
"""

import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

import rotation.nav_attendance  # noqa: F401  (menu, as the app registers it)
import rotation.nav_department  # noqa: F401  (home panel)
import rotation.workflows_attendance  # noqa: F401
from accounts.choices import Role
from approvals.choices import RequestStatus
from core.navigation import items_for
from rotation.choices import LeaveKind, LeaveStatus, ReportStatus
from rotation.models import AttendanceLine, AttendanceReport, LeaveRequest
from rotation.services import attendance
from tests.conftest import PASSWORD
from tests.factories.accounts import RoleAssignmentFactory, UserFactory
from tests.factories.residents import ResidentProfileFactory, RotationBlockFactory
from tests.permissions import LOGIN, assert_access

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

MARCH = datetime.date(2026, 3, 1)  # 22 weekdays


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
def approved_leave(resident_profile, march_block):
    """A five-day leave (Monday 9 to Friday 13 March), approved."""
    return LeaveRequest.objects.create(
        resident=resident_profile,
        block=march_block,
        kind=LeaveKind.choices[0][0],
        start_date=datetime.date(2026, 3, 9),
        end_date=datetime.date(2026, 3, 13),
        days=Decimal(5),
        reason="病假",
        status=LeaveStatus.APPROVED,
    )


@pytest.fixture
def surgery_clerk(org):
    user = UserFactory(username="clerk_gs", real_name="外科考勤")
    RoleAssignmentFactory(user=user, role=Role.ATTENDANCE_CLERK, department=org.general_surgery)
    return user


@pytest.fixture
def surgery_report(org, surgery_clerk, other_profile):
    RotationBlockFactory(
        resident=other_profile,
        department=org.general_surgery,
        start_date=datetime.date(2026, 3, 1),
        end_date=datetime.date(2026, 3, 31),
    )
    return attendance.attendance_report_open(department=org.general_surgery, month=MARCH, acting_user=surgery_clerk)


@pytest.fixture
def report(org, clerk, march_block):
    return attendance.attendance_report_open(department=org.cardiology, month=MARCH, acting_user=clerk)


def formset_data(report, values: dict | None = None, **extra) -> dict:
    """The page's form as posted: {resident profile pk: (duty, absence, note)} overrides the stored figures."""
    lines = list(report.lines.order_by("resident__user__real_name", "resident_id"))
    data = {"form-TOTAL_FORMS": len(lines), "form-INITIAL_FORMS": len(lines), **extra}
    for index, line in enumerate(lines):
        duty, absence, note = (values or {}).get(line.resident_id, (line.duty_days, line.absence_days, line.note))
        data.update(
            {
                f"form-{index}-id": line.pk,
                f"form-{index}-duty_days": duty,
                f"form-{index}-absence_days": absence,
                f"form-{index}-note": note,
            }
        )
    return data


def decide(client, user, report, decision, comment=""):
    request = attendance.approval_request_for(report)
    client.force_login(user)
    page = client.get(reverse("approvals:detail", args=[request.uuid]))
    assert page.status_code == 200
    return client.post(
        reverse("approvals:decide", args=[request.uuid]),
        {"decision": decision, "version": request.version, "comment": comment},
    )


# --- the whole month through the pages ----------------------------------------------------------


def test_the_clerks_month_includes_approved_leave_and_goes_through_head_and_office(
    client, org, clerk, head, office, resident_profile, approved_leave, audit_events
):
    client.force_login(clerk)
    index = client.get(reverse("rotation:attendance"))
    assert index.status_code == 200 and "Open the month" in index.text

    opened = client.post(reverse("rotation:attendance_open", args=[org.cardiology.uuid]), {"month": "2026-03"})
    report = AttendanceReport.objects.get(department=org.cardiology, month=MARCH)
    assert opened.status_code == 302 and opened["Location"] == reverse("rotation:attendance_report", args=[report.uuid])
    page = client.get(opened["Location"])
    assert page.status_code == 200
    assert 'data-testid="leave-days">Leave 5<' in page.text
    assert "no holiday calendar" in page.text or "public holidays are not deducted" in page.text

    saved = client.post(
        opened["Location"], formset_data(report, {resident_profile.pk: (4, "1.5", "夜班 4 次")}, then="submit")
    )
    assert saved.status_code == 302
    line = report.lines.get()
    assert (line.scheduled_days, line.leave_days, line.duty_days, line.absence_days, line.note) == (
        22,
        Decimal(5),
        4,
        Decimal("1.5"),
        "夜班 4 次",
    )
    report.refresh_from_db()
    assert report.status == ReportStatus.PENDING

    # The head reviews in the approvals inbox: the summary is on the request page.
    client.force_login(head)
    inbox = client.get(reverse("approvals:inbox"))
    assert "Attendance 2026-03" in inbox.text
    detail = client.get(reverse("approvals:detail", args=[attendance.approval_request_for(report).uuid]))
    assert 'data-testid="attendance-lines"' in detail.text and "李住院" in detail.text
    assert decide(client, head, report, "approve").status_code == 302
    assert decide(client, office, report, "approve").status_code == 302
    report.refresh_from_db()
    assert report.status == ReportStatus.APPROVED and report.approved_at is not None

    # Locked: the clerk's page is read-only and a post is refused.
    client.force_login(clerk)
    locked = client.get(reverse("rotation:attendance_report", args=[report.uuid]))
    assert 'data-testid="attendance-form"' not in locked.text and "the month is locked" in locked.text
    refused = client.post(
        reverse("rotation:attendance_report", args=[report.uuid]),
        formset_data(report, {resident_profile.pk: (9, 0, "")}),
    )
    assert refused.status_code == 403
    line.refresh_from_db()
    assert line.duty_days == 4

    # The office reopens: the reason is mandatory, then the clerk may edit again.
    client.force_login(office)
    url = reverse("rotation:attendance_reopen", args=[report.uuid])
    blank = client.post(url, {"reason": ""}, follow=True)
    assert "Give the reason for reopening" in blank.text
    report.refresh_from_db()
    assert report.status == ReportStatus.APPROVED
    client.post(url, {"reason": "值班天数漏报"})
    report.refresh_from_db()
    assert report.status == ReportStatus.OPEN and report.reopen_reason == "值班天数漏报"
    client.force_login(clerk)
    reopened = client.get(reverse("rotation:attendance_report", args=[report.uuid]))
    assert "值班天数漏报" in reopened.text and 'data-testid="attendance-form"' in reopened.text
    client.post(
        reverse("rotation:attendance_report", args=[report.uuid]),
        formset_data(report, {resident_profile.pk: (5, 0, "")}),
    )
    line.refresh_from_db()
    assert line.duty_days == 5
    actions = [e["action"] for e in audit_events]
    for action in ("open", "edit", "submit", "approve", "reopen"):
        assert f"rotation.attendance.{action}" in actions


def test_a_returned_month_shows_the_comment_and_is_submitted_again(client, clerk, head, resident_profile, report):
    attendance.attendance_report_submit(report=report, acting_user=clerk)
    assert decide(client, head, report, "return").status_code == 400  # a return needs a comment
    report.refresh_from_db()
    assert report.status == ReportStatus.PENDING
    decide(client, head, report, "return", comment="值班天数请核对")
    report.refresh_from_db()
    assert report.status == ReportStatus.RETURNED

    client.force_login(clerk)
    url = reverse("rotation:attendance_report", args=[report.uuid])
    page = client.get(url)
    assert "值班天数请核对" in page.text and 'data-testid="attendance-form"' in page.text
    client.post(url, formset_data(report, {resident_profile.pk: (6, 0, "")}, then="submit"))
    report.refresh_from_db()
    request = attendance.approval_request_for(report)
    assert report.status == ReportStatus.PENDING and request.status == RequestStatus.PENDING
    assert list(request.current_approvers.all()) == [head]


def test_resubmitting_from_the_approvals_page_puts_the_report_back_in_review(client, clerk, head, report):
    attendance.attendance_report_submit(report=report, acting_user=clerk)
    decide(client, head, report, "return", comment="请补充")
    client.force_login(clerk)
    request = attendance.approval_request_for(report)
    client.post(reverse("approvals:resubmit", args=[request.uuid]), {"comment": ""})
    page = client.get(reverse("rotation:attendance_report", args=[report.uuid]))
    report.refresh_from_db()
    assert report.status == ReportStatus.PENDING
    assert 'data-testid="attendance-form"' not in page.text


def test_refresh_adds_leave_approved_after_opening(client, clerk, resident_profile, report, approved_leave):
    assert report.lines.get().leave_days == 0  # opened before the leave was approved
    client.force_login(clerk)
    response = client.post(reverse("rotation:attendance_refresh", args=[report.uuid]), follow=True)
    assert "1 updated" in response.text
    assert report.lines.get().leave_days == Decimal(5)


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duty", "absence", "message"),
    [
        ("-1", "0", "Duty days cannot be negative."),
        ("0", "-1", "Absence days cannot be negative."),
        ("40", "0", "Duty days cannot be more than the 31 days of the month."),
        ("0", "0.3", "Absence days are counted in half days (0.5)."),
        ("0", "18", "Leave (5) and absence (18) together cannot exceed the 22 scheduled working days."),
        ("x", "0", "Enter a whole number."),
    ],
)
def test_bad_figures_are_refused_with_a_clear_message_and_nothing_is_saved(
    client, clerk, resident_profile, approved_leave, report, duty, absence, message
):
    client.force_login(clerk)
    response = client.post(
        reverse("rotation:attendance_report", args=[report.uuid]),
        formset_data(report, {resident_profile.pk: (duty, absence, "changed")}, then="submit"),
    )
    assert response.status_code == 400
    assert message in response.text and "nothing was saved" in response.text
    line = report.lines.get()
    assert (line.duty_days, line.absence_days, line.note) == (0, Decimal(0), "")
    report.refresh_from_db()
    assert report.status == ReportStatus.OPEN


def test_opening_needs_a_month(client, org, clerk, march_block):
    client.force_login(clerk)
    response = client.post(
        reverse("rotation:attendance_open", args=[org.cardiology.uuid]), {"month": "soon"}, follow=True
    )
    assert "Choose a month." in response.text
    assert not AttendanceReport.objects.exists()


# --- permission matrix -----------------------------------------------------------------------------

READERS = {
    "anonymous": LOGIN,
    "outsider": 403,
    "resident": 403,
    "supervisor": 403,
    "sysadmin": 403,
    "auditor": 403,
    "other_director": 404,
    "clerk": 200,
    "secretary": 200,
    "head": 200,
    "director": 200,
    "office": 200,
}


def test_who_sees_the_report(client, personas, report):
    assert_access(client, personas, READERS, reverse("rotation:attendance_report", args=[report.uuid]))


def test_who_may_change_the_report(client, personas, report):
    url = reverse("rotation:attendance_report", args=[report.uuid])
    writers = {**READERS, "clerk": 302, "secretary": 403, "head": 403, "director": 403, "office": 403}
    assert_access(client, personas, writers, url, method="post", data=formset_data(report))
    refresh = reverse("rotation:attendance_refresh", args=[report.uuid])
    assert_access(client, personas, writers, refresh, method="post")


def test_who_may_submit_and_reopen(client, personas, clerk, head, office, report):
    submit = reverse("rotation:attendance_submit", args=[report.uuid])
    others = {k: v for k, v in READERS.items() if k != "clerk"}
    others.update(secretary=403, head=403, director=403, office=403)
    assert_access(client, personas, others, submit, method="post")
    assert_access(client, personas, {"clerk": 302}, submit, method="post")
    report.refresh_from_db()
    assert report.status == ReportStatus.PENDING
    reopen = reverse("rotation:attendance_reopen", args=[report.uuid])
    not_yet = {k: (403 if v == 200 else v) for k, v in READERS.items()}
    assert_access(client, personas, not_yet, reopen, method="post", data={"reason": "x"})  # not approved yet
    decide(client, head, report, "approve")
    decide(client, office, report, "approve")
    everyone_else = {k: v for k, v in not_yet.items() if k != "office"}
    assert_access(client, personas, everyone_else, reopen, method="post", data={"reason": "x"})
    assert_access(client, personas, {"office": 302}, reopen, method="post", data={"reason": "x"})


def test_who_may_open_a_month(client, personas, org, march_block):
    url = reverse("rotation:attendance_open", args=[org.cardiology.uuid])
    expected = {**READERS, "clerk": 302, "secretary": 403, "head": 403, "director": 403, "office": 403}
    assert_access(client, personas, expected, url, method="post", data={"month": "2026-03"})
    assert AttendanceReport.objects.filter(department=org.cardiology).count() == 1


def test_a_clerk_of_one_department_cannot_report_another(client, org, clerk, surgery_clerk, surgery_report, report):
    client.force_login(clerk)
    open_other = client.post(reverse("rotation:attendance_open", args=[org.general_surgery.uuid]), {"month": "2026-04"})
    assert open_other.status_code == 404
    for name in ("attendance_report", "attendance_refresh", "attendance_submit"):
        method = client.get if name == "attendance_report" else client.post
        assert method(reverse(f"rotation:{name}", args=[surgery_report.uuid])).status_code == 404
    client.force_login(surgery_clerk)
    assert client.get(reverse("rotation:attendance_report", args=[report.uuid])).status_code == 404
    assert AttendanceReport.objects.filter(department=org.general_surgery).count() == 1


def test_who_opens_the_lists(client, personas, report):
    lists = {
        "anonymous": LOGIN,
        "outsider": 403,
        "resident": 403,
        "supervisor": 403,
        "sysadmin": 403,
        "auditor": 403,
        "other_director": 200,
        "clerk": 200,
        "secretary": 200,
        "head": 200,
        "director": 200,
        "office": 200,
    }
    for name in ("attendance_reports", "attendance_statistics", "attendance_export"):
        assert_access(client, personas, lists, reverse(f"rotation:{name}"))
    index = {**lists, "other_director": 302, "director": 302, "office": 302}  # no department: the report list
    assert_access(client, personas, index, reverse("rotation:attendance"))


def test_lists_show_only_the_reports_in_scope(client, org, other_director, director, report, surgery_report):
    client.force_login(other_director)
    page = client.get(reverse("rotation:attendance_reports"))
    assert page.text.count('data-testid="report-row"') == 1 and org.general_surgery.name in page.text
    stats = client.get(reverse("rotation:attendance_statistics"))
    assert "李住院" not in stats.text and "王外科" in stats.text
    client.force_login(director)
    stats = client.get(reverse("rotation:attendance_statistics"), {"department": org.general_surgery.pk})
    assert stats.status_code == 200 and "王外科" not in stats.text  # another base's department is no choice


def test_the_lists_do_not_query_per_row(client, org, clerk, office, django_assert_max_num_queries):
    for _ in range(4):
        profile = ResidentProfileFactory(base=org.internal)
        RotationBlockFactory(
            resident=profile,
            department=org.cardiology,
            start_date=datetime.date(2026, 1, 1),
            end_date=datetime.date(2026, 6, 30),
        )
    for month in (1, 2, 3, 4):
        attendance.attendance_report_open(
            department=org.cardiology, month=datetime.date(2026, month, 1), acting_user=clerk
        )
    client.force_login(office)
    with django_assert_max_num_queries(13):
        assert client.get(reverse("rotation:attendance_reports")).status_code == 200
    with django_assert_max_num_queries(13):
        assert client.get(reverse("rotation:attendance_statistics")).status_code == 200


# --- statistics and export -------------------------------------------------------------------------


def test_statistics_filter_by_month_range_and_group(client, org, clerk, office, resident_profile, march_block):
    for month in (MARCH, datetime.date(2026, 4, 1)):
        report = attendance.attendance_report_open(department=org.cardiology, month=month, acting_user=clerk)
        line = report.lines.get()
        attendance.attendance_lines_update(report=report, values={line.pk: {"duty_days": 3}}, acting_user=clerk)
    client.force_login(office)
    url = reverse("rotation:attendance_statistics")
    april = client.get(url, {"month_from": "2026-04", "month_to": "2026-04", "by": "month"})
    assert april.text.count('data-testid="statistics-row"') == 1 and "2026-04" in april.text
    both = client.get(url, {"by": "month"})
    assert both.text.count('data-testid="statistics-row"') == 2
    bad = client.get(url, {"month_from": "March"})
    assert bad.status_code == 200 and "Enter a month as YYYY-MM." in bad.text


def test_the_export_asks_for_the_password_and_is_audited(
    client, org, clerk, office, resident_profile, approved_leave, report, audit_events
):
    line = report.lines.get()
    attendance.attendance_lines_update(report=report, values={line.pk: {"duty_days": 4}}, acting_user=clerk)
    attendance.attendance_report_refresh(report=report, acting_user=clerk)
    client.force_login(office)
    url = reverse("rotation:attendance_export") + "?by=resident&month_from=2026-03"
    confirm = client.get(url)
    assert confirm.status_code == 200 and "password" in confirm.text.lower()
    wrong = client.post(url, {"password": "nope"})
    assert wrong.status_code == 200 and "not correct" in wrong.text
    response = client.post(url, {"password": PASSWORD})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert "孙培训" in rows[0][0]  # the watermark names the exporter
    assert rows[2][:7] == ["Name", "Specialty base", "Months reported", "Scheduled working days", "Leave days",
                           "Duty days", "Absence days"]  # fmt: skip
    assert rows[3][:7] == ["李住院", org.internal.name, 1, 22, 5, 4, 0]
    exported = [e for e in audit_events if e["action"] == "rotation.attendance.export"]
    assert [e["outcome"] for e in exported] == ["failure", "success"]
    assert exported[-1]["extra"]["rows"] == "1"


# --- menu and home ---------------------------------------------------------------------------------


def test_the_menu_and_home_panel(client, personas, clerk, head, report):
    for name in ("clerk", "secretary", "head", "director", "office"):
        assert "rotation:attendance" in [i.url_name for i in items_for(personas[name])], name
    for name in ("resident", "supervisor", "outsider", "auditor"):
        assert "rotation:attendance" not in [i.url_name for i in items_for(personas[name])], name
    client.force_login(head)
    home = client.get(reverse("core:home"))  # the status is in the department panel (rotation/nav_department.py)
    assert 'data-testid="department-attendance"' in home.text and "Not opened" in home.text  # this month, not March
    client.force_login(personas["director"])
    assert 'data-testid="department-attendance"' not in client.get(reverse("core:home")).text


def test_the_home_panel_shows_this_months_status(rf, clerk, org):
    from rotation import nav_department

    today = datetime.date(2026, 3, 20)
    AttendanceReport.objects.create(department=org.cardiology, month=MARCH, opened_by=clerk)
    request = rf.get("/")
    request.user = clerk
    (row,) = nav_department.department_home(request, today=today)["rows"]
    assert row["report"].status == ReportStatus.OPEN
    assert AttendanceLine.objects.count() == 0
