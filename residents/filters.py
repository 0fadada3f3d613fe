"""The resident list's filters, shared by the page and its Excel export (one definition of "these rows")."""

import django_filters
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from accounts.models import Department, RoleAssignment, SpecialtyBase, User
from core.filters import StyledFilterSet
from rotation.models import RotationBlock

from .choices import TrainingCategory, TrainingStatus
from .models import ResidentProfile

#: ?sort= values the list accepts; anything else falls back to the default order.
SORTS: dict[str, tuple[str, ...]] = {
    "name": ("name_initials", "user__real_name"),
    "cohort": ("cohort",),
    "base": ("base__code",),
    "status": ("status",),
    "start": ("start_date",),
}
DEFAULT_ORDER = ("-cohort", "base__code", "name_initials", "user__real_name")
SORT_CHOICES = [
    ("", _("Default order")),
    ("name", _("Name (A-Z)")),
    ("-cohort", _("Cohort, newest first")),
    ("cohort", _("Cohort, oldest first")),
    ("base", _("Specialty base")),
    ("status", _("Training status")),
    ("-start", _("Start date, latest first")),
    ("start", _("Start date, earliest first")),
]


def ordering_for(sort: str | None) -> tuple[str, ...]:
    """Whitelisted ordering for ?sort=; unknown values are ignored, `pk` keeps pages stable."""
    sort = (sort or "").strip()
    descending = sort.startswith("-")
    fields = SORTS.get(sort[1:] if descending else sort)
    if not fields:
        return (*DEFAULT_ORDER, "pk")
    return (*(f"-{f}" if descending else f for f in fields), "pk")


def _cohort_choices():
    years = ResidentProfile.objects.order_by("-cohort").values_list("cohort", flat=True).distinct()
    return [(y, str(y)) for y in years]


def _mentors():
    """Mentors by role, and anyone already named as a resident's mentor."""
    holds_role = RoleAssignment.objects.filter(user_id=OuterRef("pk"), role=Role.MENTOR)
    mentored = ResidentProfile.objects.filter(mentor_id=OuterRef("pk"))
    return User.objects.filter(Exists(holds_role) | Exists(mentored)).order_by("real_name", "username")


class ResidentFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Name, pinyin initials or number"), method="search")
    base = django_filters.ModelChoiceFilter(
        label=_("Specialty base"), queryset=SpecialtyBase.objects.filter(is_active=True).order_by("code")
    )
    cohort = django_filters.TypedChoiceFilter(label=_("Cohort"), choices=_cohort_choices, coerce=int)
    status = django_filters.ChoiceFilter(label=_("Training status"), choices=TrainingStatus.choices)
    category = django_filters.ChoiceFilter(label=_("Training category"), choices=TrainingCategory.choices)
    training_years = django_filters.TypedChoiceFilter(
        label=_("Training years"), choices=[(1, "1"), (2, "2"), (3, "3")], coerce=int
    )
    department = django_filters.ModelChoiceFilter(
        label=_("Rotated in department"),
        queryset=Department.objects.filter(is_active=True).order_by("code"),
        method="rotated_in",
    )
    mentor = django_filters.ModelChoiceFilter(label=_("Responsible mentor"), queryset=_mentors())

    class Meta:
        model = ResidentProfile
        fields = ["q", "base", "cohort", "status", "category", "training_years", "department", "mentor"]

    def search(self, queryset, name, value):
        """李住院 is found by 住院, by lzy (pinyin initials) and by the staff number."""
        value = value.strip()
        if not value:
            return queryset
        query = Q(user__real_name__icontains=value) | Q(user__staff_number__icontains=value)
        letters = value.lower().replace(" ", "")
        if letters.isascii() and letters.isalpha():
            query |= Q(name_initials__contains=letters)
        return queryset.filter(query)

    def rotated_in(self, queryset, name, value):
        """Any block in the department (past, current or scheduled), each resident once.

        An uncorrelated IN (subquery), not EXISTS: planners without statistics (a fresh SQLite)
        ran the correlated EXISTS through the department index, once per resident (seconds at 5,000).
        """
        blocks = RotationBlock.objects.filter(department=value).values("resident_id")
        return queryset.filter(pk__in=blocks)

    def describe(self) -> dict[str, str]:
        """The filters in use as {label: shown value}, for the export's stamp and audit record."""
        if not self.is_bound or not self.is_valid():
            return {}
        described: dict[str, str] = {}
        for field_name, value in self.form.cleaned_data.items():
            if value in (None, ""):
                continue
            field = self.form.fields[field_name]
            shown = value
            if hasattr(field, "choices") and not hasattr(value, "_meta"):
                shown = dict((str(k), v) for k, v in field.choices).get(str(value), value)
            described[str(field.label)] = str(shown)
        return described
