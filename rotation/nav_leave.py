"""Leave in the menu and on the resident's home page (the lead imports this module in apps.ready)."""

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from core.home import Panel
from core.home import register as register_panel
from core.navigation import NavItem, register

from .choices import LeaveStatus
from .models import LeaveRequest
from .permissions import BASE_MANAGERS, DEPARTMENT_MANAGERS


def _is_resident(user) -> bool:
    return bool(user.is_authenticated) and user.scope.is_resident


def _sees_leave(user) -> bool:
    """From the roles alone: the office, base managers, department managers and attendance clerks."""
    return bool(user.is_authenticated) and user.scope.has_role(
        *DEPARTMENT_MANAGERS, Role.ATTENDANCE_CLERK, *BASE_MANAGERS, Role.TRAINING_OFFICE
    )


def home_leave(request) -> dict:
    """Pending requests and approved leave that ended without 销假 (1 query)."""
    today = timezone.localdate()
    to_report = Q(status=LeaveStatus.APPROVED, returned_on__isnull=True, end_date__lt=today)
    leaves = list(
        LeaveRequest.objects.filter(resident__user=request.user)
        .filter(Q(status=LeaveStatus.PENDING) | to_report)
        .order_by("start_date")[:10]
    )
    return {
        "pending": [lv for lv in leaves if lv.status == LeaveStatus.PENDING],
        "to_report": [lv for lv in leaves if lv.status == LeaveStatus.APPROVED],
    }


register(
    NavItem(label=_("My leave"), url_name="rotation:leave_mine", icon="calendar2-x", order=18, allowed=_is_resident)
)
register(NavItem(label=_("Leave"), url_name="rotation:leave_list", icon="calendar2-x", order=47, allowed=_sees_leave))
register_panel(Panel(template="rotation/leave/home_panel.html", context=home_leave, allowed=_is_resident, order=15))
