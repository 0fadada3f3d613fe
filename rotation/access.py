"""Rotation's relations to residents: supervisors of a block, and the department that hosts one."""

from django.db.models import Q
from django.utils import timezone

from accounts.choices import Role
from residents import access

from .models import RotationBlock


@access.register("rotation.supervisor")
def _supervisor(user) -> Q | None:
    """Current and past supervisees: a supervisor still signs off on what they supervised."""
    if not user.scope.has_role(Role.SUPERVISOR):
        return None
    return Q(pk__in=RotationBlock.objects.filter(supervisor_id=user.pk).values("resident_id"))


@access.register("rotation.department")
def _department(user) -> Q | None:
    """Residents rotating in the department now or scheduled to; not those who have left."""
    departments = user.scope.departments(Role.TEACHING_SECRETARY, Role.DEPARTMENT_HEAD)
    if not departments:
        return None
    blocks = RotationBlock.objects.filter(department_id__in=departments, end_date__gte=timezone.localdate())
    return Q(pk__in=blocks.values("resident_id"))
