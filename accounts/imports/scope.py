"""What the importing admin may name: their hospitals, the roles they may grant, the departments and bases."""

from collections.abc import Sequence

from django.db.models import Q

from ..choices import Role
from ..models import Department, Hospital, SpecialtyBase, User
from .columns import ADMIN_ONLY_ROLES, ROLE_NAMES


def home_hospitals(acting_user: User) -> list[Hospital]:
    """The hospitals the importing admin manages; imported roles and org units stay inside them."""
    ids = acting_user.scope.hospitals(Role.TRAINING_OFFICE, Role.SYSTEM_ADMIN)
    return list(Hospital.objects.filter(pk__in=ids).order_by("kind", "code"))


def importable_roles(acting_user: User) -> list[str]:
    roles = list(ROLE_NAMES)
    if not acting_user.scope.is_system_admin:
        roles = [r for r in roles if r not in ADMIN_ONLY_ROLES]
    return roles


def _departments(hospitals: Sequence[Hospital]):
    ids = [h.pk for h in hospitals]
    return (
        Department.objects.filter(is_active=True)
        .filter(Q(hospital_id__in=ids) | Q(hospital__parent_id__in=ids))
        .select_related("hospital", "base")
        .order_by("hospital__kind", "hospital__code", "code")
    )


def _bases(hospitals: Sequence[Hospital]):
    return (
        SpecialtyBase.objects.filter(is_active=True, hospital__in=hospitals)
        .select_related("hospital")
        .order_by("hospital__code", "code")
    )
