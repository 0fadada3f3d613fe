"""Filter forms for the auditor screens.

django-filter works on querysets and the logs live in MongoDB, so these are plain forms with the
look of `core.filters.StyledFilterSet` (placeholders instead of labels, a select's blank choice
named after its label). Forms only check the shape; `selectors` turns `cleaned_data` into queries.
"""

from django import forms
from django.utils.translation import gettext_lazy as _

OUTCOME_CHOICES = [
    ("success", _("Success")),
    ("failure", _("Failure")),
    ("denied", _("Denied")),
]


class StyledForm(forms.Form):
    """Bootstrap widgets; phone screens have no room for labels, so inputs show them as placeholders."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select form-select-sm")
                if isinstance(field, forms.ChoiceField):
                    field.choices = [("", field.label), *[c for c in field.choices if c[0] != ""]]
            else:
                widget.attrs.setdefault("class", "form-control form-control-sm")
                widget.attrs.setdefault("placeholder", field.label)
            widget.attrs.setdefault("aria-label", field.label)

    def active_filters(self) -> dict[str, str]:
        """The filters in use, as text: for the export's audit event and the page header."""
        if not self.is_valid():
            return {}
        return {name: str(value) for name, value in self.cleaned_data.items() if value not in (None, "")}


class _DateRangeForm(StyledForm):
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data


class AuditEventFilterForm(_DateRangeForm):
    """Dates are days in China Standard Time; the selector turns them into UTC instants."""

    user = forms.CharField(label=_("Username contains"), required=False, max_length=150)
    action = forms.CharField(
        label=_("Action, e.g. approval."),
        required=False,
        max_length=100,
        help_text=_('"approval." finds every approval action; "approval.approve" finds that action only.'),
    )
    target_type = forms.CharField(label=_("Target type"), required=False, max_length=100)
    target_id = forms.CharField(label=_("Target ID"), required=False, max_length=100)
    outcome = forms.ChoiceField(label=_("Outcome"), required=False, choices=OUTCOME_CHOICES)

    field_order = ["user", "action", "target_type", "target_id", "outcome", "date_from", "date_to"]

    def clean_user(self):
        return self.cleaned_data["user"].strip()

    def clean_action(self):
        return self.cleaned_data["action"].strip()

    def clean_target_type(self):
        return self.cleaned_data["target_type"].strip()

    def clean_target_id(self):
        return self.cleaned_data["target_id"].strip()


class ExceptionFilterForm(_DateRangeForm):
    exc_type = forms.CharField(label=_("Exception type contains"), required=False, max_length=200)

    field_order = ["exc_type", "date_from", "date_to"]

    def clean_exc_type(self):
        return self.cleaned_data["exc_type"].strip()
