"""Who may do what with teaching: secretaries plan their department, teachers teach and show the code,
residents attend what they are expected at, the office approves and reviews.

Outside scope 404, forbidden inside 403 (core.permissions).
"""

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.choices import Role
from core import permissions

from .choices import ActivityStatus, Audience, PlanStatus
from .models import Activity, TeachingPlan

PLANNERS = (Role.TEACHING_SECRETARY,)
DEPARTMENT_STAFF = (Role.TEACHING_SECRETARY, Role.DEPARTMENT_HEAD, Role.SUPERVISOR, Role.ATTENDANCE_CLERK)
BASE_MANAGERS = (Role.BASE_DIRECTOR, Role.BASE_SECRETARY)


def office_hospitals(user) -> set[int]:
    return user.scope.hospitals(Role.TRAINING_OFFICE)


def _department_q(user, prefix: str = "") -> Q:
    """The plan's or activity's department: its staff, its base's managers, the office."""
    scope = user.scope
    hospitals = office_hospitals(user)
    q = Q(**{f"{prefix}department_id__in": scope.departments(*DEPARTMENT_STAFF)})
    q |= Q(**{f"{prefix}department__base_id__in": scope.bases(*BASE_MANAGERS)})
    q |= Q(**{f"{prefix}department__hospital_id__in": hospitals})
    q |= Q(**{f"{prefix}department__hospital__parent_id__in": hospitals})
    return q


def resident_audience_q(user) -> Q:
    """Approved activities a resident may attend: their current department's, their base's, open ones."""
    from rotation.models import RotationBlock

    profile = getattr(user, "resident_profile", None)
    if profile is None or not user.scope.is_resident:
        return Q(pk__in=[])
    today = timezone.localdate()
    departments = RotationBlock.objects.filter(resident=profile, start_date__lte=today, end_date__gte=today).values(
        "department_id"
    )
    q = Q(audience=Audience.DEPARTMENT, department_id__in=departments)
    q |= Q(audience=Audience.BASE, audience_base_id=profile.base_id)
    q |= Q(audience=Audience.OPEN, department__hospital_id=profile.base.hospital_id)
    q |= Q(audience=Audience.OPEN, department__hospital__parent_id=profile.base.hospital_id)
    q |= Q(attendance__user=user)  # whatever they attended stays visible
    return q & Q(status__in=[ActivityStatus.APPROVED, ActivityStatus.CANCELLED])


@permissions.register
class TeachingPlanPolicy(permissions.Policy):
    """Plans: the department's secretary builds and submits; head, base and office read (and approve via approvals)."""

    model = TeachingPlan

    def scope(self, user, queryset: QuerySet) -> QuerySet:
        return queryset.filter(_department_q(user))

    def allows(self, user, action: str, obj: TeachingPlan) -> bool:
        plans = obj.department_id in user.scope.departments(*PLANNERS)
        editable = obj.status in (PlanStatus.DRAFT, PlanStatus.RETURNED)
        return {"view": True, "edit": plans and editable, "submit": plans and editable}.get(action, False)


@permissions.register
class ActivityPolicy(permissions.Policy):
    """Activities: department staff, the teacher, base and office; residents see approved ones they may attend.

    Actions: edit (the secretary, before approval or to change an approved one), show_code (the teacher and the
    department's secretary), mark (mark attendance by hand: teacher, secretary), attendance (see who came:
    teacher, department staff, base, office), record (upload the record: teacher, secretary).
    """

    model = Activity

    def scope(self, user, queryset: QuerySet) -> QuerySet:
        q = _department_q(user) | Q(teacher_id=user.pk) | resident_audience_q(user)
        return queryset.filter(q).distinct()

    def allows(self, user, action: str, obj: Activity) -> bool:
        scope = user.scope
        secretary = obj.department_id in scope.departments(*PLANNERS)
        teacher = obj.teacher_id == user.pk
        staff = obj.department_id in scope.departments(*DEPARTMENT_STAFF)
        manager = scope.acts_for_base(obj.department.base_id, *BASE_MANAGERS) or bool(
            office_hospitals(user) & {obj.department.hospital_id, obj.department.hospital.parent_id}
        )
        live = obj.status != ActivityStatus.CANCELLED
        return {
            "view": True,
            "edit": secretary and live,
            "show_code": (teacher or secretary) and obj.status == ActivityStatus.APPROVED,
            "mark": (teacher or secretary) and obj.status == ActivityStatus.APPROVED,
            "attendance": teacher or staff or manager,
            "record": (teacher or secretary) and obj.status == ActivityStatus.APPROVED,
        }.get(action, False)
