"""Enrollment forms check shape; residents.enrollment.service enforces the rules again under a lock."""

from collections.abc import Sequence

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Hospital, SpecialtyBase

from .forms import DateInput, StyledFormMixin
from .models import EnrollmentBatch


class BatchForm(StyledFormMixin, forms.ModelForm):
    """A batch and one quota input per active base of its hospital; a blank or 0 quota leaves the base out.

    Editing: the year and hospital stay; a quota may not drop below the residents enrolled in
    its base, and the start date is fixed once anyone is enrolled.
    """

    class Meta:
        model = EnrollmentBatch
        fields = ["year", "name", "start_date", "note"]
        widgets = {"start_date": DateInput(), "note": forms.Textarea(attrs={"rows": 3})}

    def __init__(
        self,
        *args,
        hospitals: Sequence[Hospital],
        bases: Sequence[SpecialtyBase],
        quotas: dict[int, int] | None = None,
        enrolled: dict[int, int] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.bases = list(bases)
        self.enrolled = enrolled or {}
        editing = self.instance.pk is not None
        if editing:
            del self.fields["year"]
            if sum(self.enrolled.values()):
                self.fields["start_date"].disabled = True
                self.fields["start_date"].help_text = _("Fixed once residents are enrolled.")
        else:
            self.fields["year"].initial = timezone.localdate().year
            if len(hospitals) > 1:
                self.fields["hospital"] = forms.ModelChoiceField(
                    label=_("Hospital"), queryset=Hospital.objects.filter(pk__in=[h.pk for h in hospitals])
                )
        self.default_hospital = hospitals[0] if hospitals else None
        several = len({b.hospital_id for b in self.bases}) > 1
        for base in self.bases:
            label = f"{base.code} {base.name}" + (f" · {base.hospital.name}" if several else "")
            field = forms.IntegerField(label=label, min_value=0, max_value=9999, required=False)
            field.initial = (quotas or {}).get(base.pk)
            if self.enrolled.get(base.pk):
                field.help_text = _("%(n)d enrolled") % {"n": self.enrolled[base.pk]}
            field.widget.attrs["inputmode"] = "numeric"
            self.fields[self.quota_field(base)] = field
        self.style_fields()

    @staticmethod
    def quota_field(base: SpecialtyBase) -> str:
        return f"quota_{base.pk}"

    def batch_fields(self):
        return [self[name] for name in self.fields if not name.startswith("quota_")]

    def quota_rows(self):
        return [(base, self[self.quota_field(base)], self.enrolled.get(base.pk, 0)) for base in self.bases]

    @property
    def hospital(self) -> Hospital | None:
        if self.instance.pk:
            return self.instance.hospital
        return self.cleaned_data.get("hospital") or self.default_hospital

    @property
    def quotas(self) -> dict[SpecialtyBase, int]:
        return {base: self.cleaned_data.get(self.quota_field(base)) or 0 for base in self.bases}

    def clean(self):
        cleaned = super().clean()
        hospital = self.hospital
        if hospital is None:
            raise forms.ValidationError(_("You manage no hospital to open a batch in."))
        quotas = self.quotas
        for base, n in quotas.items():
            if n and base.hospital_id != hospital.pk:
                self.add_error(self.quota_field(base), _("This base belongs to another hospital."))
            enrolled = self.enrolled.get(base.pk, 0)
            if n < enrolled:
                self.add_error(
                    self.quota_field(base),
                    _("%(enrolled)d residents are enrolled in this base already; the quota cannot be lower.")
                    % {"enrolled": enrolled},
                )
        if not any(quotas.values()):
            raise forms.ValidationError(_("Give at least one specialty base a quota."))
        year = cleaned.get("year") or self.instance.year
        name = cleaned.get("name")
        if name and year:
            same = EnrollmentBatch.objects.filter(hospital=hospital, year=year, name=name).exclude(pk=self.instance.pk)
            if same.exists():
                self.add_error("name", _("A batch of this year has this name already."))
        return cleaned

    def validate_unique(self):
        pass  # the hospital is not a form field; clean() checks (hospital, year, name)


#: The admission list is uploaded through the imports' WorkbookUploadForm under this label.
ADMISSION_LIST_LABEL = _("Filled-in admission list (.xlsx)")


class AcceptForm(forms.Form):
    """Tick the approved registrations to enroll; the choices are the people waiting for this batch."""

    users = forms.TypedMultipleChoiceField(
        label=_("Registrations to accept"),
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Tick at least one person.")},
    )

    def __init__(self, *args, pending, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pending = list(pending)
        self.fields["users"].choices = [(p.user.pk, p.user.display_name) for p in self.pending]
