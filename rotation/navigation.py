"""Rotation in the menu and on the home page, per role."""

from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from core.home import Panel
from core.home import register as register_panel
from core.navigation import NavItem, register

from .permissions import BASE_MANAGERS, DEPARTMENT_MANAGERS, may_schedule, may_view_grid
from .selectors import home_rotation, may_view_departments


def _is_resident(user) -> bool:
    return bool(user.is_authenticated) and user.scope.is_resident


def _manages_departments(user) -> bool:
    """From the roles alone (no query on every page): whoever rotation.permissions.managed_departments serves."""
    return bool(user.is_authenticated) and user.scope.has_role(
        *DEPARTMENT_MANAGERS, *BASE_MANAGERS, Role.TRAINING_OFFICE
    )


def _subscribes_without_rotation(user) -> bool:
    """Supervisors' calendars; residents reach theirs from 我的轮转."""
    return bool(user.is_authenticated) and user.scope.has_role(Role.SUPERVISOR) and not user.scope.is_resident


register(
    NavItem(label=_("My rotation"), url_name="rotation:mine", icon="calendar-week", order=16, allowed=_is_resident)
)
register(
    NavItem(
        label=_("Department rotation"),
        url_name="rotation:departments",
        icon="building",
        order=45,
        allowed=may_view_departments,
    )
)
register(
    NavItem(
        label=_("Supervisor assignment"),
        url_name="rotation:supervision",
        icon="person-check",
        order=46,
        allowed=_manages_departments,
    )
)
register(
    NavItem(label=_("Rotation schedule"), url_name="rotation:grid", icon="calendar3", order=50, allowed=may_view_grid)
)
register(NavItem(label=_("Schedule runs"), url_name="rotation:runs", icon="cpu", order=51, allowed=may_view_grid))
register(
    NavItem(
        label=_("Rotation calendar"),
        url_name="rotation:ical_subscribe",
        icon="calendar-plus",
        order=90,
        allowed=_subscribes_without_rotation,
    )
)
register(
    NavItem(label=_("My electives"), url_name="rotation:my_preferences", icon="list-ol", order=17, allowed=_is_resident)
)
register(
    NavItem(
        label=_("Rotation programmes"),
        url_name="rotation:programme_list",
        icon="diagram-3",
        order=52,
        allowed=lambda u: may_schedule(u) or bool(u.scope.bases(*BASE_MANAGERS)),
    )
)
register(
    NavItem(
        label=_("Department capacities"),
        url_name="rotation:department_list",
        icon="sliders",
        order=53,
        allowed=_manages_departments,
    )
)
register(
    NavItem(
        label=_("Elective windows"),
        url_name="rotation:preference_windows",
        icon="hourglass-split",
        order=54,
        allowed=may_schedule,
    )
)
register_panel(
    Panel(template="rotation/schedule/home_panel.html", context=home_rotation, allowed=_is_resident, order=13)
)
