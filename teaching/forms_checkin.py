"""Forms of the check-in pages: marking attendance by hand, and the anomaly report's filter."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Department
from core.filters import StyledFilterSet

from .choices import Purpose
from .models import Activity
from .permissions import office_hospitals


class ResidentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.real_name or obj.username} ({obj.username})"


class MarkForm(forms.Form):
    """Mark one resident present by hand: check-in and/or check-out, always with a reason."""

    user = ResidentChoiceField(label=_("Resident"), queryset=None, widget=forms.Select(attrs={"class": "form-select"}))
    purposes = forms.MultipleChoiceField(
        label=_("Mark"),
        choices=[(Purpose.CHECK_IN, Purpose.CHECK_IN.label), (Purpose.CHECK_OUT, Purpose.CHECK_OUT.label)],
        widget=forms.CheckboxSelectMultiple,
        initial=[Purpose.CHECK_IN, Purpose.CHECK_OUT],
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
        help_text=_("Why the resident could not scan (e.g. phone battery empty). Shown in the attendance reports."),
    )

    def __init__(self, *args, residents, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = residents

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Give the reason for marking attendance by hand."))
        return reason


def _office_departments(request):
    hospitals = office_hospitals(request.user)
    return Department.objects.filter(hospital_id__in=hospitals) | Department.objects.filter(
        hospital__parent_id__in=hospitals
    )


class AnomalyFilter(StyledFilterSet):
    """Activities whose anomalies the office looks at: by date range and department."""

    date_from = django_filters.DateFilter(
        label=_("From"), field_name="starts_at", lookup_expr="date__gte", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = django_filters.DateFilter(
        label=_("Until"),
        field_name="starts_at",
        lookup_expr="date__lte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    department = django_filters.ModelChoiceFilter(label=_("Department"), queryset=_office_departments)

    class Meta:
        model = Activity
        fields = ["date_from", "date_to", "department"]
