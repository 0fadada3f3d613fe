"""The supervisor select of one block: the department's doctors with their load, best first."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .services.supervision import Candidate


def candidate_label(candidate: Candidate) -> str:
    label = f"{candidate.user.display_name} ({candidate.load}/{candidate.limit})"
    if candidate.qualified:
        label += " ✓"
    if not candidate.available:
        label += " · " + str(_("full"))
    return label


class AssignSupervisorForm(forms.Form):
    supervisor = forms.TypedChoiceField(label=_("Supervising doctor"), coerce=int)
    override_reason = forms.CharField(
        label=_("Reason for exceeding the limit"),
        required=False,
        max_length=200,
        help_text=_("Training office only: needed when the chosen doctor is already full."),
    )

    def __init__(self, *args, candidates: list[Candidate], may_override: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.candidates = {c.user.pk: c for c in candidates}
        self.fields["supervisor"].choices = [("", _("Choose…"))] + [(c.user.pk, candidate_label(c)) for c in candidates]
        self.fields["supervisor"].widget.attrs["class"] = "form-select form-select-sm"
        self.fields["override_reason"].widget.attrs["class"] = "form-control form-control-sm"
        if not may_override:
            del self.fields["override_reason"]

    def clean_supervisor(self):
        pk = self.cleaned_data["supervisor"]
        if pk not in self.candidates:  # pragma: no cover - the choices already refuse it
            raise forms.ValidationError(_("Choose one of the department's supervising doctors."))
        return self.candidates[pk]
