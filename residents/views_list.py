"""The resident list (filtered, sorted, paginated, counted) and its Excel export."""

from django import forms
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import Count, Prefetch, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django_filters.views import FilterView

from core.permissions import deny, visible
from rotation.models import RotationBlock

from .choices import TrainingStatus
from .exports import export_residents, exportable, may_export_residents
from .filters import SORT_CHOICES, ResidentFilter, ordering_for
from .models import ResidentProfile
from .permissions import may_list_residents

#: What a row shows: narrow rows keep the sort for a deep page in memory (PostgreSQL spilled the
#: full-width rows, encrypted ID numbers and password hashes included, to disk at page 80).
LIST_FIELDS = (
    "uuid",
    "user",
    "user__real_name",
    "user__username",
    "user__staff_number",
    "user__phone",
    "base",
    "base__name",
    "base__code",
    "mentor",
    "mentor__real_name",
    "mentor__username",
    "name_initials",
    "cohort",
    "training_years",
    "status",
    "start_date",
)

#: Bootstrap badge per training status
STATUS_BADGES = {
    TrainingStatus.IN_TRAINING: "text-bg-success",
    TrainingStatus.EXTENDED: "text-bg-warning",
    TrainingStatus.SUSPENDED: "text-bg-secondary",
    TrainingStatus.WITHDRAWN: "text-bg-danger",
    TrainingStatus.COMPLETED: "text-bg-primary",
}


def _select_options(form) -> list[dict]:
    """The filter selects as plain data: Django renders every <option> through a template of its own,
    which with a few hundred mentors and departments cost more than the rest of the page."""
    selects = []
    for field in form:
        if not isinstance(field.field.widget, forms.Select) or field.name == "q":
            continue
        chosen = str(form.data.get(field.html_name, "") or "")
        options = [(str(value), label, str(value) == chosen) for value, label in field.field.choices]
        selects.append({"field": field, "options": options})
    return selects


def residents_for(user) -> QuerySet:
    """What `user` may see, with what a list row shows loaded up front (no query per row)."""
    today = timezone.localdate()
    current = RotationBlock.objects.filter(start_date__lte=today, end_date__gte=today).select_related("department")
    return (
        visible(user, ResidentProfile)
        .select_related("user", "base", "mentor")
        .only(*LIST_FIELDS)
        .prefetch_related(Prefetch("rotation_blocks", queryset=current, to_attr="current_blocks"))
    )


def filtered(request, queryset: QuerySet) -> tuple[ResidentFilter, QuerySet]:
    """The list's filters and ?sort= applied; invalid filters give nothing rather than everything."""
    filterset = ResidentFilter(request.GET or None, queryset=queryset, request=request)
    if filterset.is_bound and not filterset.is_valid():
        rows = queryset.none()
    else:
        rows = filterset.qs
    return filterset, rows.order_by(*ordering_for(request.GET.get("sort")))


class ResidentListView(LoginRequiredMixin, FilterView):
    template_name = "residents/resident_list.html"
    filterset_class = ResidentFilter
    paginate_by = 30
    context_object_name = "residents"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not may_list_residents(request.user):
            deny(request)
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return residents_for(self.request.user)

    def get(self, request, *args, **kwargs):
        self.filterset, rows = filtered(request, self.get_queryset())
        self.object_list = rows
        # One GROUP BY gives the per-status counts and the total (the paginator reuses it).
        by_status = dict(rows.order_by().prefetch_related(None).values_list("status").annotate(n=Count("pk")))
        self.status_counts = [(value, label, by_status.get(value, 0)) for value, label in TrainingStatus.choices]
        self.total = sum(by_status.values())
        return self.render_to_response(self.get_context_data(filter=self.filterset, object_list=rows))

    def get_paginator(self, queryset, per_page, orphans=0, allow_empty_first_page=True, **kwargs):
        paginator = super().get_paginator(queryset, per_page, orphans, allow_empty_first_page, **kwargs)
        paginator.count = self.total  # a cached_property: no second COUNT(*)
        return paginator

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        for profile in context["residents"]:
            blocks = getattr(profile, "current_blocks", [])
            profile.current_department = blocks[0].department if blocks else None
            profile.status_class = STATUS_BADGES.get(profile.status, "text-bg-secondary")
        user = self.request.user
        query = self.request.GET.copy()
        query.pop("page", None)
        context.update(
            selects=_select_options(self.filterset.form),
            total=self.total,
            status_counts=self.status_counts,
            sort=self.request.GET.get("sort", ""),
            sort_choices=SORT_CHOICES,
            can_export=may_export_residents(user),
            export_query=query.urlencode(),
            filtered=any(v for k, v in self.request.GET.items() if k not in {"page", "sort"}),
        )
        return context


class ResidentExportView(LoginRequiredMixin, View):
    """The filtered list as .xlsx, through core.exports (password, stamp, masking, audit)."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not may_export_residents(request.user):
            deny(request)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        user = request.user
        queryset = exportable(user, visible(user, ResidentProfile))
        filterset, rows = filtered(request, queryset)
        query = request.GET.urlencode()
        cancel_url = reverse("residents:list") + (f"?{query}" if query else "")
        return export_residents(
            request, rows, title=_("Residents"), filters=filterset.describe(), cancel_url=cancel_url
        )

    post = get
