"""Leave services: the arithmetic other areas read, the chains by length, withdraw, 销假, the ledger, the pins."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

import rotation.workflows_leave  # noqa: F401  (registers the workflow until apps.ready does)
from approvals.choices import ActionKind, RequestStatus
from approvals.models import ApprovalAction, ApprovalRequest
from approvals.services import ApprovalConflict, approval_decide, approval_resubmit, approval_withdraw
from core.permissions import can
from rotation.choices import LeaveKind, LeaveStatus, MakeupKind
from rotation.models import LeaveAttachment, LeaveRequest, LeaveSettings, MakeupEntry
from rotation.scheduling.problem import LEAVE
from rotation.services import leave as services
from rotation.services.problems import pins
from tests.factories.residents import RotationBlockFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]

D = datetime.date
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def block(org, resident_profile, supervisor, today):
    """李住院 in 心血管内科 from 120 days ago to 60 days ahead, supervised by 张带教."""
    return RotationBlockFactory(
        resident=resident_profile,
        department=org.cardiology,
        supervisor=supervisor,
        start_date=today - datetime.timedelta(days=120),
        end_date=today + datetime.timedelta(days=60),
    )


@pytest.fixture
def approvers(supervisor, head, director, office):
    return {"supervisor": supervisor, "head": head, "director": director, "office": office}


def submit(profile, start, end, kind=LeaveKind.PERSONAL, **kwargs):
    return services.leave_request_submit(
        resident=profile,
        kind=kind,
        start_date=start,
        end_date=end,
        reason=kwargs.pop("reason", "家中有事"),
        acting_user=profile.user,
        **kwargs,
    )


def approve_all(leave) -> list[str]:
    """Each current approver approves in turn; returns the usernames in order."""
    deciders = []
    approval = services.approval_request_for(leave)
    while approval.status == RequestStatus.PENDING:
        user = approval.current_approvers.order_by("pk").first()
        deciders.append(user.username)
        approval = approval_decide(
            request=approval, decision=ActionKind.APPROVE, acting_user=user, expected_version=approval.version
        )
    return deciders


# ---------------------------------------------------------------- arithmetic


def test_days_are_calendar_days_minus_half_days():
    assert services.leave_days(D(2026, 3, 2), D(2026, 3, 6)) == 5
    assert services.leave_days(D(2026, 3, 2), D(2026, 3, 6), start_afternoon=True) == Decimal("4.5")
    assert services.leave_days(D(2026, 3, 2), D(2026, 3, 6), start_afternoon=True, end_morning=True) == 4
    assert services.leave_days(D(2026, 3, 2), D(2026, 3, 2), end_morning=True) == Decimal("0.5")
    assert services.leave_days(D(2026, 2, 27), D(2026, 3, 2)) == 4  # the weekend counts


def test_a_leave_ending_at_noon_and_one_starting_that_afternoon_do_not_overlap():
    morning = services.Span(D(2026, 3, 2), D(2026, 3, 4), end_morning=True)
    afternoon = services.Span(D(2026, 3, 4), D(2026, 3, 6), start_afternoon=True)
    assert not morning.overlaps(afternoon)
    assert morning.overlaps(services.Span(D(2026, 3, 4), D(2026, 3, 4)))


def test_approved_leave_days_counts_the_overlap_with_a_period_with_half_days_and_the_return(
    resident_profile, block, approvers, today
):
    start = block.start_date + datetime.timedelta(days=10)
    leave = submit(resident_profile, start, start + datetime.timedelta(days=9), start_afternoon=True)  # 9.5 days
    approve_all(leave)
    ids = [resident_profile.pk]
    assert services.approved_leave_days(ids, start, start + datetime.timedelta(days=9)) == {
        resident_profile.pk: Decimal("9.5")
    }
    # a period covering the last 3 days only: no half day there
    assert services.approved_leave_days(ids, start + datetime.timedelta(days=7), today) == {resident_profile.pk: 3}
    # the first day alone is half a day
    assert services.approved_leave_days(ids, start, start) == {resident_profile.pk: Decimal("0.5")}
    assert (
        services.approved_leave_days(ids, start - datetime.timedelta(days=5), start - datetime.timedelta(days=1)) == {}
    )
    # 销假: back on the 5th day -> the leave is the afternoon of day 1 to day 4 = 3.5 days
    leave.refresh_from_db()
    services.leave_request_report_back(
        leave=leave, returned_on=start + datetime.timedelta(days=4), acting_user=resident_profile.user
    )
    assert services.approved_leave_days(ids, block.start_date, block.end_date) == {resident_profile.pk: Decimal("3.5")}
    assert services.on_leave(start + datetime.timedelta(days=3), ids) == {resident_profile.pk}
    assert services.on_leave(start + datetime.timedelta(days=4), ids) == set()
    assert services.block_leave_days(block) == Decimal("3.5")
    assert services.cumulative_leave_days(resident_profile) == Decimal("3.5")


def test_pending_and_rejected_leave_count_for_nothing(resident_profile, block, approvers):
    start = block.start_date + datetime.timedelta(days=3)
    submit(resident_profile, start, start + datetime.timedelta(days=1))
    assert services.approved_leave_days([resident_profile.pk], block.start_date, block.end_date) == {}
    assert services.on_leave(start, [resident_profile.pk]) == set()


def test_leave_above_a_third_of_the_block_fails_it(org, resident_profile, supervisor, approvers, today):
    block = RotationBlockFactory(
        resident=resident_profile,
        department=org.cardiology,
        supervisor=supervisor,
        start_date=today - datetime.timedelta(days=29),
        end_date=today,
    )  # 30 days: a third is 9.99
    leave = submit(resident_profile, block.start_date, block.start_date + datetime.timedelta(days=8))  # 9 days
    approve_all(leave)
    assert services.block_leave_exceeds(block) is False
    second = submit(
        resident_profile, block.start_date + datetime.timedelta(days=9), block.start_date + datetime.timedelta(days=9)
    )
    approve_all(second)
    assert services.block_leave_days(block) == 10
    assert services.block_leave_exceeds(block) is True


def test_settings_are_created_with_the_shipped_examples(org, resident_profile):
    rules = services.settings_for_resident(resident_profile)
    assert rules.hospital == org.hospital
    assert rules.block_fail_ratio == Decimal("0.333")
    assert rules.extension_rules == [{"over_days": 90, "extend_months": 6}, {"over_days": 180, "extend_months": 12}]
    assert (rules.makeup_over_days, rules.annual_leave_days) == (30, 5)
    assert LeaveSettings.objects.count() == 1


def test_extension_by_cumulative_leave_follows_the_rules(resident_profile, block, approvers, office, audit_events):
    start = block.start_date
    approve_all(submit(resident_profile, start, start + datetime.timedelta(days=49), kind=LeaveKind.SICK))  # 50
    assert services.extension_due(resident_profile) == 0
    approve_all(
        submit(
            resident_profile,
            start + datetime.timedelta(days=50),
            start + datetime.timedelta(days=91),
            kind=LeaveKind.SICK,
        )
    )  # +42 = 92
    assert services.cumulative_leave_days(resident_profile) == 92
    assert services.extension_due(resident_profile) == 6
    rules = services.settings_for_resident(resident_profile)
    services.leave_settings_update(
        rules=rules, values={"extension_rules": [{"over_days": 60, "extend_months": 12}]}, acting_user=office
    )
    assert services.extension_due(resident_profile) == 12
    assert any(e["action"] == "rotation.leave.settings" for e in audit_events)


# ---------------------------------------------------------------- chains by length


def test_a_five_day_leave_goes_through_three_approvers_and_skips_the_office(resident_profile, block, approvers):
    start = block.start_date + datetime.timedelta(days=20)
    leave = submit(resident_profile, start, start + datetime.timedelta(days=4))
    assert leave.days == 5 and leave.block == block and leave.status == LeaveStatus.PENDING
    assert approve_all(leave) == ["supervisor", "head", "director"]
    leave.refresh_from_db()
    assert leave.status == LeaveStatus.APPROVED and leave.decided_at is not None
    approval = services.approval_request_for(leave)
    skipped = ApprovalAction.objects.filter(request=approval, kind=ActionKind.SKIP).values_list("step__name", flat=True)
    assert list(skipped) == ["Training office"]
    assert approval.department == block.department and approval.base == resident_profile.base
    assert approval.context["days"] == 5.0
    assert not MakeupEntry.objects.exists()


def test_a_forty_day_leave_goes_through_four_and_owes_ten_days(resident_profile, block, approvers):
    leave = submit(
        resident_profile, block.start_date, block.start_date + datetime.timedelta(days=39), kind=LeaveKind.SICK
    )
    assert approve_all(leave) == ["supervisor", "head", "director", "office"]
    owed = MakeupEntry.objects.get()
    assert (owed.kind, owed.days, owed.leave) == (MakeupKind.OWED, 10, leave)
    assert services.makeup_balance(resident_profile) == 10
    services.makeup_record(
        resident=resident_profile,
        days=Decimal("4"),
        day=block.end_date,
        note="周末补班",
        acting_user=approvers["office"],
    )
    assert services.makeup_balance(resident_profile) == 6


def test_three_days_or_fewer_need_two_approvers(resident_profile, block, approvers):
    start = block.start_date + datetime.timedelta(days=5)
    leave = submit(resident_profile, start, start + datetime.timedelta(days=2))
    assert approve_all(leave) == ["supervisor", "head"]


def test_without_a_supervisor_the_first_step_falls_to_the_office(resident_profile, block, approvers):
    block.supervisor = None
    block.save()
    start = block.start_date + datetime.timedelta(days=5)
    leave = submit(resident_profile, start, start)
    assert approve_all(leave) == ["office", "head"]


def test_a_rejection_tells_the_resident_why(resident_profile, block, approvers):
    from notices.models import Notification

    start = block.start_date + datetime.timedelta(days=5)
    leave = submit(resident_profile, start, start)
    approval = services.approval_request_for(leave)
    approval_decide(
        request=approval,
        decision=ActionKind.REJECT,
        acting_user=approvers["supervisor"],
        expected_version=approval.version,
        comment="科室人手不足",
    )
    leave.refresh_from_db()
    assert leave.status == LeaveStatus.REJECTED
    note = Notification.objects.get(user=resident_profile.user)
    assert "not approved" in note.title and note.body == "科室人手不足"


# ---------------------------------------------------------------- withdraw, 销假


def test_withdraw_before_the_first_decision_only(resident_profile, block, approvers):
    start = block.start_date + datetime.timedelta(days=5)
    first = submit(resident_profile, start, start + datetime.timedelta(days=4))
    first = services.leave_request_withdraw(leave=first, acting_user=resident_profile.user)
    assert first.status == LeaveStatus.WITHDRAWN
    assert services.approval_request_for(first).status == RequestStatus.WITHDRAWN
    second = submit(resident_profile, start, start + datetime.timedelta(days=4))  # the days are free again
    approval = services.approval_request_for(second)
    approval_decide(
        request=approval,
        decision=ActionKind.APPROVE,
        acting_user=approvers["supervisor"],
        expected_version=approval.version,
    )
    with pytest.raises(ValidationError, match="already agreed"):
        services.leave_request_withdraw(leave=second, acting_user=resident_profile.user)
    # nor through the approval engine's own page
    approval = services.approval_request_for(second)
    assert not can(resident_profile.user, "withdraw", approval)
    with pytest.raises(ApprovalConflict, match="already agreed"):
        approval_withdraw(request=approval, acting_user=resident_profile.user)
    second.refresh_from_db()
    assert second.status == LeaveStatus.PENDING


def test_a_returned_leave_sent_again_from_the_approvals_page_is_pending_again(resident_profile, block, approvers):
    start = block.start_date + datetime.timedelta(days=5)
    leave = submit(resident_profile, start, start)
    approval = services.approval_request_for(leave)
    approval = approval_decide(
        request=approval,
        decision=ActionKind.RETURN,
        acting_user=approvers["supervisor"],
        expected_version=approval.version,
        comment="请附病假条",
    )
    leave.refresh_from_db()
    assert leave.status == LeaveStatus.RETURNED
    approval_resubmit(request=approval, acting_user=resident_profile.user)
    leave.refresh_from_db()
    assert leave.status == LeaveStatus.PENDING and leave.decided_at is None
    with pytest.raises(ValidationError):  # pending again: it blocks an overlapping request
        submit(resident_profile, start, start)


def test_report_back_shortens_the_leave_and_the_debt_but_never_extends(
    resident_profile, block, approvers, audit_events
):
    leave = submit(resident_profile, block.start_date, block.start_date + datetime.timedelta(days=39))
    approve_all(leave)
    leave.refresh_from_db()
    with pytest.raises(ValidationError, match="at the latest"):
        services.leave_request_report_back(
            leave=leave, returned_on=leave.end_date + datetime.timedelta(days=2), acting_user=resident_profile.user
        )
    leave = services.leave_request_report_back(
        leave=leave, returned_on=block.start_date + datetime.timedelta(days=35), acting_user=resident_profile.user
    )
    assert leave.days == 35
    assert MakeupEntry.objects.get(leave=leave).days == 5
    assert services.makeup_balance(resident_profile) == 5
    assert any(e["action"] == "rotation.leave.report_back" for e in audit_events)
    with pytest.raises(ValidationError):
        services.leave_request_report_back(
            leave=leave, returned_on=leave.returned_on, acting_user=resident_profile.user
        )


def test_report_back_cannot_be_in_the_future(resident_profile, block, approvers, today):
    leave = submit(resident_profile, today, today + datetime.timedelta(days=3))
    approve_all(leave)
    leave.refresh_from_db()
    with pytest.raises(ValidationError, match="future"):
        services.leave_request_report_back(
            leave=leave, returned_on=today + datetime.timedelta(days=2), acting_user=resident_profile.user
        )


# ---------------------------------------------------------------- bad input: refused, nothing saved


def _nothing_saved():
    assert not LeaveRequest.objects.exists()
    assert not LeaveAttachment.objects.exists()
    assert not ApprovalRequest.objects.exists()


@pytest.mark.parametrize(
    ("offsets", "message"),
    [
        ((-130, -125), "no rotation block"),
        ((55, 65), "within one rotation block"),
        ((10, 5), "cannot end before it starts"),
    ],
)
def test_dates_outside_the_rotation_or_reversed_are_refused(
    resident_profile, block, approvers, today, offsets, message
):
    with pytest.raises(ValidationError, match=message):
        submit(
            resident_profile, today + datetime.timedelta(days=offsets[0]), today + datetime.timedelta(days=offsets[1])
        )
    _nothing_saved()


def test_overlapping_leave_is_refused(resident_profile, block, approvers):
    start = block.start_date + datetime.timedelta(days=10)
    submit(resident_profile, start, start + datetime.timedelta(days=4), end_morning=True)
    with pytest.raises(ValidationError, match="overlap your waiting for approval leave"):
        submit(resident_profile, start + datetime.timedelta(days=4), start + datetime.timedelta(days=6))
    assert LeaveRequest.objects.count() == 1
    # starting in the afternoon of the day the other ends at noon is fine
    submit(
        resident_profile, start + datetime.timedelta(days=4), start + datetime.timedelta(days=6), start_afternoon=True
    )
    assert LeaveRequest.objects.count() == 2


def test_annual_leave_beyond_the_yearly_days_is_refused(resident_profile, block, approvers):
    start = block.start_date + datetime.timedelta(days=10)
    with pytest.raises(ValidationError, match="Annual leave is 5 days a year"):
        submit(resident_profile, start, start + datetime.timedelta(days=5), kind=LeaveKind.ANNUAL)
    _nothing_saved()


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            SimpleUploadedFile("sick-note.pdf", PDF + b"0" * (40 * 1024 * 1024), content_type="application/pdf"),
            "at most",
        ),
        (
            SimpleUploadedFile(
                "sick-note.pdf", b"<html><script>alert(1)</script></html>", content_type="application/pdf"
            ),
            "is not a PDF file",
        ),
        (
            SimpleUploadedFile("note.docx", b"PK\x03\x04", content_type="application/msword"),
            "not an accepted file type",
        ),
    ],
    ids=["40MB", "html-as-pdf", "docx"],
)
def test_bad_attachments_are_refused_and_nothing_is_saved(resident_profile, block, approvers, upload, message):
    start = block.start_date + datetime.timedelta(days=10)
    with pytest.raises(ValidationError, match=message):
        submit(resident_profile, start, start, kind=LeaveKind.SICK, files=[upload])
    _nothing_saved()


def test_a_sick_note_is_stored(resident_profile, block, approvers):
    start = block.start_date + datetime.timedelta(days=10)
    leave = submit(
        resident_profile,
        start,
        start,
        kind=LeaveKind.SICK,
        files=[SimpleUploadedFile("病假条.pdf", PDF, content_type="application/pdf")],
    )
    attachment = leave.attachments.get()
    assert (attachment.original_name, attachment.content_type, attachment.size) == (
        "病假条.pdf",
        "application/pdf",
        len(PDF),
    )


# ---------------------------------------------------------------- scheduler pins


def test_months_fully_on_leave_are_pinned_and_partial_months_are_not(org, resident_profile, supervisor, approvers):
    block = RotationBlockFactory(
        resident=resident_profile,
        department=org.cardiology,
        supervisor=supervisor,
        start_date=D(2026, 3, 1),
        end_date=D(2026, 8, 31),
    )
    # 2026-03-15 .. 2026-05-31: March partial, April and May full
    approve_all(submit(resident_profile, D(2026, 3, 15), D(2026, 4, 30), kind=LeaveKind.MATERNITY))
    approve_all(submit(resident_profile, D(2026, 5, 1), D(2026, 5, 31), kind=LeaveKind.MATERNITY))
    # June: all but a half day
    approve_all(submit(resident_profile, D(2026, 6, 1), D(2026, 6, 30), kind=LeaveKind.SICK, end_morning=True))
    got = services.approved_leave_pins([resident_profile.pk], D(2026, 2, 1), 6)
    assert got == {resident_profile.pk: {2: LEAVE, 3: LEAVE, 4: LEAVE}}  # Apr, May and June (half days still count)
    assert services.approved_leave_pins([resident_profile.pk], D(2026, 7, 1), 3) == {}
    assert services.approved_leave_pins in pins._functions
    assert block.pk
