from django.db.models import Q, QuerySet

from accounts.choices import Role
from core import permissions

from .models import FacultyProfile

DEPARTMENT_MANAGERS = (Role.TEACHING_SECRETARY, Role.DEPARTMENT_HEAD)
BASE_MANAGERS = (Role.BASE_DIRECTOR, Role.BASE_SECRETARY)


def faculty_q(user) -> Q | None:
    """Teachers a user may see: their own archive, their department's, their base's, or the hospital's."""
    scope = user.scope
    parts = [Q(user_id=user.pk)]
    departments = scope.departments(*DEPARTMENT_MANAGERS)
    if departments:
        parts.append(Q(department_id__in=departments))
    bases = scope.bases(*BASE_MANAGERS)
    if bases:
        parts.append(Q(department__base_id__in=bases))
    hospitals = scope.hospitals(Role.TRAINING_OFFICE)
    if hospitals:
        parts.append(Q(department__hospital_id__in=hospitals) | Q(department__hospital__parent_id__in=hospitals))
    combined = parts[0]
    for part in parts[1:]:
        combined |= part
    return combined


@permissions.register
class FacultyProfilePolicy(permissions.Policy):
    """Actions: view; edit (title, department, dates); records (trainings, posts, achievements);
    qualify (grant or revoke 指导医师准入); assess (年度考核); export."""

    model = FacultyProfile

    def scope(self, user, queryset: QuerySet) -> QuerySet:
        return queryset.filter(faculty_q(user))

    def allows(self, user, action: str, obj: FacultyProfile) -> bool:
        scope = user.scope
        is_office = scope.is_office
        runs_department = scope.acts_for_department(obj.department_id, *DEPARTMENT_MANAGERS)
        runs_base = scope.acts_for_department(obj.department_id, *BASE_MANAGERS)
        return {
            "view": True,
            "edit": is_office,
            "records": is_office or runs_department or runs_base,
            "qualify": is_office,
            "assess": is_office,
            "export": is_office or runs_base,
        }.get(action, False)


def may_list_faculty(user) -> bool:
    return bool(user.is_authenticated) and user.scope.has_role(
        Role.TRAINING_OFFICE, *BASE_MANAGERS, *DEPARTMENT_MANAGERS
    )
