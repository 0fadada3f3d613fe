"""Leave forms: the request (phone-first), 销假, the office's rules and the make-up entries.

Forms check shape; the business rules (inside a block, overlaps, annual leave) are the service's.
"""

import json

from django import forms
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from core.forms import MultipleFileField
from residents.forms import DateInput, StyledFormMixin

from .models import LeaveRequest, LeaveSettings, MakeupEntry
from .services import leave as services


class LeaveRequestForm(StyledFormMixin, forms.ModelForm):
    attachments = MultipleFileField(label=_("Attachments"), required=False)

    class Meta:
        model = LeaveRequest
        fields = ["kind", "start_date", "start_afternoon", "end_date", "end_morning", "reason"]
        widgets = {
            "start_date": DateInput,
            "end_date": DateInput,
            "reason": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["start_afternoon"].label = _("Starting in the afternoon (half day)")
        self.fields["end_morning"].label = _("Back in the afternoon of the last day (half day)")
        self.fields["attachments"].help_text = _(
            "For example a sick note: PDF, JPG or PNG, at most %(limit)s each."
        ) % {"limit": filesizeformat(services.ATTACHMENT_MAX_BYTES)}
        self.fields["end_date"].help_text = _(
            "Days are calendar days (weekends included), minus half a day for each half day."
        )
        self.style_fields()

    def clean(self):
        data = super().clean()
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", _("The leave cannot end before it starts."))
        return data


class ReportBackForm(StyledFormMixin, forms.Form):
    returned_on = forms.DateField(
        label=_("Back at work on"),
        widget=DateInput,
        help_text=_("The first day you were back at work. Leave counts only up to the day before."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style_fields()


class LeaveSettingsForm(StyledFormMixin, forms.ModelForm):
    extension_rules = forms.CharField(
        label=_("Training extension by cumulative leave"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "One rule a line: days of cumulative leave above which training is extended, and by how many months, "
            'e.g. "90 6" and "180 12".'
        ),
    )

    class Meta:
        model = LeaveSettings
        fields = ["block_fail_ratio", "makeup_over_days", "annual_leave_days"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["extension_rules"] = "\n".join(
                f"{r['over_days']} {r['extend_months']}" for r in self.instance.extension_rules or []
            )
        self.style_fields()

    def clean_block_fail_ratio(self):
        ratio = self.cleaned_data["block_fail_ratio"]
        if not 0 < ratio <= 1:
            raise forms.ValidationError(_("A share of the block between 0 and 1, e.g. 0.333 for a third."))
        return ratio

    def clean_extension_rules(self):
        text = self.cleaned_data["extension_rules"].strip()
        if text.startswith("["):
            try:
                rules = json.loads(text)
            except ValueError:
                raise forms.ValidationError(_("Write one rule a line, e.g. “90 6”.")) from None
        else:
            rules = []
            for line in text.splitlines():
                parts = line.replace(",", " ").split()
                if not parts:
                    continue
                if len(parts) != 2:
                    raise forms.ValidationError(
                        _("“%(line)s”: write the days and the months, e.g. “90 6”.") % {"line": line.strip()}
                    )
                rules.append({"over_days": parts[0], "extend_months": parts[1]})
        return services.clean_extension_rules(rules)


class MakeupForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = MakeupEntry
        fields = ["days", "day", "note"]
        widgets = {"day": DateInput}
        labels = {"days": _("Days made up"), "day": _("Made up by (date)")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style_fields()
