"""Who sees which notice.

The training office sees and manages every notice of its hospital, in every status.
Everybody else sees published notices of a hospital they work in whose audience matches
them: one of their roles is among `audience_roles` (or it is empty), and one of their
bases is among `audience_bases` (or it is empty). A user's bases are those of their
base-level roles plus the bases of the departments they hold department roles in.
Attachments follow their notice.
"""

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.choices import ROLE_SCOPE, Role, ScopeKind
from accounts.models import Department, SpecialtyBase
from core import permissions

from .choices import NoticeStatus
from .models import Notice

BASE_SCOPED_ROLES = tuple(r for r, kind in ROLE_SCOPE.items() if kind == ScopeKind.BASE)
DEPARTMENT_SCOPED_ROLES = tuple(r for r, kind in ROLE_SCOPE.items() if kind == ScopeKind.DEPARTMENT)
HOSPITAL_SCOPED_ROLES = tuple(r for r, kind in ROLE_SCOPE.items() if kind == ScopeKind.HOSPITAL)


def office_hospitals(user) -> set[int]:
    return user.scope.hospitals(Role.TRAINING_OFFICE)


def _role_matches(role: str) -> Q:
    if connection.features.supports_json_field_contains:
        return Q(audience_roles__contains=[role])
    # SQLite cannot do JSON containment; the stored list is normalised JSON text, and a
    # quoted role code cannot occur inside another code.
    return Q(audience_roles__icontains=f'"{role}"')


def audience_q(user) -> Q:
    """Published notices addressed to `user`, as one filter (subqueries, no joins, no duplicates)."""
    scope = user.scope
    base_ids = scope.bases(*BASE_SCOPED_ROLES)
    department_ids = scope.departments(*DEPARTMENT_SCOPED_ROLES)
    departments = Department.objects.filter(pk__in=department_ids)

    in_hospital = (
        Q(hospital_id__in=scope.hospitals(*HOSPITAL_SCOPED_ROLES))
        | Q(hospital_id__in=SpecialtyBase.objects.filter(pk__in=base_ids).values("hospital_id"))
        | Q(hospital_id__in=departments.values("hospital_id"))
        | Q(hospital_id__in=departments.filter(hospital__parent__isnull=False).values("hospital__parent_id"))
        | Q(hospital_id__in=departments.filter(base__isnull=False).values("base__hospital_id"))
    )

    role_match = Q(audience_roles=[])
    for role in sorted(scope.roles):
        role_match |= _role_matches(role)

    through = Notice.audience_bases.through.objects.filter(notice_id=OuterRef("pk"))
    base_match = ~Exists(through) | Exists(
        through.filter(Q(specialtybase_id__in=base_ids) | Q(specialtybase_id__in=departments.values("base_id")))
    )
    return Q(status=NoticeStatus.PUBLISHED) & in_hospital & role_match & base_match


@permissions.register
class NoticePolicy(permissions.Policy):
    model = Notice

    def scope(self, user, queryset: QuerySet) -> QuerySet:
        if not user.scope.roles:  # signed in but holding no role anywhere: no hospital, no notices
            return queryset.none()
        return queryset.filter(Q(hospital_id__in=office_hospitals(user)) | audience_q(user))

    def allows(self, user, action: str, obj: Notice) -> bool:
        if action == "view":
            return True
        if action in ("manage", "read_report"):
            return obj.hospital_id in office_hospitals(user)
        return False
