"""Forms check the shape of what the office and the departments type; services check the rules."""

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Department, SpecialtyBase, User
from core.uploads import validate_upload

from .models import Achievement, AnnualAssessment, FacultyProfile, FacultyTraining, TeachingPost
from .services import CERTIFICATE_EXTENSIONS, CERTIFICATE_MAX_BYTES, PROFILE_FIELDS


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class StyledForm:
    """Bootstrap classes on every widget, so templates/includes/form.html renders them as they are."""

    def _style(self) -> None:
        for field in self.fields.values():  # type: ignore[attr-defined]
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")


def departments_of(hospitals: set[int]):
    """Departments of the office's hospitals and their collaborating sites."""
    return (
        Department.objects.filter(Q(hospital_id__in=hospitals) | Q(hospital__parent_id__in=hospitals), is_active=True)
        .select_related("hospital")
        .order_by("hospital__kind", "code")
    )


class FacultyProfileForm(StyledForm, forms.ModelForm):
    class Meta:
        model = FacultyProfile
        fields = list(PROFILE_FIELDS)
        widgets = {"title_since": DateInput, "teaching_since": DateInput}
        help_texts = {"teaching_since": _("Teaching years for the supervisor qualification count from this date.")}

    def __init__(self, *args, hospitals: set[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments_of(hospitals)
        self._style()

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        for name in ("title_since", "teaching_since"):
            if data.get(name) and data[name] > today:
                self.add_error(name, _("This date is in the future."))
        return data


class FacultyCreateForm(FacultyProfileForm):
    """Open an archive for an account that exists already (created by the staff import or the admin)."""

    account = forms.CharField(
        label=_("Staff number or username"),
        max_length=150,
        help_text=_("The teacher's account must exist and be active."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "list": "faculty-candidates"}),
    )

    field_order = ["account", *PROFILE_FIELDS]

    def __init__(self, *args, hospitals: set[int], **kwargs):
        super().__init__(*args, hospitals=hospitals, **kwargs)
        self.order_fields(self.field_order)

    def clean_account(self) -> User:
        value = self.cleaned_data["account"].strip()
        user = User.objects.filter(Q(staff_number=value) | Q(username=value)).first()
        if user is None:
            raise ValidationError(
                _("No account has the staff number or username “%(value)s”."), params={"value": value}
            )
        if not user.is_active:
            raise ValidationError(_("%(name)s's account is not active."), params={"name": user.display_name})
        if FacultyProfile.objects.filter(user=user).exists():
            raise ValidationError(_("%(name)s already has a teaching archive."), params={"name": user.display_name})
        return user


class QualifyForm(StyledForm, forms.Form):
    granted_on = forms.DateField(label=_("Granted on"), widget=DateInput)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["granted_on"].initial = timezone.localdate()
        self._style()


class RevokeForm(StyledForm, forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=150,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Give a reason for revoking the qualification.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class TrainingForm(StyledForm, forms.ModelForm):
    certificate = forms.FileField(label=_("Certificate"), required=False)

    class Meta:
        model = FacultyTraining
        fields = ["name", "organiser", "level", "start_date", "end_date", "hours", "certificate_number", "certificate"]
        widgets = {"start_date": DateInput, "end_date": DateInput}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["certificate"].help_text = _("A PDF scan or a photo (JPG, PNG); at most %(limit)s.") % {
            "limit": filesizeformat(CERTIFICATE_MAX_BYTES)
        }
        self.fields["certificate"].widget.attrs["accept"] = ".pdf,.png,.jpg,.jpeg"
        self._style()

    def clean_certificate(self):
        upload = self.cleaned_data.get("certificate")
        if upload:
            validate_upload(upload, allowed_extensions=CERTIFICATE_EXTENSIONS, max_bytes=CERTIFICATE_MAX_BYTES)
        return upload

    def clean(self):
        data = super().clean()
        if data.get("start_date") and data.get("end_date") and data["end_date"] < data["start_date"]:
            self.add_error("end_date", _("The course cannot end before it starts."))
        return data


class TeachingPostForm(StyledForm, forms.ModelForm):
    class Meta:
        model = TeachingPost
        fields = ["kind", "department", "base", "start_date", "end_date"]
        widgets = {"start_date": DateInput, "end_date": DateInput}
        help_texts = {"end_date": _("Leave empty while the post is held.")}

    def __init__(self, *args, profile: FacultyProfile, **kwargs):
        super().__init__(*args, **kwargs)
        hospital = profile.department.hospital
        hospitals = {hospital.parent_id or hospital.pk}
        self.fields["department"].queryset = departments_of(hospitals)
        self.fields["base"].queryset = SpecialtyBase.objects.filter(hospital_id__in=hospitals, is_active=True)
        self.initial.setdefault("department", profile.department_id)
        self._style()

    def clean(self):
        data = super().clean()
        if data.get("start_date") and data.get("end_date") and data["end_date"] < data["start_date"]:
            self.add_error("end_date", _("A post cannot end before it starts."))
        return data


class AchievementForm(StyledForm, forms.ModelForm):
    class Meta:
        model = Achievement
        fields = ["kind", "title", "date", "level", "detail"]
        widgets = {"date": DateInput, "detail": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"level": _("For example national, provincial, hospital.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class AssessmentForm(StyledForm, forms.ModelForm):
    class Meta:
        model = AnnualAssessment
        fields = ["year", "result", "score", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["year"].disabled = True
        else:
            self.fields["year"].initial = timezone.localdate().year
        self._style()

    def validate_unique(self):
        """One per teacher and year is the service's rule (the form does not know the teacher)."""
