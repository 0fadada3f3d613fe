import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.filters import StyledFilterSet

from .choices import Role, UserStatus
from .models import Department, SpecialtyBase, User


class UserFilter(StyledFilterSet):
    q = django_filters.CharFilter(label=_("Name, username or number"), method="search")
    status = django_filters.ChoiceFilter(label=_("Status"), choices=UserStatus.choices)
    role = django_filters.ChoiceFilter(label=_("Role"), choices=Role.choices, method="with_role")
    base = django_filters.ModelChoiceFilter(
        label=_("Specialty base"), queryset=SpecialtyBase.objects.all(), method="in_base"
    )
    department = django_filters.ModelChoiceFilter(
        label=_("Department"),
        queryset=Department.objects.all(),
        field_name="role_assignments__department",
        distinct=True,
    )

    class Meta:
        model = User
        fields = ["q", "status", "role", "base", "department"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(real_name__icontains=value) | Q(username__icontains=value) | Q(staff_number__icontains=value)
        )

    def with_role(self, queryset, name, value):
        return queryset.filter(role_assignments__role=value).distinct()

    def in_base(self, queryset, name, value):
        return queryset.filter(
            Q(role_assignments__base=value) | Q(role_assignments__department__base=value) | Q(applied_base=value)
        ).distinct()
