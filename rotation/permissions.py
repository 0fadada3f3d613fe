"""Who may do what with rotation: the office schedules, bases review and approve changes,
departments assign supervisors, residents see their own rotation.

Every rotation view goes through these policies (`core.permissions.visible` / `require`):
objects outside a user's scope are 404, forbidden actions on visible ones 403.
"""

from django.db.models import Q, QuerySet

from accounts.choices import Role
from accounts.models import Department
from core import permissions

from .models import DepartmentSetting, Programme, RotationBlock, ScheduleChange, ScheduleRun

BASE_MANAGERS = (Role.BASE_DIRECTOR, Role.BASE_SECRETARY)
DEPARTMENT_MANAGERS = (Role.TEACHING_SECRETARY, Role.DEPARTMENT_HEAD)


def office_hospitals(user) -> set[int]:
    return user.scope.hospitals(Role.TRAINING_OFFICE)


def may_schedule(user) -> bool:
    """Generating, reviewing and publishing schedules is the training office's job."""
    return bool(office_hospitals(user))


def may_view_grid(user) -> bool:
    """The schedule grid and load heatmap: the office (whole hospital) and base managers (their base)."""
    return may_schedule(user) or bool(user.scope.bases(*BASE_MANAGERS))


def grid_residents_q(user) -> Q | None:
    """Residents whose rows a user sees in the grid, as a filter on ResidentProfile."""
    hospitals = office_hospitals(user)
    bases = user.scope.bases(*BASE_MANAGERS)
    if not hospitals and not bases:
        return None
    q = Q(pk__in=[])
    if hospitals:
        q |= Q(base__hospital_id__in=hospitals)
    if bases:
        q |= Q(base_id__in=bases)
    return q


def managed_departments(user) -> QuerySet[Department]:
    """Departments whose rotation settings and supervisors a user manages."""
    scope = user.scope
    q = Q(pk__in=scope.departments(*DEPARTMENT_MANAGERS)) | Q(base_id__in=scope.bases(*BASE_MANAGERS))
    hospitals = office_hospitals(user)
    if hospitals:
        q |= Q(hospital_id__in=hospitals) | Q(hospital__parent_id__in=hospitals)
    return Department.objects.filter(q)


def may_manage_department(user, department: Department) -> bool:
    return managed_departments(user).filter(pk=department.pk).exists()


@permissions.register
class ProgrammePolicy(permissions.Policy):
    """Programmes: the office edits; base managers read their own base's."""

    model = Programme

    def scope(self, user, queryset: QuerySet) -> QuerySet:
        hospitals = office_hospitals(user)
        bases = user.scope.bases(*BASE_MANAGERS)
        return queryset.filter(Q(base__hospital_id__in=hospitals) | Q(base_id__in=bases))

    def allows(self, user, action: str, obj: Programme) -> bool:
        is_office = obj.base.hospital_id in office_hospitals(user)
        return {"view": True, "edit": is_office}.get(action, False)


@permissions.register
class DepartmentSettingPolicy(permissions.Policy):
    model = DepartmentSetting

    def scope(self, user, queryset: QuerySet) -> QuerySet:
        return queryset.filter(department__in=managed_departments(user))

    def allows(self, user, action: str, obj: DepartmentSetting) -> bool:
        return action in {"view", "edit"}


@permissions.register
class ScheduleRunPolicy(permissions.Policy):
    """Runs: drafts are the office's; base managers see published versions that cover their base."""

    model = ScheduleRun

    def scope(self, user, queryset: QuerySet) -> QuerySet:
        hospitals = office_hospitals(user)
        bases = user.scope.bases(*BASE_MANAGERS)
        published = Q(status__in=["published", "superseded"])
        base_q = published & (Q(base_id__in=bases) | (Q(base__isnull=True) & Q(hospital__bases__in=bases)))
        return queryset.filter(Q(hospital_id__in=hospitals) | base_q).distinct()

    def allows(self, user, action: str, obj: ScheduleRun) -> bool:
        is_office = obj.hospital_id in office_hospitals(user)
        return {"view": True, "publish": is_office, "discard": is_office, "edit": is_office}.get(action, False)


def block_q(user, prefix: str = "") -> Q:
    """Blocks a user sees: their own, those they supervise, their department's, their base's, the office's.

    `prefix` applies the same rule to objects hanging off a block ("block__" for caseload, leave...).
    """
    scope = user.scope
    bases = scope.bases(*BASE_MANAGERS)
    rules = {
        "resident__user_id": user.pk,
        "resident__mentor_id": user.pk,  # the responsible mentor follows the whole training
        "supervisor_id": user.pk,
        "department_id__in": scope.departments(*DEPARTMENT_MANAGERS, Role.ATTENDANCE_CLERK),
        "resident__base_id__in": bases,
        "department__base_id__in": bases,
        "resident__base__hospital_id__in": office_hospitals(user),
    }
    q = Q(pk__in=[])
    for lookup, value in rules.items():
        q |= Q(**{prefix + lookup: value})
    return q


def block_roles(user, block: RotationBlock) -> dict[str, bool]:
    """What a user is to a block: the rotation-in-practice policies decide their actions from this."""
    scope = user.scope
    return {
        "self": block.resident.user_id == user.pk,
        "supervisor": block.supervisor_id == user.pk,
        "secretary": block.department_id in scope.departments(Role.TEACHING_SECRETARY),
        "head": block.department_id in scope.departments(Role.DEPARTMENT_HEAD),
        "clerk": block.department_id in scope.departments(Role.ATTENDANCE_CLERK),
        "base": scope.acts_for_base(block.resident.base_id, *BASE_MANAGERS)
        or scope.acts_for_base(block.department.base_id, *BASE_MANAGERS),
        "office": block.resident.base.hospital_id in office_hospitals(user),
    }


@permissions.register
class RotationBlockPolicy(permissions.Policy):
    """Blocks: the resident, their supervisor, the department, the base and the office.

    Actions: view; assign_supervisor (the department's teaching secretary or head, the base
    managers, the office); change (request a change to the published schedule: base managers, office).
    """

    model = RotationBlock

    def scope(self, user, queryset: QuerySet) -> QuerySet:
        return queryset.filter(block_q(user))

    def allows(self, user, action: str, obj: RotationBlock) -> bool:
        scope = user.scope
        is_office = obj.resident.base.hospital_id in office_hospitals(user)
        manages_base = scope.acts_for_base(obj.resident.base_id, *BASE_MANAGERS)
        manages_department = obj.department_id in scope.departments(*DEPARTMENT_MANAGERS)
        manages_host_base = scope.acts_for_base(obj.department.base_id, *BASE_MANAGERS)
        return {
            "view": True,
            "assign_supervisor": is_office or manages_host_base or manages_department,
            "change": is_office or manages_base,
        }.get(action, False)


@permissions.register
class ScheduleChangePolicy(permissions.Policy):
    model = ScheduleChange

    def scope(self, user, queryset: QuerySet) -> QuerySet:
        bases = user.scope.bases(*BASE_MANAGERS)
        q = Q(run__hospital_id__in=office_hospitals(user)) | Q(residents__base_id__in=bases)
        q |= Q(requested_by_id=user.pk)
        return queryset.filter(q).distinct()

    def allows(self, user, action: str, obj: ScheduleChange) -> bool:
        return action == "view"


from . import permissions_practice  # noqa: E402, F401  (the policies of rotation in practice register themselves)
