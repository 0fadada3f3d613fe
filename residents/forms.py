"""Archive forms check shape only; residents.services decides what may change and records it."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.forms import inlineformset_factory
from django.template.defaultfilters import filesizeformat
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.validators import validate_phone
from core.uploads import validate_upload

from . import services
from .models import Certificate, ConductRecord, EmergencyContact, Post, ResidentProfile

_LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def validate_contact_phone(value: str) -> None:
    """A mobile number, or a landline with its area code (parents often give one)."""
    value = (value or "").strip()
    if _LANDLINE_RE.match(value):
        return
    try:
        validate_phone(value)
    except ValidationError:
        raise ValidationError(
            _("Enter an 11-digit mobile number or a landline with its area code, e.g. 010-12345678."),
            code="phone",
        ) from None


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class StyledFormMixin:
    """Bootstrap classes on every widget, so templates stay loops over fields."""

    def style_fields(self) -> None:
        for field in self.fields.values():  # type: ignore[attr-defined]
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


class _ArchiveForm(StyledFormMixin, forms.ModelForm):
    """An archive edit: profile fields from the model, the account's fields beside them, an optional photo.

    `sections` lists (heading, field names) so the page groups fields the way the archive
    page shows them.
    """

    user_fields: tuple[str, ...] = ()
    sections: tuple[tuple[str, tuple[str, ...]], ...] = ()

    photo = forms.FileField(required=False, widget=forms.FileInput(attrs={"accept": ".png,.jpg,.jpeg"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        account = self.instance.user
        for name in self.user_fields:
            model_field = User._meta.get_field(name)
            extra = {"validators": [validate_phone]} if name == "phone" else {}
            self.fields[name] = model_field.formfield(**extra)
            self.initial.setdefault(name, getattr(account, name))
        if "phone" in self.fields:
            self.fields["phone"].widget.attrs.update(inputmode="tel", autocomplete="tel")
        if "email" in self.fields:
            self.fields["email"].widget.attrs.update(autocomplete="email")
        self.fields["photo"].label = capfirst(ResidentProfile._meta.get_field("photo").verbose_name)
        self.fields["photo"].help_text = _("PNG or JPG, at most %(limit)s.") % {
            "limit": filesizeformat(services.PHOTO_MAX_BYTES)
        }
        self.style_fields()

    def clean_photo(self):
        photo = self.cleaned_data.get("photo")
        if photo:
            validate_upload(photo, allowed_extensions=services.PHOTO_EXTENSIONS, max_bytes=services.PHOTO_MAX_BYTES)
        return photo

    def archive_data(self) -> dict:
        """What the service gets: every field of this form, the photo only when one was chosen."""
        data = {name: self.cleaned_data[name] for name in self.fields if name != services.PHOTO}
        if self.cleaned_data.get(services.PHOTO):
            data[services.PHOTO] = self.cleaned_data[services.PHOTO]
        return data

    def grouped(self) -> list[tuple[str, list]]:
        return [(heading, [self[name] for name in names if name in self.fields]) for heading, names in self.sections]


class OwnArchiveForm(_ArchiveForm):
    """What a resident keeps up to date themself: how to reach them, and their photo."""

    user_fields = ("phone", "email")
    sections = (
        (_("Contact"), ("phone", "email", "address")),
        (_("Personal"), ("political_status", "photo")),
    )

    class Meta:
        model = ResidentProfile
        fields = ["address", "political_status"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["phone"].required = True


class OfficeArchiveForm(_ArchiveForm):
    """The whole archive except the training fields that change through approval, and the ID number."""

    user_fields = ("real_name", "phone", "email")
    sections = (
        (_("Account"), ("real_name", "phone", "email")),
        (_("Personal"), ("gender", "birth_date", "ethnicity", "political_status", "address", "photo")),
        (_("Education"), services.EDUCATION_FIELDS),
        (_("Licence"), services.LICENCE_FIELDS),
        (_("Training"), services.TRAINING_FIELDS),
    )

    class Meta:
        model = ResidentProfile
        fields = [
            *services.PERSONAL_FIELDS,
            *services.EDUCATION_FIELDS,
            *services.LICENCE_FIELDS,
            *services.TRAINING_FIELDS,
        ]
        widgets = {
            "birth_date": DateInput,
            "graduation_date": DateInput,
            "qualification_date": DateInput,
            "start_date": DateInput,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mentor"].queryset = services.mentor_choices(self.instance)
        self.fields["mentor"].label_from_instance = lambda user: user.display_name
        self.fields["real_name"].required = True
        self.fields["phone"].required = False


class EmergencyContactForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = EmergencyContact
        fields = ["name", "relation", "phone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["phone"].validators.append(validate_contact_phone)
        self.fields["phone"].widget.attrs.update(inputmode="tel")
        self.style_fields()


EmergencyContactFormSet = inlineformset_factory(
    ResidentProfile,
    EmergencyContact,
    form=EmergencyContactForm,
    extra=services.MAX_CONTACTS,
    max_num=services.MAX_CONTACTS,
    validate_max=True,
    can_delete=True,
    can_delete_extra=False,
)


def contact_rows(formset) -> list[dict]:
    """The contacts wanted after the save, in the service's shape; deleted and blank rows left out."""
    rows = []
    for form in formset.forms:
        data = form.cleaned_data
        if not data or data.get("DELETE"):
            continue
        rows.append(
            {"id": form.instance.pk, "name": data["name"], "relation": data["relation"], "phone": data["phone"]}
        )
    return rows


class PostForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = Post
        fields = ["title", "start_date", "end_date", "note"]
        widgets = {"start_date": DateInput, "end_date": DateInput}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style_fields()

    def clean(self):
        data = super().clean()
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("A post cannot end before it starts."))
        return data


class ConductRecordForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = ConductRecord
        fields = ["kind", "title", "date", "issuer", "detail", "is_closed"]
        widgets = {"date": DateInput, "detail": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style_fields()


RECORD_FORMS = {"post": PostForm, "conduct": ConductRecordForm}


class CertificateForm(StyledFormMixin, forms.ModelForm):
    upload = forms.FileField(widget=forms.FileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg,.gif,.webp"}))

    class Meta:
        model = Certificate
        fields = ["kind", "title", "number", "issued_on"]
        widgets = {"issued_on": DateInput}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["upload"].label = capfirst(Certificate._meta.get_field("file").verbose_name)
        self.fields["upload"].help_text = _("A PDF or a picture of the certificate, at most %(limit)s.") % {
            "limit": filesizeformat(services.CERTIFICATE_MAX_BYTES)
        }
        self.style_fields()

    def clean_upload(self):
        upload = self.cleaned_data["upload"]
        validate_upload(
            upload, allowed_extensions=services.CERTIFICATE_EXTENSIONS, max_bytes=services.CERTIFICATE_MAX_BYTES
        )
        return upload
