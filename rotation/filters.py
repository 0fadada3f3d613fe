"""Filters of rotation lists (django-filter, phone-styled through core.filters.StyledFilterSet)."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, Hospital, SpecialtyBase
from core.filters import StyledFilterSet

from .permissions import managed_departments


def _bases(request):
    """Only bases whose departments the user manages are offered."""
    return SpecialtyBase.objects.filter(pk__in=managed_departments(request.user).values("base_id")).order_by("code")


def _sites(request):
    return Hospital.objects.filter(pk__in=managed_departments(request.user).values("hospital_id"))


class DepartmentSettingFilter(StyledFilterSet):
    """Departments (with their rotation settings) a user manages: by base, site and name."""

    q = django_filters.CharFilter(label=_("Department name or code"), method="search")
    base = django_filters.ModelChoiceFilter(label=_("Specialty base"), queryset=_bases)
    hospital = django_filters.ModelChoiceFilter(label=_("Hospital or site"), queryset=_sites)

    class Meta:
        model = Department
        fields = ["q", "base", "hospital"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(code__icontains=value) | Q(name_en__icontains=value))
