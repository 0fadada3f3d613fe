"""登记手册 in the menu and on the home page: the resident logs, the supervisor approves.

The lead imports this module from rotation/apps.py. Nav `allowed` callables read roles only (no
query); the supervisor's badge is one COUNT.
"""

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from core.home import Panel
from core.home import register as register_panel
from core.navigation import NavItem, register

from .choices import EntryStatus
from .models import CaseloadEntry, RotationBlock
from .services import caseload, caseload_progress

DECIDERS = (Role.SUPERVISOR, Role.DEPARTMENT_HEAD)


def _is_resident(user) -> bool:
    return bool(user.is_authenticated) and user.scope.is_resident


def _decides(user) -> bool:
    return bool(user.is_authenticated) and user.scope.has_role(*DECIDERS)


def resident_panel(request) -> dict:
    """Today: the current block's quota progress, what was logged today, drafts and returned entries."""
    today = timezone.localdate()
    block = (
        RotationBlock.objects.filter(resident__user=request.user, start_date__lte=today, end_date__gte=today)
        .select_related("department", "supervisor")
        .first()
    )
    counts = _status_counts(request.user)
    return {
        "block": block,
        "progress": caseload_progress.progress(block) if block else None,
        "today_count": CaseloadEntry.objects.filter(resident__user=request.user, day=today).count(),
        "drafts": counts.get(EntryStatus.DRAFT, 0),
        "returned": counts.get(EntryStatus.RETURNED, 0),
    }


def _status_counts(user) -> dict[str, int]:
    return dict(
        CaseloadEntry.objects.filter(resident__user=user, status__in=[EntryStatus.DRAFT, EntryStatus.RETURNED])
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )


def supervisor_panel(request) -> dict:
    """Entries waiting for the user's decision, and the residents they supervise now with their progress."""
    today = timezone.localdate()
    blocks = list(
        RotationBlock.objects.filter(supervisor=request.user, start_date__lte=today, end_date__gte=today)
        .select_related("resident__user", "department")
        .order_by("end_date", "pk")[:10]
    )
    progress = caseload_progress.progress_for(blocks)
    return {
        "waiting": caseload.waiting_count(request.user),
        "rows": [{"block": b, "progress": progress[b.pk]} for b in blocks],
    }


#: who follows residents' quotas without deciding entries (supervisors reach it from their approvals)
PROGRESS_VIEWERS = (
    Role.TEACHING_SECRETARY,
    Role.DEPARTMENT_HEAD,
    Role.BASE_DIRECTOR,
    Role.BASE_SECRETARY,
    Role.TRAINING_OFFICE,
)

register(
    NavItem(
        label=_("Caseload log"), url_name="rotation:caseload_mine", icon="journal-medical", order=18,
        allowed=_is_resident,
    )
)  # fmt: skip
register(
    NavItem(
        label=_("Caseload approvals"),
        url_name="rotation:caseload_inbox",
        icon="journal-check",
        order=40,
        allowed=_decides,
        badge=caseload.waiting_count,
    )
)
register(
    NavItem(
        label=_("Caseload progress"),
        url_name="rotation:caseload_blocks",
        icon="bar-chart-steps",
        order=41,
        allowed=lambda u: bool(u.is_authenticated) and u.scope.has_role(*PROGRESS_VIEWERS),
    )
)
register_panel(
    Panel(template="rotation/caseload/home_resident.html", context=resident_panel, allowed=_is_resident, order=14)
)
register_panel(
    Panel(template="rotation/caseload/home_supervisor.html", context=supervisor_panel, allowed=_decides, order=14)
)
