import django_filters
from django.utils.translation import gettext_lazy as _

from core.filters import StyledFilterSet

from .choices import NoticeStatus
from .models import Notice


class NoticeFilter(StyledFilterSet):
    """Search and narrow the notice list. Only the office sees the status filter (others see published only)."""

    q = django_filters.CharFilter(label=_("Search"), field_name="title", lookup_expr="icontains")
    status = django_filters.ChoiceFilter(label=_("Status"), choices=NoticeStatus.choices, empty_label=_("Any status"))
    read = django_filters.ChoiceFilter(
        label=_("Read"), choices=[("unread", _("Unread")), ("read", _("Read"))], empty_label=_("Read and unread"),
        method="filter_read",
    )  # fmt: skip

    class Meta:
        model = Notice
        fields = ["q", "status", "read"]

    def __init__(self, *args, show_status: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not show_status:
            del self.filters["status"]
        self.filters["q"].field.widget.attrs.update(placeholder=_("Search titles"), type="search")

    def filter_read(self, queryset, name, value):
        """Relies on the `is_read` annotation of selectors.notices_for()."""
        if value == "read":
            return queryset.filter(is_read=True)
        if value == "unread":
            return queryset.filter(is_read=False)
        return queryset
