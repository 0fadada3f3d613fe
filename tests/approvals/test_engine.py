"""The approval engine through its services: chains as data, conditions, every transition."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from approvals.choices import ActionKind, RequestStatus
from approvals.models import ApprovalChain, ApprovalStep
from approvals.selectors import inbox_for
from approvals.services import (
    ApprovalConflict,
    approval_decide,
    approval_resubmit,
    approval_withdraw,
    chain_for,
)

pytestmark = pytest.mark.django_db


def approve(request, user, comment=""):
    return approval_decide(
        request=request,
        decision=ActionKind.APPROVE,
        acting_user=user,
        expected_version=request.version,
        comment=comment,
    )


def test_a_short_leave_goes_to_the_supervisor_then_the_head_and_skips_conditional_steps(
    leave, supervisor, head, director, hook_calls
):
    request = leave(2)
    assert request.current_step.name == "带教审批"
    assert list(inbox_for(supervisor)) == [request]
    assert list(inbox_for(head)) == []

    request = approve(request, supervisor)
    assert request.current_step.name == "科主任审批"
    assert list(inbox_for(supervisor)) == []
    assert list(inbox_for(head)) == [request]

    request = approve(request, head)
    assert request.status == RequestStatus.APPROVED
    assert request.current_step is None
    assert hook_calls == [("approved", request.pk)]
    kinds = list(request.actions.values_list("kind", flat=True))
    assert kinds == ["submit", "approve", "approve", "skip", "skip"]
    assert list(inbox_for(director)) == []


def test_a_five_day_leave_also_needs_the_base_director(leave, supervisor, head, director, office):
    request = approve(approve(leave(5), supervisor), head)
    assert request.current_step.name == "基地审批"
    assert list(inbox_for(director)) == [request]
    request = approve(request, director)
    assert request.status == RequestStatus.APPROVED


def test_a_long_leave_goes_through_all_four_steps(leave, supervisor, head, director, office):
    request = approve(approve(approve(leave(40), supervisor), head), director)
    assert request.current_step.name == "培训处审批"
    request = approve(request, office)
    assert request.status == RequestStatus.APPROVED
    assert request.actions.filter(kind="approve").count() == 4


def test_rejecting_needs_a_reason_and_ends_the_request(leave, supervisor, hook_calls):
    request = leave(2)
    with pytest.raises(ValidationError):
        approval_decide(request=request, decision="reject", acting_user=supervisor, expected_version=request.version)
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING

    request = approval_decide(
        request=request,
        decision="reject",
        acting_user=supervisor,
        expected_version=request.version,
        comment="轮转期间不宜请假",
    )
    assert request.status == RequestStatus.REJECTED
    assert request.actions.get(kind="reject").comment == "轮转期间不宜请假"
    assert hook_calls == [("rejected", request.pk)]
    assert list(inbox_for(supervisor)) == []


def test_a_returned_request_is_resubmitted_and_starts_again_from_the_first_step(leave, resident, supervisor, head):
    request = approve(leave(2), supervisor)
    request = approval_decide(
        request=request, decision="return", acting_user=head, expected_version=request.version, comment="请补充病假条"
    )
    assert request.status == RequestStatus.RETURNED
    assert list(inbox_for(head)) == []

    request = approval_resubmit(request=request, acting_user=resident, comment="已补充")
    assert request.status == RequestStatus.PENDING
    assert request.current_step.name == "带教审批"
    assert list(inbox_for(supervisor)) == [request]
    assert [a.kind for a in request.actions.all()][-1] == "resubmit"


def test_only_the_submitter_may_withdraw_and_only_while_open(leave, resident, supervisor, head, hook_calls):
    request = leave(2)
    with pytest.raises(PermissionDenied):
        approval_withdraw(request=request, acting_user=supervisor)
    request = approval_withdraw(request=request, acting_user=resident, comment="计划变更")
    assert request.status == RequestStatus.WITHDRAWN
    assert list(inbox_for(supervisor)) == []
    assert hook_calls == [("withdrawn", request.pk)]
    with pytest.raises(ApprovalConflict):
        approval_withdraw(request=request, acting_user=resident)


def test_someone_outside_the_step_cannot_decide(leave, head, director, other_director):
    request = leave(5)
    for intruder in (head, director, other_director):  # not their step yet, or not their base
        with pytest.raises(PermissionDenied):
            approve(request, intruder)
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
    assert request.actions.filter(kind="approve").count() == 0


def test_a_decision_on_a_stale_version_is_a_conflict_and_changes_nothing(leave, supervisor):
    request = leave(2)
    stale = request.version
    approve(request, supervisor)
    with pytest.raises(ApprovalConflict):
        approval_decide(request=request, decision="approve", acting_user=supervisor, expected_version=stale)
    assert request.actions.filter(kind="approve").count() == 1


def test_the_submitter_never_approves_their_own_request(org, supervisor, head):
    from approvals.services import approval_submit

    request = approval_submit(
        workflow="test.leave",
        target=supervisor,
        title="带教自己请假",
        acting_user=supervisor,
        subject=supervisor,
        department=org.cardiology,
        base=org.internal,
        context={"days": 1},
    )
    # The relation resolves to the supervisor herself; she is excluded, so the office takes the step.
    assert supervisor not in request.current_approvers.all()
    with pytest.raises(PermissionDenied):
        approve(request, supervisor)


def test_a_step_without_any_approver_falls_back_to_the_training_office(org, resident, office):
    from approvals.services import approval_submit

    request = approval_submit(  # nobody supervises in general surgery
        workflow="test.leave",
        target=resident,
        title="外科请假",
        acting_user=resident,
        subject=resident,
        department=org.general_surgery,
        base=org.surgery,
        context={"days": 1},
    )
    assert list(request.current_approvers.all()) == [office]


def test_a_new_role_holder_sees_waiting_requests_at_once(leave, org, django_capture_on_commit_callbacks):
    from tests.factories.accounts import RoleAssignmentFactory, UserFactory

    request = leave(2)
    new_supervisor = UserFactory(username="new_supervisor")
    with django_capture_on_commit_callbacks(execute=True):
        RoleAssignmentFactory(user=new_supervisor, role="supervisor", department=org.cardiology)
    assert request in inbox_for(new_supervisor)


def test_chains_are_data_an_edited_chain_applies_to_new_requests(leave, supervisor, head, office):
    chain = chain_for("test.leave")
    ApprovalStep.objects.filter(chain=chain, name="科主任审批").delete()
    request = approve(leave(2), supervisor)
    assert request.status == RequestStatus.APPROVED
    assert ApprovalChain.objects.filter(workflow="test.leave", is_active=True).count() == 1
