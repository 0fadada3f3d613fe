from django.db.models import QuerySet

from core import permissions

from .choices import REVEAL_ROLES
from .models import User


@permissions.register
class UserPolicy(permissions.Policy):
    """Account pages: the office and system admins manage everyone; a user sees their own.

    A per-object guardian grant (accounts.view_user) lets the office open one account to one
    more person, e.g. an external examiner, without giving them a role.
    """

    model = User
    object_grants = True

    def scope(self, user, queryset: QuerySet) -> QuerySet:
        if user.scope.is_office or user.scope.is_system_admin:
            return queryset
        return queryset.filter(pk=user.pk)

    def allows(self, user, action: str, obj: User) -> bool:
        if action == "view":
            return True
        if action == "reveal":
            return user.scope.has_role(*REVEAL_ROLES)
        if action == "manage":
            return user.scope.is_office or user.scope.is_system_admin
        return False


def may_manage_accounts(user) -> bool:
    return user.is_authenticated and (user.scope.is_office or user.scope.is_system_admin)
