"""What part of the hospital a user acts for, loaded once per request.

Every permission policy asks the same questions ("is she a secretary of this department?",
"which bases does he direct?"); answering them from one in-memory snapshot keeps each
check free of queries.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from .choices import ROLE_SCOPE, Role, ScopeKind


@dataclass
class Scope:
    user_id: int | None
    #: role -> {"hospital": {ids}, "base": {ids}, "department": {ids}}
    grants: dict[str, dict[str, set[int]]] = field(default_factory=dict)
    #: department id -> base id, for base-level roles that reach into departments
    department_base: dict[int, int | None] = field(default_factory=dict)

    @classmethod
    def for_user(cls, user) -> "Scope":
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return cls(user_id=None)
        from .models import Department, RoleAssignment

        grants: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
        rows = (
            RoleAssignment.objects.active_on()
            .filter(user=user)
            .values_list("role", "hospital_id", "base_id", "department_id")
        )
        for role, hospital_id, base_id, department_id in rows:
            kind = ROLE_SCOPE.get(role)
            target = {ScopeKind.HOSPITAL: hospital_id, ScopeKind.BASE: base_id, ScopeKind.DEPARTMENT: department_id}
            if kind and target[kind] is not None:
                grants[role][kind].add(target[kind])
        scope = cls(user_id=user.pk, grants={r: dict(k) for r, k in grants.items()})
        if scope.bases(*BASE_ROLES):
            scope.department_base = dict(Department.objects.values_list("id", "base_id"))
        return scope

    @property
    def roles(self) -> set[str]:
        return set(self.grants)

    def has_role(self, *roles: str) -> bool:
        return any(r in self.grants for r in roles)

    def departments(self, *roles: str) -> set[int]:
        return {d for r in roles for d in self.grants.get(r, {}).get(ScopeKind.DEPARTMENT, ())}

    def bases(self, *roles: str) -> set[int]:
        return {b for r in roles for b in self.grants.get(r, {}).get(ScopeKind.BASE, ())}

    def hospitals(self, *roles: str) -> set[int]:
        return {h for r in roles for h in self.grants.get(r, {}).get(ScopeKind.HOSPITAL, ())}

    def acts_for_department(self, department_id: int | None, *roles: str) -> bool:
        """Department roles match directly; base roles match departments of their base."""
        if department_id is None:
            return False
        if department_id in self.departments(*roles):
            return True
        base_id = self.department_base.get(department_id)
        return base_id is not None and base_id in self.bases(*roles)

    def acts_for_base(self, base_id: int | None, *roles: str) -> bool:
        return base_id is not None and base_id in self.bases(*roles)

    @property
    def is_office(self) -> bool:
        return self.has_role(Role.TRAINING_OFFICE)

    @property
    def is_system_admin(self) -> bool:
        return self.has_role(Role.SYSTEM_ADMIN)

    @property
    def is_auditor(self) -> bool:
        return self.has_role(Role.AUDITOR)

    @property
    def is_resident(self) -> bool:
        return self.has_role(Role.RESIDENT)

    @property
    def is_department_staff(self) -> bool:
        return self.has_role(*DEPARTMENT_ROLES)


DEPARTMENT_ROLES = (
    Role.SUPERVISOR,
    Role.TEACHING_SECRETARY,
    Role.DEPARTMENT_HEAD,
    Role.ATTENDANCE_CLERK,
)
BASE_ROLES = (Role.BASE_DIRECTOR, Role.BASE_SECRETARY, Role.MENTOR)
