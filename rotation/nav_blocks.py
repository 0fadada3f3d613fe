"""入科教育 and 出科 in the menu and on the home page (the lead imports this module in rotation.apps)."""

from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from core.home import Panel
from core.home import register as register_panel
from core.navigation import NavItem, register

from .permissions import BASE_MANAGERS, DEPARTMENT_MANAGERS

STAFF_ROLES = (Role.SUPERVISOR, *DEPARTMENT_MANAGERS, *BASE_MANAGERS)


def _is_resident(user) -> bool:
    return bool(user.is_authenticated) and user.scope.is_resident


def _handles_exits(user) -> bool:
    """Supervisors assess, secretaries enter theory scores, heads agree, base managers review (roles only)."""
    return bool(user.is_authenticated) and user.scope.has_role(*STAFF_ROLES)


def _follows_entry_education(user) -> bool:
    return bool(user.is_authenticated) and user.scope.has_role(
        *DEPARTMENT_MANAGERS, Role.ATTENDANCE_CLERK, *BASE_MANAGERS, Role.TRAINING_OFFICE
    )


def resident_panel(request) -> dict:
    """The resident's 出科 tasks (summaries due) and entry educations to confirm."""
    from .services import entry_education, exits

    return {
        "summaries": exits.summary_due(request.user),
        "to_confirm": list(entry_education.to_confirm(request.user)[:5]),
    }


def staff_panel(request) -> dict:
    """How many exits wait for this user's step, per step."""
    from .services import exits

    due = exits.due_for(request.user)
    return {"counts": {key: queryset.count() for key, queryset in due.items()}}


register(
    NavItem(
        label=_("My exits"), url_name="rotation:blocks_mine", icon="box-arrow-right", order=19, allowed=_is_resident
    )
)
register(
    NavItem(
        label=_("Exits waiting for me"),
        url_name="rotation:blocks_exits",
        icon="box-arrow-right",
        order=47,
        allowed=_handles_exits,
    )
)
register(
    NavItem(
        label=_("Entry education"),
        url_name="rotation:blocks_entry_index",
        icon="door-open",
        order=48,
        allowed=_follows_entry_education,
    )
)
register_panel(
    Panel(template="rotation/blocks/home_resident.html", context=resident_panel, allowed=_is_resident, order=15)
)
register_panel(Panel(template="rotation/blocks/home_staff.html", context=staff_panel, allowed=_handles_exits, order=24))
