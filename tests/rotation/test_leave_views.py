"""Leave pages, end to end as the real roles: ask, approve in the approval engine, 销假, lists, rules, the ledger."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

import rotation.nav_leave  # noqa: F401  (nav and home panel, until apps.ready imports them)
import rotation.workflows_leave  # noqa: F401
from approvals.choices import RequestStatus
from rotation.choices import LeaveKind, LeaveStatus, MakeupKind
from rotation.models import LeaveAttachment, LeaveRequest, LeaveSettings, MakeupEntry
from rotation.services import leave as services
from tests.conftest import PASSWORD
from tests.factories.residents import RotationBlockFactory
from tests.permissions import LOGIN, assert_access

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def block(org, resident_profile, supervisor):
    today = timezone.localdate()
    return RotationBlockFactory(
        resident=resident_profile,
        department=org.cardiology,
        supervisor=supervisor,
        start_date=today - datetime.timedelta(days=120),
        end_date=today + datetime.timedelta(days=60),
    )


@pytest.fixture
def everyone(personas, resident_profile, other_profile, block):
    return personas


def _form(start, end, **extra):
    return {
        "kind": LeaveKind.SICK,
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "reason": "发热，需休息",
        **extra,
    }


def _decide(client, user, leave, decision="approve", comment=""):
    approval = services.approval_request_for(leave)
    client.force_login(user)
    return client.post(
        reverse("approvals:decide", args=[approval.uuid]),
        {"decision": decision, "version": approval.version, "comment": comment},
    )


@pytest.fixture
def leave(resident_profile, block, supervisor, head, director, office):
    start = block.start_date + datetime.timedelta(days=30)
    return services.leave_request_submit(
        resident=resident_profile,
        kind=LeaveKind.SICK,
        start_date=start,
        end_date=start + datetime.timedelta(days=4),
        reason="发热",
        acting_user=resident_profile.user,
        files=[SimpleUploadedFile("病假条.pdf", PDF, content_type="application/pdf")],
    )


# ---------------------------------------------------------------- end to end


def test_a_five_day_leave_with_a_sick_note_goes_through_three_approvers(
    client, resident_profile, block, supervisor, head, director, office, outsider
):
    client.force_login(resident_profile.user)
    assert client.get(reverse("rotation:leave_new")).status_code == 200
    start = block.start_date + datetime.timedelta(days=40)
    note = SimpleUploadedFile("sick.pdf", PDF, content_type="application/pdf")
    response = client.post(
        reverse("rotation:leave_new"), {**_form(start, start + datetime.timedelta(days=4)), "attachments": [note]}
    )
    leave = LeaveRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("rotation:leave_detail", args=[leave.uuid])
    assert leave.days == 5 and leave.attachments.count() == 1

    for approver in (supervisor, head, director):
        client.force_login(approver)
        assert "Leave: 李住院" in client.get(reverse("approvals:inbox")).content.decode()
        assert _decide(client, approver, leave).status_code == 302
    leave.refresh_from_db()
    assert leave.status == LeaveStatus.APPROVED
    assert services.approval_request_for(leave).status == RequestStatus.APPROVED

    client.force_login(resident_profile.user)
    page = client.get(reverse("rotation:leave_detail", args=[leave.uuid])).content.decode()
    assert "Approved" in page and "Skipped" in page and "Training office" in page
    attachment = leave.attachments.get()
    download = client.get(reverse("rotation:leave_attachment", args=[leave.uuid, attachment.pk]))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    b"".join(download.streaming_content)
    client.force_login(outsider)
    assert client.get(reverse("rotation:leave_attachment", args=[leave.uuid, attachment.pk])).status_code == 404


def test_the_approver_sees_the_leave_on_the_approval_page(client, leave, supervisor):
    approval = services.approval_request_for(leave)
    client.force_login(supervisor)
    page = client.get(reverse("approvals:detail", args=[approval.uuid])).content.decode()
    assert "病假条.pdf" in page and "5 " in page and reverse("rotation:leave_detail", args=[leave.uuid]) in page


def test_the_resident_withdraws_before_anyone_decided(client, leave, resident_profile, supervisor):
    client.force_login(resident_profile.user)
    page = client.get(reverse("rotation:leave_detail", args=[leave.uuid])).content.decode()
    assert 'data-testid="withdraw"' in page
    response = client.post(reverse("rotation:leave_withdraw", args=[leave.uuid]))
    assert response.status_code == 302
    leave.refresh_from_db()
    assert leave.status == LeaveStatus.WITHDRAWN


def test_after_the_first_approval_withdraw_is_refused_with_a_message(client, leave, resident_profile, supervisor):
    _decide(client, supervisor, leave)
    client.force_login(resident_profile.user)
    assert (
        'data-testid="withdraw"' not in client.get(reverse("rotation:leave_detail", args=[leave.uuid])).content.decode()
    )
    response = client.post(reverse("rotation:leave_withdraw", args=[leave.uuid]), follow=True)
    assert "can no longer be withdrawn" in response.content.decode()
    leave.refresh_from_db()
    assert leave.status == LeaveStatus.PENDING


def test_report_back_through_the_page_shortens_the_leave(client, leave, resident_profile, supervisor, head, director):
    for approver in (supervisor, head, director):
        _decide(client, approver, leave)
    client.force_login(resident_profile.user)
    url = reverse("rotation:leave_report_back", args=[leave.uuid])
    assert client.get(url).status_code == 200
    late = client.post(url, {"returned_on": (leave.end_date + datetime.timedelta(days=3)).isoformat()})
    assert late.status_code == 400 and "at the latest" in late.content.decode()
    response = client.post(url, {"returned_on": (leave.start_date + datetime.timedelta(days=2)).isoformat()})
    assert response.status_code == 302
    leave.refresh_from_db()
    assert leave.days == 2 and leave.returned_on == leave.start_date + datetime.timedelta(days=2)
    assert client.get(url).status_code == 403  # once only


# ---------------------------------------------------------------- bad input through the form


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("outside", "no rotation block"),
        ("overlap", "overlap your"),
        ("reversed", "cannot end before it starts"),
        ("huge", "at most 10.0"),
        ("html", "is not a PDF file"),
    ],
)
def test_bad_requests_are_refused_with_a_clear_message_and_nothing_saved(
    client, resident_profile, block, supervisor, head, case, message
):
    today = timezone.localdate()
    start = block.start_date + datetime.timedelta(days=10)
    if case == "overlap":
        services.leave_request_submit(
            resident=resident_profile,
            kind=LeaveKind.PERSONAL,
            start_date=start,
            end_date=start + datetime.timedelta(days=1),
            reason="事",
            acting_user=resident_profile.user,
        )
    before = LeaveRequest.objects.count()
    data = _form(start, start + datetime.timedelta(days=2))
    if case == "outside":
        data = _form(today + datetime.timedelta(days=90), today + datetime.timedelta(days=92))
    elif case == "reversed":
        data = _form(start + datetime.timedelta(days=3), start)
    elif case == "huge":
        data["attachments"] = [
            SimpleUploadedFile("scan.pdf", PDF + b"0" * (40 * 1024 * 1024), content_type="application/pdf")
        ]
    elif case == "html":
        data["attachments"] = [
            SimpleUploadedFile("note.pdf", b"<!DOCTYPE html><html></html>", content_type="application/pdf")
        ]
    client.force_login(resident_profile.user)
    response = client.post(reverse("rotation:leave_new"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert LeaveRequest.objects.count() == before
    assert not LeaveAttachment.objects.exists()


# ---------------------------------------------------------------- permission matrix


def test_my_leave_and_new_request_are_the_residents(client, everyone):
    expected = {
        "anonymous": LOGIN,
        "resident": 200,
        "other_resident": 200,
        "supervisor": 403,
        "head": 403,
        "office": 403,
        "outsider": 403,
    }
    assert_access(client, everyone, expected, reverse("rotation:leave_mine"))
    assert_access(client, everyone, expected, reverse("rotation:leave_new"))


def test_a_request_is_seen_by_the_block_the_base_and_the_office(client, everyone, leave):
    expected = {
        "anonymous": LOGIN,
        "resident": 200,
        "supervisor": 200,
        "secretary": 200,
        "head": 200,
        "clerk": 200,
        "director": 200,
        "office": 200,
        "other_resident": 404,
        "other_director": 404,
        "sysadmin": 404,
        "auditor": 404,
        "outsider": 404,
    }
    assert_access(client, everyone, expected, reverse("rotation:leave_detail", args=[leave.uuid]))
    attachment = leave.attachments.get()
    assert_access(client, everyone, expected, reverse("rotation:leave_attachment", args=[leave.uuid, attachment.pk]))


def test_only_the_resident_withdraws_or_reports_back(client, everyone, leave):
    expected = {
        "anonymous": LOGIN,
        "supervisor": 403,
        "head": 403,
        "office": 403,
        "outsider": 404,
        "other_resident": 404,
    }
    assert_access(client, everyone, expected, reverse("rotation:leave_withdraw", args=[leave.uuid]), method="post")
    assert_access(
        client, everyone, {**expected, "resident": 403}, reverse("rotation:leave_report_back", args=[leave.uuid])
    )
    assert_access(
        client, everyone, {"resident": 302}, reverse("rotation:leave_withdraw", args=[leave.uuid]), method="post"
    )


def test_the_leave_list_is_for_departments_bases_and_the_office(client, everyone, leave):
    expected = {
        "anonymous": LOGIN,
        "secretary": 200,
        "head": 200,
        "clerk": 200,
        "director": 200,
        "other_director": 200,
        "office": 200,
        "resident": 403,
        "supervisor": 403,
        "sysadmin": 403,
        "outsider": 403,
    }
    assert_access(client, everyone, expected, reverse("rotation:leave_list"))


def test_the_list_shows_only_leave_in_scope_and_filters(
    client, everyone, leave, other_director, director, django_assert_max_num_queries
):
    client.force_login(other_director)
    assert "发热" not in client.get(reverse("rotation:leave_list")).content.decode()
    assert 'data-testid="leave-row"' not in client.get(reverse("rotation:leave_list")).content.decode()
    client.force_login(director)
    with django_assert_max_num_queries(15):
        page = client.get(reverse("rotation:leave_list")).content.decode()
    assert page.count('data-testid="leave-row"') == 1
    month = f"{leave.start_date:%Y-%m}"
    assert (
        client.get(reverse("rotation:leave_list"), {"month": month, "status": "pending"})
        .content.decode()
        .count('data-testid="leave-row"')
        == 1
    )
    assert (
        client.get(reverse("rotation:leave_list"), {"status": "approved"})
        .content.decode()
        .count('data-testid="leave-row"')
        == 0
    )


def test_the_rules_page_is_the_offices(client, everyone):
    expected = {"anonymous": LOGIN, "office": 200, "director": 403, "head": 403, "resident": 403, "outsider": 403}
    assert_access(client, everyone, expected, reverse("rotation:leave_settings"))


def test_the_ledger_is_for_the_office_and_base_managers(client, everyone, resident_profile):
    MakeupEntry.objects.create(
        resident=resident_profile,
        kind=MakeupKind.OWED,
        days=Decimal(10),
        day=timezone.localdate(),
        created_by=everyone["office"],
    )
    expected = {
        "anonymous": LOGIN,
        "office": 200,
        "director": 200,
        "other_director": 200,
        "head": 403,
        "resident": 403,
        "outsider": 403,
    }
    assert_access(client, everyone, expected, reverse("rotation:leave_ledger"))
    assert_access(client, everyone, expected, reverse("rotation:leave_ledger_export"))
    resident_page = reverse("rotation:leave_makeup", args=[resident_profile.uuid])
    assert_access(client, everyone, {**expected, "other_director": 404}, resident_page)
    post = {"days": "2", "day": timezone.localdate().isoformat(), "note": "补"}
    assert_access(
        client, everyone, {"director": 403, "other_director": 404, "head": 403}, resident_page, method="post", data=post
    )
    assert not MakeupEntry.objects.filter(kind=MakeupKind.MADE_UP).exists()


# ---------------------------------------------------------------- the office's pages


def test_the_office_edits_the_rules_and_bad_values_are_refused(client, office, org, audit_events):
    client.force_login(office)
    url = reverse("rotation:leave_settings")
    page = client.get(url).content.decode()
    assert "90 6" in page and "180 12" in page
    bad = client.post(
        url, {"block_fail_ratio": "1.5", "makeup_over_days": 30, "annual_leave_days": 5, "extension_rules": "90 six"}
    )
    assert bad.status_code == 400
    assert "between 0 and 1" in bad.content.decode() and "whole numbers" in bad.content.decode()
    assert LeaveSettings.objects.get().block_fail_ratio == Decimal("0.333")
    ok = client.post(
        url,
        {"block_fail_ratio": "0.25", "makeup_over_days": 20, "annual_leave_days": 7, "extension_rules": "60 6\n150 12"},
    )
    assert ok.status_code == 302
    rules = LeaveSettings.objects.get(hospital=org.hospital)
    assert (rules.block_fail_ratio, rules.makeup_over_days, rules.annual_leave_days) == (Decimal("0.25"), 20, 7)
    assert rules.extension_rules == [{"over_days": 60, "extend_months": 6}, {"over_days": 150, "extend_months": 12}]
    assert any(e["action"] == "rotation.leave.settings" for e in audit_events)


def test_the_office_records_made_up_days_and_exports_the_ledger(client, office, resident_profile, audit_events):
    MakeupEntry.objects.create(
        resident=resident_profile, kind=MakeupKind.OWED, days=Decimal(10), day=timezone.localdate(), created_by=office
    )
    client.force_login(office)
    url = reverse("rotation:leave_makeup", args=[resident_profile.uuid])
    bad = client.post(url, {"days": "0", "day": timezone.localdate().isoformat()})
    assert bad.status_code == 400 and "above zero" in bad.content.decode()
    assert (
        client.post(url, {"days": "3.5", "day": timezone.localdate().isoformat(), "note": "周末补班"}).status_code
        == 302
    )
    assert services.makeup_balance(resident_profile) == Decimal("6.5")
    ledger = client.get(reverse("rotation:leave_ledger")).content.decode()
    assert "6.5" in ledger and resident_profile.user.real_name in ledger
    response = client.post(reverse("rotation:leave_ledger_export"), {"password": PASSWORD})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = [c for row in sheet.iter_rows(values_only=True) for c in row]
    assert resident_profile.user.real_name in values and 6.5 in values
    assert any(e["action"] == "rotation.makeup.export" for e in audit_events)


def test_the_resident_sees_leave_extension_and_balance_and_the_home_panel(client, leave, resident_profile):
    client.force_login(resident_profile.user)
    page = client.get(reverse("rotation:leave_mine")).content.decode()
    assert 'data-testid="leave-summary"' in page and 'data-testid="leave-row"' in page
    home = client.get(reverse("core:home")).content.decode()
    assert 'data-testid="my-leave-panel"' in home and "waiting for approval" in home
