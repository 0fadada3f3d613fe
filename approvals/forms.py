from django import forms
from django.utils.translation import gettext_lazy as _

from .choices import ActionKind


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[
            (ActionKind.APPROVE, _("Approve")),
            (ActionKind.RETURN, _("Return for changes")),
            (ActionKind.REJECT, _("Reject")),
        ],
        widget=forms.HiddenInput,
    )
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": _("Required when returning or rejecting")}),
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if data.get("decision") in (ActionKind.REJECT, ActionKind.RETURN) and not (data.get("comment") or "").strip():
            self.add_error("comment", _("Please give a reason: the submitter will read it."))
        return data


class CommentForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
