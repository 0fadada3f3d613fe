"""Forms for records, reviews and ratings: shape only; the services check the rules."""

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import MultipleFileField

from .services.records import MAX_BYTES, MAX_FILES, PHOTO_EXTENSIONS, SLIDE_EXTENSIONS

STARS = [(i, str(i)) for i in range(1, 6)]


class RecordForm(forms.Form):
    summary = forms.CharField(
        label=_("Summary"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 5, "class": "form-control"}),
        help_text=_("What was taught, who took part, what comes next."),
    )
    photos = MultipleFileField(
        label=_("Live photos"),
        required=False,
        allowed_extensions=PHOTO_EXTENSIONS,
        max_bytes=MAX_BYTES,
        max_files=MAX_FILES,
        help_text=_("JPG or PNG, at most 20 MB each."),
    )
    slides = MultipleFileField(
        label=_("Slides"),
        required=False,
        allowed_extensions=SLIDE_EXTENSIONS,
        max_bytes=MAX_BYTES,
        max_files=MAX_FILES,
        help_text=_("PDF or PowerPoint, at most 20 MB each."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Phones open the camera straight away for live photos.
        self.fields["photos"].widget.attrs["capture"] = "environment"


class ReviewForm(forms.Form):
    ACCEPT, SEND_BACK = "accept", "send_back"
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[(ACCEPT, _("Accept")), (SEND_BACK, _("Send back"))],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
        help_text=_("Required when sending back: the uploader reads it."),
    )

    def clean(self):
        data = super().clean()
        if data.get("decision") == self.SEND_BACK and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Give the reason for sending the record back: the uploader reads it."))
        return data


class RatingForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
    )

    def __init__(self, *args, indicators, **kwargs):
        super().__init__(*args, **kwargs)
        self.indicators = indicators
        for indicator in indicators:
            self.fields[f"score_{indicator.pk}"] = forms.TypedChoiceField(
                label=indicator.name, choices=STARS, coerce=int, widget=forms.RadioSelect
            )
        self.order_fields([f"score_{i.pk}" for i in indicators] + ["comment"])

    def scores(self) -> dict[int, int]:
        return {i.pk: self.cleaned_data[f"score_{i.pk}"] for i in self.indicators}

    def score_fields(self):
        return [self[f"score_{i.pk}"] for i in self.indicators]
