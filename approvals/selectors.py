from django.db.models import QuerySet

from accounts.models import User
from core.permissions import visible

from .choices import RequestStatus
from .models import ApprovalRequest

_RELATED = ("submitter", "subject", "current_step", "department", "base")


def inbox_for(user: User) -> QuerySet[ApprovalRequest]:
    """待办: requests waiting for this user's decision, oldest first."""
    return (
        ApprovalRequest.objects.filter(status=RequestStatus.PENDING, current_approvers=user)
        .select_related(*_RELATED)
        .order_by("submitted_at")
    )


def inbox_count(user: User) -> int:
    return ApprovalRequest.objects.filter(status=RequestStatus.PENDING, current_approvers=user).count()


def handled_by(user: User) -> QuerySet[ApprovalRequest]:
    """已办: requests this user decided on."""
    return (
        visible(user, ApprovalRequest)
        .filter(actions__actor=user, actions__kind__in=["approve", "reject", "return"])
        .exclude(submitter=user)
        .select_related(*_RELATED)
        .distinct()
        .order_by("-updated_at")
    )


def submitted_by(user: User) -> QuerySet[ApprovalRequest]:
    """我的申请."""
    return ApprovalRequest.objects.filter(submitter=user).select_related(*_RELATED).order_by("-submitted_at")
