"""The training-change request form: shape only; the rules per kind live in residents.changes."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import SpecialtyBase

from .changes import KIND_FIELDS, MAX_EXTENSION_YEARS
from .choices import ChangeKind
from .models import ResidentProfile


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs={"class": "form-control", **(attrs or {})}, format="%Y-%m-%d")


class TrainingChangeForm(forms.Form):
    """One form per kind: the view picks the kind first, the form keeps only the fields that kind needs."""

    kind = forms.ChoiceField(label=_("Requested change"), choices=ChangeKind.choices, widget=forms.HiddenInput)
    effective_date = forms.DateField(
        label=_("Effective date"),
        widget=DateInput(),
        help_text=_("The day the change takes effect. The archive changes only after the final approval."),
        error_messages={"required": _("Give the date the change takes effect.")},
    )
    new_planned_end_date = forms.DateField(
        label=_("New planned end date"),
        widget=DateInput(),
        error_messages={"required": _("Give the new planned end date of training.")},
    )
    new_base = forms.ModelChoiceField(
        label=_("New specialty base"),
        queryset=SpecialtyBase.objects.none(),
        empty_label=_("Choose a base"),
        widget=forms.Select(attrs={"class": "form-select"}),
        help_text=_("An active base of the same hospital. The resident's role moves to it once approved."),
        error_messages={"required": _("Choose the new specialty base.")},
    )
    new_cohort = forms.IntegerField(
        label=_("New cohort"),
        min_value=2000,
        max_value=2100,
        widget=forms.NumberInput(attrs={"class": "form-control", "inputmode": "numeric"}),
        help_text=_("The year of enrollment the resident moves to."),
        error_messages={"required": _("Give the new cohort (year of enrollment).")},
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 4}),
        help_text=_("The approvers read it, and the archive keeps it in the status history."),
        error_messages={"required": _("Give the reason for this change: the approvers and the archive keep it.")},
    )

    def __init__(self, *args, profile: ResidentProfile, kind: str, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"] = {"kind": kind, "effective_date": timezone.localdate(), **kwargs["initial"]}
        super().__init__(*args, **kwargs)
        self.profile = profile
        needs = KIND_FIELDS.get(kind, ())
        for name in ("new_planned_end_date", "new_base", "new_cohort"):
            if name not in needs:
                del self.fields[name]
        if "new_planned_end_date" in self.fields:
            self.fields["new_planned_end_date"].help_text = gettext(
                "Later than the current planned end, and at most %(years)d years after the original one."
            ) % {"years": MAX_EXTENSION_YEARS}
        if "new_base" in self.fields:
            self.fields["new_base"].queryset = SpecialtyBase.objects.filter(
                hospital_id=profile.base.hospital_id, is_active=True
            ).exclude(pk=profile.base_id)

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "effective_date": data["effective_date"],
            "reason": data["reason"],
            "new_base": data.get("new_base"),
            "new_cohort": data.get("new_cohort"),
            "new_planned_end_date": data.get("new_planned_end_date"),
        }
