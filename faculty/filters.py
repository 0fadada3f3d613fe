import re

import django_filters
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from accounts.models import SpecialtyBase
from core.filters import StyledFilterSet

from .choices import TeachingPostKind, Title
from .models import FacultyProfile, TeachingPost
from .selectors import current_posts_q, departments_for


class QualificationState:
    VALID = "valid"
    LAPSED = "lapsed"
    NEVER = "never"
    CHOICES = [
        (VALID, _("Qualified now")),
        (LAPSED, _("Expired or revoked")),
        (NEVER, _("Never qualified")),
    ]


#: The only orders a list can be sorted in (a sort key from the URL never reaches order_by()).
SORTS = {
    "name": ("name_initials", "user__real_name"),
    "department": ("department__code", "name_initials"),
    "title": ("title_rank", "name_initials"),
    "teaching_since": ("teaching_since", "name_initials"),
}
SORT_CHOICES = [
    ("name", _("Name")),
    ("-name", _("Name (Z–A)")),
    ("department", _("Department")),
    ("-department", _("Department (descending)")),
    ("-title", _("Title (highest first)")),
    ("title", _("Title (lowest first)")),
    ("teaching_since", _("Teaching longest first")),
    ("-teaching_since", _("Teaching shortest first")),
]

_LETTERS = re.compile(r"^[a-z]+$")


def _departments(request):
    """Only departments and bases where the user can see teachers are offered."""
    return departments_for(request.user)


def _bases(request):
    return SpecialtyBase.objects.filter(pk__in=departments_for(request.user).values("base_id")).order_by("code")


class FacultyFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Name, initials or staff number"), method="search")
    department = django_filters.ModelChoiceFilter(label=_("Department"), queryset=_departments)
    base = django_filters.ModelChoiceFilter(label=_("Specialty base"), field_name="department__base", queryset=_bases)
    title = django_filters.ChoiceFilter(label=_("Title"), choices=Title.choices)
    qualification = django_filters.ChoiceFilter(
        label=_("Qualification"), choices=QualificationState.CHOICES, method="with_qualification"
    )
    post = django_filters.ChoiceFilter(label=_("Post held now"), choices=TeachingPostKind.choices, method="holding")
    sort = django_filters.ChoiceFilter(label=_("Sort by"), choices=SORT_CHOICES, method="sort_by")

    class Meta:
        model = FacultyProfile
        fields = ["q", "department", "base", "title", "qualification", "post", "sort"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        match = Q(user__real_name__icontains=value) | Q(user__staff_number__icontains=value)
        letters = value.lower().replace(" ", "")
        if _LETTERS.match(letters):  # "zdj" finds 张带教 by the initials people type on a phone
            match |= Q(name_initials__contains=letters)
        return queryset.filter(match)

    def with_qualification(self, queryset, name, value):
        if value == QualificationState.VALID:
            return queryset.filter(qualified_now=True)
        if value == QualificationState.LAPSED:
            return queryset.filter(ever_qualified=True, qualified_now=False)
        if value == QualificationState.NEVER:
            return queryset.filter(ever_qualified=False)
        return queryset

    def holding(self, queryset, name, value):
        posts = TeachingPost.objects.filter(current_posts_q(), kind=value)
        return queryset.filter(pk__in=posts.values("faculty_id"))

    def sort_by(self, queryset, name, value):
        descending = value.startswith("-")
        fields = SORTS.get(value.lstrip("-"))
        if not fields:
            return queryset
        first, *rest = fields
        order = F(first).desc(nulls_last=True) if descending else F(first).asc(nulls_last=True)
        return queryset.order_by(order, *rest, "pk")
