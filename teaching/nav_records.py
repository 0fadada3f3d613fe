"""Records, ratings and statistics in the menu, per role."""

from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from core.navigation import NavItem, register

from .permissions import BASE_MANAGERS, DEPARTMENT_STAFF


def _is_resident(user) -> bool:
    return bool(user.is_authenticated) and user.scope.is_resident


def _teaches(user) -> bool:
    return bool(user.is_authenticated) and user.scope.has_role(Role.SUPERVISOR, Role.TEACHING_SECRETARY)


def _manages(user) -> bool:
    return bool(user.is_authenticated) and user.scope.has_role(*DEPARTMENT_STAFF, *BASE_MANAGERS, Role.TRAINING_OFFICE)


def _waiting_records(user) -> int:
    from .choices import RecordStatus
    from .models import ActivityRecord
    from .permissions import office_hospitals

    hospitals = office_hospitals(user)
    if not hospitals:
        return 0
    return ActivityRecord.objects.filter(
        status=RecordStatus.SUBMITTED, activity__department__hospital_id__in=hospitals
    ).count()


register(
    NavItem(
        label=_("My teaching credits"),
        url_name="teaching:stats_resident",
        icon="mortarboard",
        order=62,
        allowed=_is_resident,
    )
)
register(NavItem(label=_("My teaching"), url_name="teaching:stats_teacher", icon="easel", order=63, allowed=_teaches))
register(
    NavItem(
        label=_("Activity records"),
        url_name="teaching:records_list",
        icon="journal-check",
        order=64,
        allowed=_manages,
        badge=_waiting_records,
    )
)
register(
    NavItem(
        label=_("Teaching compliance"),
        url_name="teaching:stats_compliance",
        icon="grid-3x3",
        order=65,
        allowed=_manages,
    )
)
