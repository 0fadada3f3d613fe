"""Teaching plans and the calendar in the menu and on the home page (the lead imports this in apps.ready)."""

import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.home import Panel
from core.home import register as register_panel
from core.navigation import NavItem, register

from .choices import ActivityStatus
from .permissions import DEPARTMENT_STAFF
from .services.plans import expected_or_teaching
from .views_plans import may_edit_types, may_view_plans


def _signed_in(user) -> bool:
    return bool(user.is_authenticated)


def _is_resident(user) -> bool:
    return bool(user.is_authenticated) and user.scope.is_resident


def _teaches(user) -> bool:
    """Department staff (from the roles alone, no query): their panel lists what they teach this week."""
    return bool(user.is_authenticated) and user.scope.has_role(*DEPARTMENT_STAFF)


def _upcoming(request) -> dict:
    """The resident's next 7 days of activities they are expected at."""
    now = timezone.now()
    activities = expected_or_teaching(request.user).filter(
        ends_at__gte=now, starts_at__lt=now + datetime.timedelta(days=7), status=ActivityStatus.APPROVED
    )
    return {"title": _("Upcoming teaching"), "activities": list(activities[:10])}


def _teaching_this_week(request) -> dict:
    today = timezone.localdate()
    monday = today - datetime.timedelta(days=today.weekday())
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(monday, datetime.time.min, tzinfo=tz)
    activities = (
        expected_or_teaching(request.user)
        .filter(teacher=request.user, starts_at__gte=start, starts_at__lt=start + datetime.timedelta(days=7))
        .exclude(status=ActivityStatus.CANCELLED)
    )
    return {"title": _("My teaching this week"), "activities": list(activities[:10])}


register(
    NavItem(label=_("Teaching calendar"), url_name="teaching:calendar", icon="easel", order=30, allowed=_signed_in)
)
register(
    NavItem(
        label=_("Teaching plans"),
        url_name="teaching:plans_index",
        icon="journal-text",
        order=47,
        allowed=may_view_plans,
    )
)
register(
    NavItem(label=_("Activity types"), url_name="teaching:plans_types", icon="tags", order=56, allowed=may_edit_types)
)
register_panel(Panel(template="teaching/plans/home_upcoming.html", context=_upcoming, allowed=_is_resident, order=14))
register_panel(
    Panel(template="teaching/plans/home_upcoming.html", context=_teaching_this_week, allowed=_teaches, order=24)
)
