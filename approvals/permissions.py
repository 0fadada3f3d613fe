from django.db.models import Q, QuerySet

from core import permissions

from .models import ApprovalRequest
from .services import may_decide, may_withdraw


@permissions.register
class ApprovalRequestPolicy(permissions.Policy):
    """Seen by the people involved: submitter, subject, everyone asked to decide, and the office."""

    model = ApprovalRequest

    def scope(self, user, queryset: QuerySet) -> QuerySet:
        if user.scope.is_office:
            return queryset
        involved = Q(submitter=user) | Q(subject=user) | Q(invited=user) | Q(actions__actor=user)
        return queryset.filter(pk__in=queryset.filter(involved).values("pk"))

    def allows(self, user, action: str, obj: ApprovalRequest) -> bool:
        if action == "view":
            return True
        if action == "decide":
            return may_decide(user, obj)
        if action == "withdraw":
            return may_withdraw(user, obj)
        if action == "resubmit":
            return obj.submitter_id == user.pk
        return False
