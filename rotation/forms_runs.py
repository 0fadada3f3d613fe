"""Forms of the scheduling pages: what to generate, and the filters of a run's grid."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, SpecialtyBase
from core.filters import StyledFilterSet
from residents.models import ResidentProfile

from .choices import EntryKind, RunScope
from .models import ScheduleEntry
from .services.runs import MAX_TIME_LIMIT, MIN_TIME_LIMIT


class GenerateForm(forms.Form):
    """Shape only: runs.start_run checks what the hospital allows."""

    scope = forms.ChoiceField(label=_("What to schedule"), choices=RunScope.choices, initial=RunScope.HOSPITAL)
    base = forms.ModelChoiceField(
        label=_("Specialty base"),
        queryset=SpecialtyBase.objects.none(),
        required=False,
        help_text=_("For a base, or to narrow a cohort to one base."),
    )
    cohort = forms.IntegerField(label=_("Cohort"), required=False, min_value=2000, max_value=2100)
    time_limit = forms.IntegerField(
        label=_("Time limit (seconds)"),
        initial=60,
        min_value=MIN_TIME_LIMIT,
        max_value=MAX_TIME_LIMIT,
        help_text=_("Longer searches balance departments better; %(low)s–%(high)s seconds.")
        % {"low": MIN_TIME_LIMIT, "high": MAX_TIME_LIMIT},
    )

    def __init__(self, *args, hospitals=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["base"].queryset = SpecialtyBase.objects.filter(hospital__in=hospitals).order_by("code")
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("class", "form-select" if name in {"scope", "base"} else "form-control")

    def clean(self):
        data = super().clean()
        scope = data.get("scope")
        if scope == RunScope.BASE and not data.get("base"):
            self.add_error("base", _("Choose the specialty base to schedule."))
        if scope == RunScope.COHORT and not data.get("cohort"):
            self.add_error("cohort", _("Enter the cohort (year of enrolment) to schedule."))
        return data


class RunGridFilter(StyledFilterSet):
    """Rows of a run's grid: residents of a base, a cohort, or who rotate through a department."""

    base = django_filters.ModelChoiceFilter(label=_("Specialty base"), queryset=SpecialtyBase.objects.none())
    cohort = django_filters.TypedChoiceFilter(label=_("Cohort"), coerce=int, choices=[])
    department = django_filters.ModelChoiceFilter(
        label=_("Department"), queryset=Department.objects.none(), method="rotating_in"
    )

    class Meta:
        model = ResidentProfile
        fields = ["base", "cohort", "department"]

    def __init__(self, *args, run=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.run = run
        residents = self.queryset
        self.filters["base"].queryset = SpecialtyBase.objects.filter(pk__in=residents.values("base_id")).order_by(
            "code"
        )
        cohorts = residents.order_by("-cohort").values_list("cohort", flat=True).distinct()
        self.filters["cohort"].extra["choices"] = [(c, str(c)) for c in cohorts]
        self.filters["department"].queryset = Department.objects.filter(
            pk__in=ScheduleEntry.objects.filter(run=run, kind=EntryKind.ROTATION).values("department_id")
        ).order_by("code")
        for name in ("base", "cohort", "department"):  # the querysets were set after StyledFilterSet ran
            field = self.form.fields[name]
            if hasattr(field, "queryset"):
                field.queryset = self.filters[name].queryset
            else:
                field.choices = [("", field.label), *self.filters[name].extra["choices"]]

    def rotating_in(self, queryset, name, value):
        if not value:
            return queryset
        entries = ScheduleEntry.objects.filter(run=self.run, resident_id=OuterRef("pk"), department=value)
        return queryset.filter(Exists(entries))
