"""Forms of the monthly attendance report: the clerk's figures per resident, the office's reopen, the
statistics filter. Shapes only; the rules (leave + absence within the schedule) live in
rotation.services.attendance.line_errors, which the line form calls so every message sits on its field.
"""

import django_filters
from django import forms
from django.forms import BaseModelFormSet, modelformset_factory
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, SpecialtyBase
from core.filters import StyledFilterSet

from .choices import ReportStatus
from .models import AttendanceLine, AttendanceReport
from .months import month_end, parse_month
from .selectors import viewable_departments
from .services.attendance import line_errors


class AttendanceLineForm(forms.ModelForm):
    """One resident's row: duty days, absences (half days) and a note; leave comes from approved requests."""

    # No min_value here: the service's messages ("cannot be negative") say more than Django's.
    duty_days = forms.IntegerField(label=_("Duty days"), required=False)
    absence_days = forms.DecimalField(label=_("Absence days"), required=False, max_digits=4, decimal_places=1)

    class Meta:
        model = AttendanceLine
        fields = ["duty_days", "absence_days", "note"]

    def __init__(self, *args, month=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.month = month
        for name in ("duty_days", "absence_days"):
            self.fields[name].widget.attrs.update(
                {"class": "form-control form-control-sm", "inputmode": "decimal", "min": "0"}
            )
        self.fields["duty_days"].widget.attrs["inputmode"] = "numeric"
        self.fields["absence_days"].widget.attrs["step"] = "0.5"
        self.fields["note"].widget.attrs.update({"class": "form-control form-control-sm", "maxlength": "300"})
        self.fields["note"].required = False

    def clean(self):
        data = super().clean()
        for name in ("duty_days", "absence_days"):
            if data.get(name) is None and name not in self.errors:
                data[name] = 0
        problems = line_errors(
            scheduled_days=self.instance.scheduled_days,
            leave_days=self.instance.leave_days,
            duty_days=data.get("duty_days", 0),
            absence_days=data.get("absence_days", 0),
            month=self.month,
        )
        for field, messages in problems.items():
            if field not in self.errors:  # a field that did not parse already says why
                for message in messages:
                    self.add_error(field, message)
        return data


class _LineFormSet(BaseModelFormSet):
    def __init__(self, *args, month=None, **kwargs):
        self.month = month
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "month": self.month}


AttendanceLineFormSet = modelformset_factory(
    AttendanceLine, form=AttendanceLineForm, formset=_LineFormSet, extra=0, can_delete=False, edit_only=True
)


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for reopening"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
        error_messages={"required": _("Give the reason for reopening: the clerk and the auditors read it.")},
    )


class MonthInput(forms.DateInput):
    input_type = "month"

    def format_value(self, value):
        return value.strftime("%Y-%m") if hasattr(value, "strftime") else value


class MonthField(forms.Field):
    widget = MonthInput

    def to_python(self, value):
        if value in (None, ""):
            return None
        month = parse_month(value)
        if month is None:
            raise forms.ValidationError(_("Enter a month as YYYY-MM."), code="invalid")
        return month


class MonthFilter(django_filters.Filter):
    field_class = MonthField


def _departments(request):
    return (
        viewable_departments(request.user).order_by("hospital__kind", "code") if request else Department.objects.none()
    )


def _bases(request):
    if request is None:
        return SpecialtyBase.objects.none()
    return SpecialtyBase.objects.filter(pk__in=viewable_departments(request.user).values("base_id")).order_by("code")


class AttendanceFilter(StyledFilterSet):
    """Statistics and the report list: department, base, months from–to (reports' months), status."""

    department = django_filters.ModelChoiceFilter(
        label=_("Department"), queryset=_departments, field_name="report__department"
    )
    base = django_filters.ModelChoiceFilter(
        label=_("Specialty base"), queryset=_bases, field_name="report__department__base"
    )
    month_from = MonthFilter(label=_("From month"), method="filter_from")
    month_to = MonthFilter(label=_("To month"), method="filter_to")
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=ReportStatus.choices, field_name="report__status", empty_label=_("Any status")
    )

    class Meta:
        model = AttendanceLine
        fields = ["department", "base", "month_from", "month_to", "status"]

    def filter_from(self, queryset, name, value):
        return queryset.filter(report__month__gte=value)

    def filter_to(self, queryset, name, value):
        return queryset.filter(report__month__lte=month_end(value))


class ReportFilter(StyledFilterSet):
    """The list of monthly reports a user may see."""

    department = django_filters.ModelChoiceFilter(label=_("Department"), queryset=_departments)
    base = django_filters.ModelChoiceFilter(label=_("Specialty base"), queryset=_bases, field_name="department__base")
    month_from = MonthFilter(label=_("From month"), field_name="month", lookup_expr="gte")
    month_to = MonthFilter(label=_("To month"), field_name="month", lookup_expr="lte")
    status = django_filters.ChoiceFilter(label=_("Status"), choices=ReportStatus.choices)

    class Meta:
        model = AttendanceReport
        fields = ["department", "base", "month_from", "month_to", "status"]
