import django_filters
from django.utils.translation import gettext_lazy as _

from core.filters import StyledFilterSet

from . import registry
from .choices import RequestStatus
from .models import ApprovalRequest


def _workflow_choices():
    return [(code, wf.label) for code, wf in sorted(registry.workflows().items())]


class ApprovalRequestFilter(StyledFilterSet):
    workflow = django_filters.ChoiceFilter(label=_("Type"), choices=_workflow_choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=RequestStatus.choices)
    q = django_filters.CharFilter(label=_("Search"), field_name="title", lookup_expr="icontains")

    class Meta:
        model = ApprovalRequest
        fields = ["workflow", "status", "q"]
