from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from accounts.models import Hospital, SpecialtyBase
from core.forms import MultipleFileField
from core.uploads import validate_upload

from .models import Notice
from .services import ATTACHMENT_EXTENSIONS


class InlineCheckboxes(forms.CheckboxSelectMultiple):
    """Bootstrap check boxes that wrap on a phone: the wrapper gets the layout, each box the input class."""

    def __init__(self, attrs=None, choices=()):
        super().__init__(attrs={"class": "d-flex flex-wrap column-gap-3 row-gap-1", **(attrs or {})}, choices=choices)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        for _group, options, _index in context["widget"]["optgroups"]:
            for option in options:
                option["attrs"]["class"] = "form-check-input me-1"
        return context


class NoticeForm(forms.ModelForm):
    audience_roles = forms.MultipleChoiceField(
        label=_("For roles"), required=False, choices=Role.choices, widget=InlineCheckboxes,
        help_text=_("Leave all unticked to address everyone."),
    )  # fmt: skip
    attachments = MultipleFileField(label=_("Attachments"), required=False)

    class Meta:
        model = Notice
        fields = ["title", "body", "audience_roles", "audience_bases", "is_pinned"]
        widgets = {
            "title": forms.TextInput(attrs={"class": "form-control", "autocomplete": "off"}),
            "body": forms.Textarea(attrs={"class": "form-control", "rows": 12}),
            "audience_bases": InlineCheckboxes,
        }
        help_texts = {
            "body": _(
                "Plain text is fine: a blank line starts a new paragraph. Basic HTML (paragraphs, headings, "
                "lists, tables, links) is kept; anything else is removed."
            ),
            "audience_bases": _("Leave all unticked to address every base."),
            "is_pinned": _("Pinned notices stay at the top of everyone's list."),
        }

    def __init__(self, *args, hospital: Hospital, **kwargs):
        super().__init__(*args, **kwargs)
        self.hospital = hospital
        self.fields["audience_bases"].queryset = SpecialtyBase.objects.filter(hospital=hospital, is_active=True)
        self.fields["audience_bases"].label = _("For specialty bases")
        self.fields["body"].required = True
        self.fields["attachments"].help_text = _(
            "PDF, Word, Excel, PowerPoint, text or pictures; at most %(limit)s each. You can choose several files."
        ) % {"limit": filesizeformat(settings.UPLOAD_MAX_BYTES)}
        if self.instance.pk:
            self.initial.setdefault("audience_roles", list(self.instance.audience_roles))

    def clean_attachments(self):
        files = self.cleaned_data.get("attachments") or []
        errors = []
        for upload in files:
            try:
                validate_upload(upload, allowed_extensions=ATTACHMENT_EXTENSIONS)
            except ValidationError as exc:
                errors.extend(exc.messages)
        if errors:
            raise ValidationError(errors)
        return files

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "title": data["title"].strip(),
            "body": data["body"],
            "audience_roles": data["audience_roles"],
            "audience_bases": list(data["audience_bases"]),
            "is_pinned": data["is_pinned"],
        }
