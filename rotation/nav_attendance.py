"""Attendance in the menu.

The menu entry is decided from the roles alone (no query on every page). This month's report status
of each department is on the home page in the department panel (rotation/nav_department.py), with
the rest of the department's month, rather than in a panel of its own.
"""

from django.utils.translation import gettext_lazy as _

from core.navigation import NavItem, register

from .services.attendance import may_use_attendance

register(
    NavItem(
        label=_("Attendance"),
        url_name="rotation:attendance",
        icon="clipboard-check",
        order=47,
        allowed=may_use_attendance,
    )
)
