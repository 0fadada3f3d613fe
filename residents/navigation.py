from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from core.home import Panel
from core.home import register as register_panel
from core.navigation import NavItem, register
from core.permissions import visible

from .choices import BatchStatus, ChangeState, TrainingStatus
from .models import EnrollmentBatch, ResidentProfile
from .permissions import may_enroll, may_list_residents


def _is_resident(user) -> bool:
    return bool(user.is_authenticated) and user.scope.is_resident


register(NavItem(label=_("My archive"), url_name="residents:mine", icon="person-vcard", order=15, allowed=_is_resident))
register(
    NavItem(
        label=_("Residents"), url_name="residents:list", icon="person-lines-fill", order=40, allowed=may_list_residents
    )
)
register(
    NavItem(
        label=_("Enrollment"), url_name="residents:batch_list", icon="clipboard-check", order=70, allowed=may_enroll
    )
)


def _my_training(request) -> dict:
    profile = (
        ResidentProfile.objects.select_related("base", "mentor")
        .filter(user=request.user)
        .annotate(pending=Count("training_changes", filter=Q(training_changes__state=ChangeState.PENDING)))
        .first()
    )
    return {"profile": profile}


def _office_overview(request) -> dict:
    residents = visible(request.user, ResidentProfile)
    by_status = dict(residents.order_by().values_list("status").annotate(n=Count("pk")))
    statuses = [(label, by_status.get(value, 0), value) for value, label in TrainingStatus.choices]
    batches = visible(request.user, EnrollmentBatch).filter(status=BatchStatus.OPEN)
    return {"statuses": statuses, "total": sum(by_status.values()), "open_batches": list(batches[:3])}


register_panel(
    Panel(template="residents/includes/my_training_panel.html", context=_my_training, allowed=_is_resident, order=12)
)
register_panel(
    Panel(template="residents/includes/office_panel.html", context=_office_overview, allowed=may_enroll, order=12)
)
