"""The approval engine: submit, decide, withdraw, resubmit. Every workflow goes through here."""

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Model, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import ROLE_SCOPE, Role, ScopeKind, UserStatus
from accounts.models import RoleAssignment, User
from core.audit import audit_record

from . import registry
from .choices import DECISIONS, ActionKind, RequestStatus
from .models import ApprovalAction, ApprovalChain, ApprovalRequest, ApprovalStep


class ApprovalConflict(Exception):
    """Someone else acted on this request first; the caller shows the message, nothing is changed."""


def chain_for(workflow_code: str) -> ApprovalChain:
    """The active chain of a workflow, created from the workflow's defaults on first use."""
    chain = ApprovalChain.objects.filter(workflow=workflow_code, is_active=True).first()
    if chain is not None:
        return chain
    workflow = registry.get_workflow(workflow_code)
    with transaction.atomic():
        chain = ApprovalChain.objects.create(workflow=workflow_code, name=str(workflow.label))
        for order, spec in enumerate(workflow.default_steps, start=1):
            field, operator, value = spec.condition or ("", "", "")
            ApprovalStep.objects.create(
                chain=chain,
                order=order,
                name=str(spec.name),
                role=spec.role,
                relation=spec.relation,
                condition_field=field,
                condition_operator=operator,
                condition_value=str(value),
            )
    return chain


def _office_hospital_id(request: ApprovalRequest) -> int | None:
    """The hospital whose office and admins act: a collaborating site answers to its parent."""
    for source in (
        request.hospital,
        getattr(request.base, "hospital", None),
        getattr(request.department, "hospital", None),
    ):
        if source is not None:
            return source.parent_id or source.pk
    return None


def step_approvers(step: ApprovalStep, request: ApprovalRequest) -> QuerySet[User]:
    """Everyone who may decide this step of this request, excluding the submitter (no self-approval)."""
    if step.relation:
        users = registry.get_relation(step.relation).resolve(request)
    else:
        holders = RoleAssignment.objects.active_on().filter(role=step.role)
        kind = ROLE_SCOPE[step.role]
        if kind == ScopeKind.DEPARTMENT:
            holders = holders.filter(department_id=request.department_id)
        elif kind == ScopeKind.BASE:
            base_id = request.base_id or getattr(request.department, "base_id", None)
            holders = holders.filter(base_id=base_id)
        else:
            holders = holders.filter(hospital_id=_office_hospital_id(request))
        users = User.objects.filter(pk__in=holders.values("user_id"))
    users = users.filter(status=UserStatus.ACTIVE).exclude(pk=request.submitter_id)
    if not users.exists():
        # A step nobody can decide would stall forever: the training office takes it.
        office = RoleAssignment.objects.active_on().filter(
            role=Role.TRAINING_OFFICE, hospital_id=_office_hospital_id(request)
        )
        users = User.objects.filter(pk__in=office.values("user_id"), status=UserStatus.ACTIVE).exclude(
            pk=request.submitter_id
        )
    return users


def may_decide(user: User, request: ApprovalRequest) -> bool:
    if request.status != RequestStatus.PENDING or request.current_step is None:
        return False
    return step_approvers(request.current_step, request).filter(pk=user.pk).exists()


def _enter_step(request: ApprovalRequest, after_order: int) -> ApprovalStep | None:
    """Move to the next step whose condition holds; record skipped ones. None: the chain is done."""
    for step in request.chain.steps.filter(order__gt=after_order).order_by("order"):
        if step.applies_to(request.context):
            request.current_step = step
            return step
        ApprovalAction.objects.create(request=request, step=step, kind=ActionKind.SKIP)
    request.current_step = None
    return None


def refresh_approvers(request: ApprovalRequest) -> None:
    if request.status == RequestStatus.PENDING and request.current_step is not None:
        approvers = list(step_approvers(request.current_step, request))
        request.current_approvers.set(approvers)
        request.invited.add(*approvers)
    else:
        request.current_approvers.clear()


def _finish(request: ApprovalRequest, status: str, actor: User | None) -> None:
    request.status = status
    request.current_step = None
    request.decided_at = timezone.now()
    hook = {
        RequestStatus.APPROVED: "on_approved",
        RequestStatus.REJECTED: "on_rejected",
        RequestStatus.RETURNED: "on_returned",
        RequestStatus.WITHDRAWN: "on_withdrawn",
    }[status]
    request.save()
    callback = getattr(registry.get_workflow(request.workflow), hook)
    if callback is not None:
        callback(request=request, acting_user=actor)


@transaction.atomic
def approval_submit(
    *,
    workflow: str,
    target: Model,
    title: str,
    acting_user: User,
    subject: User | None = None,
    hospital=None,
    base=None,
    department=None,
    context: dict[str, Any] | None = None,
    comment: str = "",
) -> ApprovalRequest:
    """Open a request and route it to the first step that applies (approve at once if none does)."""
    registry.get_workflow(workflow)
    request = ApprovalRequest.objects.create(
        workflow=workflow,
        chain=chain_for(workflow),
        title=title[:200],
        target_type=ContentType.objects.get_for_model(target),
        target_id=str(target.pk),
        submitter=acting_user,
        subject=subject,
        hospital=hospital,
        base=base,
        department=department,
        context=context or {},
    )
    ApprovalAction.objects.create(request=request, actor=acting_user, kind=ActionKind.SUBMIT, comment=comment)
    audit_record(action="approval.submit", target=request, acting_user=acting_user, workflow=workflow)
    if _enter_step(request, after_order=0) is None:
        _finish(request, RequestStatus.APPROVED, acting_user)
    else:
        request.save()
    refresh_approvers(request)
    return request


@transaction.atomic
def approval_decide(
    *, request: ApprovalRequest, decision: str, acting_user: User, expected_version: int, comment: str = ""
) -> ApprovalRequest:
    """Approve, reject or return the current step. Exactly one of two simultaneous deciders wins."""
    if decision not in DECISIONS:
        raise ValidationError(_("Unknown decision."))
    comment = comment.strip()
    if decision in (ActionKind.REJECT, ActionKind.RETURN) and not comment:
        raise ValidationError({"comment": _("Please give a reason: the submitter will read it.")})
    # Compare-and-swap on the version: the row lock makes the loser wait, then match nothing.
    won = ApprovalRequest.objects.filter(pk=request.pk, version=expected_version, status=RequestStatus.PENDING).update(
        version=F("version") + 1, updated_at=timezone.now()
    )
    if not won:
        raise ApprovalConflict(
            _("This request has already been handled by someone else. Its current state is shown below.")
        )
    request = ApprovalRequest.objects.select_related("current_step", "department", "base", "hospital").get(
        pk=request.pk
    )
    step = request.current_step
    if step is None or not may_decide(acting_user, request):
        raise PermissionDenied
    ApprovalAction.objects.create(request=request, step=step, actor=acting_user, kind=decision, comment=comment)
    audit_record(
        action=f"approval.{decision}",
        target=request,
        acting_user=acting_user,
        workflow=request.workflow,
        step=step.name,
    )
    if decision == ActionKind.APPROVE:
        if _enter_step(request, after_order=step.order) is None:
            _finish(request, RequestStatus.APPROVED, acting_user)
        else:
            request.save()
    elif decision == ActionKind.REJECT:
        _finish(request, RequestStatus.REJECTED, acting_user)
    else:
        _finish(request, RequestStatus.RETURNED, acting_user)
        request.decided_at = None
        request.save(update_fields=["decided_at"])
    refresh_approvers(request)
    return request


@transaction.atomic
def may_withdraw(user: User, request: ApprovalRequest) -> bool:
    """The submitter, while the request is open (and, where the workflow says so, before anyone agreed)."""
    if user.pk != request.submitter_id or request.status not in (RequestStatus.PENDING, RequestStatus.RETURNED):
        return False
    if registry.get_workflow(request.workflow).withdraw_until_first_decision:
        return not request.actions.filter(kind=ActionKind.APPROVE).exists()
    return True


def approval_withdraw(*, request: ApprovalRequest, acting_user: User, comment: str = "") -> ApprovalRequest:
    """The submitter takes back a request still in review or returned to them."""
    if acting_user.pk != request.submitter_id:
        raise PermissionDenied
    if not may_withdraw(acting_user, request):
        raise ApprovalConflict(_("An approver has already agreed; this request can no longer be withdrawn."))
    won = ApprovalRequest.objects.filter(
        pk=request.pk, version=request.version, status__in=[RequestStatus.PENDING, RequestStatus.RETURNED]
    ).update(version=F("version") + 1)
    if not won:
        raise ApprovalConflict(_("This request was decided in the meantime and can no longer be withdrawn."))
    request.refresh_from_db()
    ApprovalAction.objects.create(request=request, actor=acting_user, kind=ActionKind.WITHDRAW, comment=comment)
    audit_record(action="approval.withdraw", target=request, acting_user=acting_user, workflow=request.workflow)
    _finish(request, RequestStatus.WITHDRAWN, acting_user)
    refresh_approvers(request)
    return request


@transaction.atomic
def approval_resubmit(
    *, request: ApprovalRequest, acting_user: User, comment: str = "", context: dict[str, Any] | None = None
) -> ApprovalRequest:
    """After a return, the submitter sends the request again; it starts from the first step."""
    if acting_user.pk != request.submitter_id:
        raise PermissionDenied
    won = ApprovalRequest.objects.filter(pk=request.pk, version=request.version, status=RequestStatus.RETURNED).update(
        version=F("version") + 1
    )
    if not won:
        raise ApprovalConflict(_("Only a request returned for changes can be resubmitted."))
    request.refresh_from_db()
    if context is not None:
        request.context = context
    request.status = RequestStatus.PENDING
    ApprovalAction.objects.create(request=request, actor=acting_user, kind=ActionKind.RESUBMIT, comment=comment)
    audit_record(action="approval.resubmit", target=request, acting_user=acting_user, workflow=request.workflow)
    if _enter_step(request, after_order=0) is None:
        _finish(request, RequestStatus.APPROVED, acting_user)
    else:
        request.save()
        callback = registry.get_workflow(request.workflow).on_resubmitted
        if callback is not None:
            callback(request=request, acting_user=acting_user)
    refresh_approvers(request)
    return request


def refresh_pending_for_role(role: str) -> int:
    """Role holders changed: re-resolve the inbox of every pending request waiting on that role."""
    pending = ApprovalRequest.objects.filter(status=RequestStatus.PENDING, current_step__role=role).select_related(
        "current_step", "department", "base", "hospital"
    )
    count = 0
    for request in pending:
        refresh_approvers(request)
        count += 1
    return count
