"""Forms of a block's 入科教育 and 出科: shape only; the rules live in services/entry_education.py and exits.py."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User

from .services import exits

TEXT = {"class": "form-control"}


class VersionForm(forms.Form):
    """Carries the version the page showed, so a concurrent change is refused instead of overwritten."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.display_name


class EntryEducationForm(forms.Form):
    given_by = PersonChoiceField(
        label=_("Given by"), queryset=User.objects.none(), widget=forms.Select(attrs={"class": "form-select"})
    )
    given_on = forms.DateField(label=_("Given on"), widget=forms.DateInput(attrs={"type": "date", **TEXT}))
    topics = forms.ModelMultipleChoiceField(
        label=_("Topics covered"),
        queryset=None,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Tick at least one topic of the department's checklist.")},
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3, **TEXT})
    )

    def __init__(self, *args, topics, people, **kwargs):
        super().__init__(*args, **kwargs)
        from .models import EntryEducationTopic

        self.fields["topics"].queryset = EntryEducationTopic.objects.filter(pk__in=[t.pk for t in topics]).order_by(
            "position", "pk"
        )
        self.fields["given_by"].queryset = people
        self.fields["given_on"].initial = timezone.localdate()


class TopicsForm(forms.Form):
    titles = forms.CharField(
        label=_("Checklist, one topic per line"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, **TEXT}),
        help_text=_("Leave empty to use the hospital's default checklist."),
    )

    def clean_titles(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["titles"].splitlines() if line.strip()]


class SummaryForm(VersionForm):
    summary = forms.CharField(
        label=_("Self-summary (出科小结)"),
        min_length=20,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 10, **TEXT}),
        help_text=_("What you learned, what you did, what you still want to improve."),
        error_messages={"min_length": _("Write a self-summary of at least 20 characters.")},
    )


class TheoryForm(VersionForm):
    score = forms.CharField(
        label=_("Theory exam score (0–100)"),
        max_length=8,
        widget=forms.TextInput(attrs={"inputmode": "decimal", **TEXT}),
    )

    def clean_score(self):
        from decimal import Decimal

        return exits._score(self.cleaned_data["score"], label=str(_("Theory exam score")), maximum=Decimal(100))


class AssessmentForm(VersionForm):
    """One field per item of the 出科考核表 except the theory exam (from the department's score)."""

    comment = forms.CharField(
        label=_("Comment"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3, **TEXT})
    )

    def __init__(self, *args, items: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        self.items = [i for i in items if not i["is_theory"]]
        for item in self.items:
            self.fields[f"item_{item['key']}"] = forms.CharField(
                label=f"{item['label']} ({item['points'].normalize():f})",
                max_length=8,
                widget=forms.TextInput(
                    attrs={"inputmode": "decimal", "class": "form-control", "data-max": f"{item['points']:f}"}
                ),
                error_messages={"required": _("%(item)s: enter a score.") % {"item": item["label"]}},
            )
        self.order_fields([*(f"item_{i['key']}" for i in self.items), "comment", "version"])

    def clean(self):
        cleaned = super().clean()
        for item in self.items:
            name = f"item_{item['key']}"
            if name in cleaned:
                try:
                    cleaned[name] = exits._score(cleaned[name], label=item["label"], maximum=item["points"])
                except ValidationError as exc:
                    self.add_error(name, exc)
        return cleaned

    def scores(self) -> dict[str, object]:
        return {item["key"]: self.cleaned_data.get(f"item_{item['key']}") for item in self.items}


class HeadDecisionForm(VersionForm):
    agreed = forms.TypedChoiceField(
        label=_("Decision"),
        choices=[("yes", _("Agree to the exit (同意出科)")), ("no", _("Do not agree"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3, **TEXT})
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("agreed") is False and not (cleaned.get("comment") or "").strip():
            self.add_error("comment", _("Say why you do not agree to the exit."))
        return cleaned


class BaseReviewForm(VersionForm):
    passed = forms.TypedChoiceField(
        label=_("Result"),
        choices=[("yes", _("Passed")), ("no", _("Failed"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3, **TEXT})
    )
