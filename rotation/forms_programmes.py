"""Forms of programmes, department settings, supervisors and preference windows: shape only.

Business rules (the sum rule, capacities, windows) live in rotation/programmes.py.
"""

import json
import re
from datetime import date

from django import forms
from django.forms import BaseInlineFormSet, inlineformset_factory
from django.utils.translation import gettext_lazy as _

from accounts.choices import SiteKind
from accounts.models import Department, Hospital, SpecialtyBase

from .choices import RequirementKind
from .models import Programme, ProgrammeRequirement
from .services.programmes import PROGRAMME_FIELDS, TRAINING_YEARS

NUMBER = {"class": "form-control", "inputmode": "numeric"}


class DepartmentChoiceMixin:
    """Departments of collaborating sites carry the site's name, so 感染科 at 二院 is told apart."""

    def label_from_instance(self, obj: Department) -> str:
        if obj.hospital.kind == SiteKind.COLLABORATING:
            return f"{obj.name}（{obj.hospital.short_name or obj.hospital.name}）"
        return obj.name


class DepartmentChoiceField(DepartmentChoiceMixin, forms.ModelChoiceField):
    pass


class DepartmentMultipleChoiceField(DepartmentChoiceMixin, forms.ModelMultipleChoiceField):
    pass


class ProgrammeForm(forms.ModelForm):
    class Meta:
        model = Programme
        fields = list(PROGRAMME_FIELDS)
        widgets = {
            "name": forms.TextInput(attrs={"class": "form-control"}),
            "total_months": forms.NumberInput(attrs=NUMBER),
            "source": forms.Textarea(attrs={"class": "form-control", "rows": 2}),
            "max_sites": forms.NumberInput(attrs=NUMBER),
            "max_site_departments": forms.NumberInput(attrs=NUMBER),
            "max_site_months": forms.NumberInput(attrs=NUMBER),
        }


class YearMinimumField(forms.CharField):
    """ "1:2, 2:1" (at least 2 months in the first training year, 1 in the second); JSON is accepted too."""

    PAIR = re.compile(r"^\s*(\d+)\s*[:：=]\s*(\d+)\s*$")

    def prepare_value(self, value):
        if isinstance(value, dict):
            return ", ".join(f"{year}:{months}" for year, months in sorted(value.items()))
        return value

    def has_changed(self, initial, data) -> bool:
        try:
            return (initial or {}) != self.to_python(data)
        except forms.ValidationError:
            return True

    def to_python(self, value) -> dict[str, int]:
        value = (value or "").strip()
        if not value:
            return {}
        if value.startswith("{"):
            try:
                parsed = json.loads(value)
                pairs = [(int(y), int(m)) for y, m in parsed.items()]
            except (ValueError, TypeError, AttributeError):
                raise forms.ValidationError(
                    _('Write the months per training year as "1:2, 2:1" (year:months).')
                ) from None
        else:
            pairs = []
            for part in re.split(r"[,，;；\s]+(?=\d+\s*[:：=])", value):
                match = self.PAIR.match(part.strip().rstrip(",，;；"))
                if not match:
                    raise forms.ValidationError(_('Write the months per training year as "1:2, 2:1" (year:months).'))
                pairs.append((int(match[1]), int(match[2])))
        result: dict[str, int] = {}
        for year, months in pairs:
            if year not in TRAINING_YEARS:
                raise forms.ValidationError(_("Training year %(year)s does not exist: use 1, 2 or 3.") % {"year": year})
            if str(year) in result:
                raise forms.ValidationError(_("Training year %(year)s is given twice.") % {"year": year})
            result[str(year)] = months
        return result


class RequirementForm(forms.ModelForm):
    year_minimum = YearMinimumField(
        label=_("months required per training year"),
        required=False,
        help_text=_('e.g. "1:2" = at least 2 of the months in the first training year'),
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm", "placeholder": "1:2"}),
    )

    class Meta:
        model = ProgrammeRequirement
        fields = ["position", "kind", "department", "options", "months", "choose", "max_runs", "year_minimum"]
        field_classes = {"department": DepartmentChoiceField, "options": DepartmentMultipleChoiceField}
        widgets = {
            "position": forms.NumberInput(attrs={**NUMBER, "class": "form-control form-control-sm", "min": 0}),
            "kind": forms.Select(attrs={"class": "form-select form-select-sm"}),
            "department": forms.Select(attrs={"class": "form-select form-select-sm"}),
            "options": forms.SelectMultiple(attrs={"class": "form-select form-select-sm", "size": 5}),
            "months": forms.NumberInput(attrs={**NUMBER, "class": "form-control form-control-sm", "min": 1}),
            "choose": forms.NumberInput(attrs={**NUMBER, "class": "form-control form-control-sm", "min": 1}),
            "max_runs": forms.NumberInput(attrs={**NUMBER, "class": "form-control form-control-sm", "min": 1}),
        }

    def __init__(self, *args, departments=None, **kwargs):
        super().__init__(*args, **kwargs)
        if departments is not None:
            self.fields["department"].queryset = departments
            self.fields["options"].queryset = departments
        self.fields["options"].required = False
        self.fields["choose"].required = False
        self.fields["max_runs"].required = False

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == RequirementKind.MANDATORY and not data.get("department"):
            self.add_error("department", _("Choose the department of a mandatory requirement."))
        if kind == RequirementKind.ELECTIVE and not data.get("options"):
            self.add_error("options", _("Choose the departments residents pick from."))
        data["choose"] = data.get("choose") or 1
        data["max_runs"] = data.get("max_runs") or 1
        return data


class BaseRequirementFormSet(BaseInlineFormSet):
    def __init__(self, *args, departments=None, queryset=None, **kwargs):
        self.departments = departments
        if queryset is None:
            queryset = ProgrammeRequirement.objects.select_related("department").prefetch_related("options")
        super().__init__(*args, queryset=queryset, **kwargs)

    def get_form_kwargs(self, index):
        return {**super().get_form_kwargs(index), "departments": self.departments}

    def _construct_form(self, i, **kwargs):
        """Every row offers the same departments: read them once, not twice per row."""
        form = super()._construct_form(i, **kwargs)
        if not hasattr(self, "_department_choices"):
            self._department_choices = list(form.fields["department"].choices)
            self._option_choices = list(form.fields["options"].choices)
        form.fields["department"].choices = self._department_choices
        form.fields["options"].choices = self._option_choices
        return form


RequirementFormSet = inlineformset_factory(
    Programme,
    ProgrammeRequirement,
    form=RequirementForm,
    formset=BaseRequirementFormSet,
    extra=2,
    can_delete=True,
)


# ---------------------------------------------------------------- departments
class DepartmentSettingForm(forms.Form):
    capacity = forms.IntegerField(
        label=_("maximum residents per month"),
        min_value=0,
        max_value=500,
        error_messages={"min_value": _("The capacity cannot be negative.")},
        widget=forms.NumberInput(attrs=NUMBER),
    )
    minimum = forms.IntegerField(
        label=_("minimum residents per month"),
        min_value=0,
        max_value=500,
        error_messages={"min_value": _("The minimum cannot be negative.")},
        widget=forms.NumberInput(attrs=NUMBER),
    )
    residents_per_supervisor = forms.IntegerField(
        label=_("residents per supervising doctor at a time"),
        min_value=1,
        max_value=20,
        help_text=_("The standard: at most 3, in 急诊 at most 2."),
        error_messages={"min_value": _("A supervising doctor takes at least one resident.")},
        widget=forms.NumberInput(attrs=NUMBER),
    )

    def clean(self):
        data = super().clean()
        capacity, minimum = data.get("capacity"), data.get("minimum")
        if capacity is not None and minimum is not None and minimum > capacity:
            self.add_error("minimum", _("The minimum cannot be above the capacity."))
        return data


class MonthField(forms.CharField):
    """A month as the browser's <input type="month"> sends it: 2027-02."""

    widget = forms.TextInput(attrs={"type": "month", "class": "form-control", "placeholder": "2027-02"})

    def to_python(self, value) -> date | None:
        value = (value or "").strip()
        if not value:
            return None
        match = re.match(r"^(\d{4})[-/.年](\d{1,2})月?$", value)
        if not match or not 1 <= int(match[2]) <= 12:
            raise forms.ValidationError(_("Enter a month as YYYY-MM, e.g. 2027-02."))
        return date(int(match[1]), int(match[2]), 1)

    def prepare_value(self, value):
        return f"{value:%Y-%m}" if isinstance(value, date) else value


class DepartmentMonthsForm(forms.Form):
    first = MonthField(label=_("from month"))
    last = MonthField(label=_("until month"), required=False, help_text=_("empty: only the first month"))
    capacity = forms.IntegerField(
        label=_("maximum residents"),
        required=False,
        min_value=0,
        max_value=500,
        help_text=_("empty: the department's setting"),
        error_messages={"min_value": _("The capacity cannot be negative.")},
        widget=forms.NumberInput(attrs=NUMBER),
    )
    minimum = forms.IntegerField(
        label=_("minimum residents"),
        required=False,
        min_value=0,
        max_value=500,
        help_text=_("empty: the department's setting"),
        error_messages={"min_value": _("The minimum cannot be negative.")},
        widget=forms.NumberInput(attrs=NUMBER),
    )
    closed = forms.BooleanField(label=_("closed to rotation"), required=False)
    note = forms.CharField(
        label=_("note"), required=False, max_length=200, widget=forms.TextInput(attrs={"class": "form-control"})
    )

    MAX_MONTHS = 120

    def clean(self):
        data = super().clean()
        first, last = data.get("first"), data.get("last") or data.get("first")
        if first and last:
            if last < first:
                self.add_error("last", _("The last month is before the first."))
            elif (last.year - first.year) * 12 + last.month - first.month >= self.MAX_MONTHS:
                self.add_error("last", _("At most %(n)s months at once.") % {"n": self.MAX_MONTHS})
            data["last"] = last
        return data


class SupervisorAddForm(forms.Form):
    user = forms.ModelChoiceField(
        label=_("supervising doctor"), queryset=None, widget=forms.Select(attrs={"class": "form-select"})
    )
    max_residents = forms.IntegerField(
        label=_("residents at a time"),
        required=False,
        min_value=1,
        max_value=20,
        help_text=_("empty: the department's setting"),
        widget=forms.NumberInput(attrs=NUMBER),
    )

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = candidates
        self.fields["user"].label_from_instance = lambda u: (
            f"{u.display_name} · {u.staff_number}" if u.staff_number else u.display_name
        )


class SupervisorRowForm(forms.Form):
    max_residents = forms.IntegerField(
        label=_("residents at a time"),
        required=False,
        min_value=1,
        max_value=20,
        widget=forms.NumberInput(attrs={**NUMBER, "class": "form-control form-control-sm"}),
    )
    is_active = forms.BooleanField(label=_("available"), required=False)


# ---------------------------------------------------------------- preference windows
class PreferenceWindowForm(forms.Form):
    hospital = forms.ModelChoiceField(
        label=_("hospital"), queryset=Hospital.objects.none(), widget=forms.Select(attrs={"class": "form-select"})
    )
    base = forms.ModelChoiceField(
        label=_("specialty base"),
        queryset=SpecialtyBase.objects.none(),
        required=False,
        empty_label=_("All bases"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    cohort = forms.IntegerField(
        label=_("cohort"),
        required=False,
        min_value=2000,
        max_value=2100,
        help_text=_("empty: every cohort"),
        widget=forms.NumberInput(attrs=NUMBER),
    )
    opens_at = forms.DateTimeField(
        label=_("opens at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local", "class": "form-control"})
    )
    closes_at = forms.DateTimeField(
        label=_("closes at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local", "class": "form-control"})
    )

    def __init__(self, *args, hospitals, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["hospital"].queryset = Hospital.objects.filter(pk__in=hospitals)
        self.fields["base"].queryset = SpecialtyBase.objects.filter(hospital_id__in=hospitals).order_by("code")
        if len(hospitals) == 1:
            self.fields["hospital"].initial = next(iter(hospitals))

    def clean(self):
        data = super().clean()
        opens, closes = data.get("opens_at"), data.get("closes_at")
        if opens and closes and closes <= opens:
            self.add_error("closes_at", _("The window must close after it opens."))
        base, hospital = data.get("base"), data.get("hospital")
        if base and hospital and base.hospital_id != hospital.pk:
            self.add_error("base", _("This specialty base belongs to another hospital."))
        return data
