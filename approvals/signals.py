from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.choices import Role
from accounts.models import RoleAssignment

from .choices import RequestStatus
from .models import ApprovalRequest
from .services import refresh_approvers, refresh_pending_for_role


@receiver([post_save, post_delete], sender=RoleAssignment)
def _role_changed(sender, instance: RoleAssignment, **kwargs) -> None:
    """A new secretary sees her department's waiting requests at once; a departed one no longer does."""

    def refresh() -> None:
        if instance.role == Role.TRAINING_OFFICE:  # the office is every step's fallback
            for request in ApprovalRequest.objects.filter(status=RequestStatus.PENDING):
                refresh_approvers(request)
        else:
            refresh_pending_for_role(instance.role)

    transaction.on_commit(refresh)
