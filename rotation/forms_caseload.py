"""Forms of the 登记手册: one entry form shaped by the kind (quick on the phone, or full with attachments).

Forms check shape (a number is a positive integer, a date is a date, a file is at most 10 MB of
JPG/PNG/PDF); the service (rotation.services.caseload) checks the rules: the date is in one of the
resident's blocks and not in the future, a disease comes from the department's list, and so on.
"""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Department
from core.forms import MultipleFileField

from .choices import CaseloadKind, CaseSource
from .services import caseload, caseload_progress
from .services.caseload import ATTACHMENT_EXTENSIONS, ATTACHMENT_MAX_BYTES, MAX_ATTACHMENTS, MAX_COUNT

#: Every field a kind may carry on the full form, in order.
FULL_FIELDS: dict[str, tuple[str, ...]] = {
    CaseloadKind.DISEASE: ("standard", "name", "count", "patient_initials", "record_number", "source", "is_main",
                           "is_rescue", "content"),
    CaseloadKind.CASE: ("patient_initials", "record_number", "source", "is_main", "is_rescue", "name", "content"),
    CaseloadKind.PROCEDURE: ("standard", "name", "count", "role", "succeeded", "failure_reason", "patient_initials",
                             "record_number", "content"),
    CaseloadKind.OPERATION: ("standard", "name", "role", "count", "patient_initials", "record_number", "content"),
    CaseloadKind.WRITEUP: ("name", "patient_initials", "record_number", "content"),
    CaseloadKind.RESCUE: ("name", "count", "patient_initials", "record_number", "content"),
    CaseloadKind.LEARNING: ("name", "count", "content"),
}  # fmt: skip
#: The few a phone needs at the end of a shift.
QUICK_FIELDS: dict[str, tuple[str, ...]] = {
    CaseloadKind.DISEASE: ("standard", "name", "count"),
    CaseloadKind.CASE: ("patient_initials", "record_number", "source", "is_main", "is_rescue"),
    CaseloadKind.PROCEDURE: ("standard", "name", "count", "role", "succeeded", "failure_reason"),
    CaseloadKind.OPERATION: ("standard", "name", "role", "count"),
    CaseloadKind.WRITEUP: ("name", "patient_initials", "record_number"),
    CaseloadKind.RESCUE: ("name", "count"),
    CaseloadKind.LEARNING: ("name", "content"),
}
NAME_LABELS = {
    CaseloadKind.DISEASE: _("Disease"),
    CaseloadKind.CASE: _("Diagnosis"),
    CaseloadKind.PROCEDURE: _("Procedure not in the list"),
    CaseloadKind.OPERATION: _("Operation"),
    CaseloadKind.WRITEUP: _("Diagnosis"),
    CaseloadKind.RESCUE: _("What was done"),
    CaseloadKind.LEARNING: _("Topic"),
}
ROLE_CHOICES = {
    CaseloadKind.PROCEDURE: [(r.value, r.label) for r in caseload.PROCEDURE_ROLES],
    CaseloadKind.OPERATION: [(r.value, r.label) for r in caseload.OPERATION_ROLES],
}
SUCCEEDED_CHOICES = [("yes", _("Succeeded")), ("no", _("Failed"))]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class EntryForm(forms.Form):
    """One caseload entry of a given kind: the fields of `FULL_FIELDS` (or `QUICK_FIELDS` with quick=True)."""

    day = forms.DateField(label=_("Date"), widget=DateInput)
    standard = forms.ModelChoiceField(label=_("From the department's list"), queryset=None, required=False)
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    count = forms.IntegerField(
        label=_("How many"),
        min_value=1,
        max_value=MAX_COUNT,
        initial=1,
        error_messages={"min_value": _("The number must be at least 1.")},
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 1, "max": MAX_COUNT}),
    )
    patient_initials = forms.CharField(
        label=_("Patient initials"),
        max_length=16,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    record_number = forms.CharField(
        label=_("Medical record number"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    source = forms.ChoiceField(label=_("Source"), choices=CaseSource.choices, required=False, initial="ward")
    is_main = forms.BooleanField(label=_("I was the doctor in charge (主管)"), required=False)
    is_rescue = forms.BooleanField(label=_("Rescue (抢救)"), required=False)
    role = forms.ChoiceField(label=_("Role"), required=False)
    succeeded = forms.TypedChoiceField(
        label=_("Outcome"),
        choices=SUCCEEDED_CHOICES,
        coerce=lambda v: v == "yes",
        required=False,
        initial="yes",
        empty_value=None,
        widget=forms.RadioSelect,
    )
    failure_reason = forms.CharField(label=_("Reason for failure"), max_length=300, required=False)
    content = forms.CharField(label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    attachments = MultipleFileField(
        label=_("Attachments"),
        required=False,
        help_text=_("JPG, PNG or PDF, at most 10 MB each."),
        allowed_extensions=ATTACHMENT_EXTENSIONS,
        max_bytes=ATTACHMENT_MAX_BYTES,
        max_files=MAX_ATTACHMENTS,
    )

    def __init__(
        self,
        *args,
        kind: str,
        department: Department | None,
        quick: bool = False,
        with_files: bool = True,
        with_day: bool = True,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.kind = kind
        keep = set(QUICK_FIELDS[kind] if quick else FULL_FIELDS[kind])
        keep |= set(self.base_fields) - set(EntryForm.base_fields)  # what a subclass adds (the correction's reason)
        if with_day:
            keep.add("day")
        if with_files and not quick:
            keep.add("attachments")
        standards = caseload_progress.standards_of(department, kind) if department is not None else None
        if standards is None or not standards.exists():
            keep.discard("standard")
        else:
            self.fields["standard"].queryset = standards
            self.fields["standard"].empty_label = _("Choose…")
            self.fields["standard"].label_from_instance = lambda standard: standard.name
            if kind == CaseloadKind.DISEASE:
                keep.discard("name")  # a disease comes from the list when there is one
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        if "name" in self.fields:
            self.fields["name"].label = NAME_LABELS[kind]
            if "standard" not in self.fields and kind != CaseloadKind.CASE:
                self.fields["name"].label = NAME_LABELS[kind] if kind != CaseloadKind.PROCEDURE else _("Procedure")
        if "role" in self.fields:
            self.fields["role"].choices = ROLE_CHOICES[kind]
            self.fields["role"].initial = ROLE_CHOICES[kind][0][0]
            self.fields["role"].widget = forms.RadioSelect(choices=ROLE_CHOICES[kind])
        if "day" in self.fields:
            self.fields["day"].widget.attrs["max"] = f"{timezone.localdate():%Y-%m-%d}"
            self.fields["day"].initial = timezone.localdate()
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.RadioSelect):
                continue
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select form-select-lg"
            else:
                css = "form-control form-control-lg" if quick else "form-control"
            widget.attrs["class"] = css

    def entry_fields(self) -> dict:
        """The cleaned values the service takes (day, attachments and workflow fields aside)."""
        data = self.cleaned_data
        return {name: data[name] for name in caseload.ENTRY_FIELDS if name in self.fields}


class CorrectionForm(EntryForm):
    correction_reason = forms.CharField(
        label=_("Why this correction"), max_length=300, widget=forms.TextInput(attrs={"class": "form-control"})
    )

    field_order = ["correction_reason"]


class ReturnForm(forms.Form):
    comment = forms.CharField(
        label=_("What needs changing"),
        max_length=300,
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": _("What needs changing")}),
    )
