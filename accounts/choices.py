from django.db import models
from django.utils.translation import gettext_lazy as _


class UserStatus(models.TextChoices):
    PENDING = "pending", _("Pending review")
    ACTIVE = "active", _("Active")
    DISABLED = "disabled", _("Disabled")


class SiteKind(models.TextChoices):
    MAIN = "main", _("Training hospital")
    COLLABORATING = "collaborating", _("Collaborating site")


class ScopeKind(models.TextChoices):
    HOSPITAL = "hospital", _("Hospital")
    BASE = "base", _("Specialty base")
    DEPARTMENT = "department", _("Department")


class Role(models.TextChoices):
    RESIDENT = "resident", _("Resident")
    SUPERVISOR = "supervisor", _("Supervising doctor")
    MENTOR = "mentor", _("Mentor")
    TEACHING_SECRETARY = "teaching_secretary", _("Teaching secretary")
    DEPARTMENT_HEAD = "department_head", _("Department head")
    ATTENDANCE_CLERK = "attendance_clerk", _("Attendance clerk")
    BASE_DIRECTOR = "base_director", _("Base director")
    BASE_SECRETARY = "base_secretary", _("Base secretary")
    TRAINING_OFFICE = "training_office", _("Training office")
    SYSTEM_ADMIN = "system_admin", _("System administrator")
    AUDITOR = "auditor", _("Auditor")


#: The org level each role is held at: a secretary is *of a department*.
ROLE_SCOPE: dict[str, str] = {
    Role.RESIDENT: ScopeKind.BASE,
    Role.SUPERVISOR: ScopeKind.DEPARTMENT,
    Role.MENTOR: ScopeKind.BASE,
    Role.TEACHING_SECRETARY: ScopeKind.DEPARTMENT,
    Role.DEPARTMENT_HEAD: ScopeKind.DEPARTMENT,
    Role.ATTENDANCE_CLERK: ScopeKind.DEPARTMENT,
    Role.BASE_DIRECTOR: ScopeKind.BASE,
    Role.BASE_SECRETARY: ScopeKind.BASE,
    Role.TRAINING_OFFICE: ScopeKind.HOSPITAL,
    Role.SYSTEM_ADMIN: ScopeKind.HOSPITAL,
    Role.AUDITOR: ScopeKind.HOSPITAL,
}

#: Roles that may see full ID numbers and phones after an audited reveal.
REVEAL_ROLES = frozenset({Role.TRAINING_OFFICE})
