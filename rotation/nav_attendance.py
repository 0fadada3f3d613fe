"""Attendance in the menu and on the home page.

The menu entry is decided from the roles alone (no query on every page); the home panel shows this
month's report status of each department the user keeps attendance for, heads or is secretary of.
"""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from accounts.models import Department
from core.home import Panel
from core.home import register as register_panel
from core.navigation import NavItem, register

from .months import month_start
from .permissions import DEPARTMENT_MANAGERS
from .services.attendance import may_use_attendance, month_statuses

PANEL_ROLES = (Role.ATTENDANCE_CLERK, *DEPARTMENT_MANAGERS)


def _keeps_department(user) -> bool:
    return bool(user.is_authenticated) and user.scope.has_role(*PANEL_ROLES)


def home_attendance(request) -> dict:
    """This month's report of each of the user's departments: not opened / open / submitted / approved."""
    month = month_start(timezone.localdate())
    departments = list(Department.objects.filter(pk__in=request.user.scope.departments(*PANEL_ROLES)).order_by("code"))
    reports = month_statuses(departments, [month])
    rows = [{"department": d, "month": month, "report": reports.get((d.pk, month))} for d in departments]
    return {"rows": rows, "month": month}


register(
    NavItem(
        label=_("Attendance"),
        url_name="rotation:attendance",
        icon="clipboard-check",
        order=47,
        allowed=may_use_attendance,
    )
)
register_panel(
    Panel(
        template="rotation/attendance/home_panel.html",
        context=home_attendance,
        allowed=_keeps_department,
        order=30,
    )
)
