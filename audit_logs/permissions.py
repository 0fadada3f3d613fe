"""Who may read the audit trail: auditors, and nobody else (三权分立).

System administrators run the platform but may neither read nor prune the audit trail; the
training office manages people, not logs. Every auditor screen uses `AuditorRequiredMixin`, so a
signed-in user without the role gets a 403 (and the refusal is itself audited).
"""

from django.contrib.auth.mixins import LoginRequiredMixin

from accounts.choices import Role
from core.permissions import RoleRequiredMixin, any_of

AUDITOR_ROLES: tuple[str, ...] = (Role.AUDITOR,)


def is_auditor(user) -> bool:
    return bool(getattr(user, "is_active", False)) and any_of(user, AUDITOR_ROLES)


class AuditorRequiredMixin(LoginRequiredMixin, RoleRequiredMixin):
    required_roles = AUDITOR_ROLES
