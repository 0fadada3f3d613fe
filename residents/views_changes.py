"""Requesting and withdrawing training changes; deciding them happens on the approval request page."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.generic import FormView, View

from approvals.services import ApprovalConflict
from core.permissions import ScopedObjectMixin, get_visible_or_404, require

from . import changes
from .choices import ChangeKind, ChangeState
from .forms_changes import TrainingChangeForm
from .models import ResidentProfile, TrainingChange


class ChangeRequestView(LoginRequiredMixin, ScopedObjectMixin, FormView):
    """Pick the kind of change (a list of links), then fill in only what that kind needs."""

    model = ResidentProfile
    permission_action = "request_change"
    template_name = "residents/change_form.html"
    form_class = TrainingChangeForm

    def get_scoped_queryset(self):
        return ResidentProfile.objects.select_related("user", "base", "base__hospital")

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.profile = self.get_object()
        return super().dispatch(request, *args, **kwargs)

    @property
    def kind(self) -> str:
        source = self.request.POST if self.request.method == "POST" else self.request.GET
        kind = source.get("kind", "")
        return kind if kind in ChangeKind.values else ""

    def get(self, request, *args, **kwargs):
        if not self.kind:  # first the choice of what should change
            return self.render_to_response(self.get_context_data(form=None))
        return super().get(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "profile": self.profile, "kind": self.kind}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        profile = self.profile
        pending = changes.pending_change(profile)
        available = changes.available_kinds(profile)
        context.update(
            profile=profile,
            pending=pending,
            kind=self.kind,
            kind_label=ChangeKind(self.kind).label if self.kind else "",
            kinds=[(kind, ChangeKind(kind).label) for kind in available],
            extension_limit=changes.extension_limit(profile) if self.kind == ChangeKind.EXTEND else None,
        )
        return context

    def form_valid(self, form):
        try:
            changes.training_change_submit(profile=self.profile, acting_user=self.request.user, **form.service_kwargs())
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("The request was sent for approval. The archive changes once it is approved."))
        return redirect("residents:detail", uuid=self.profile.uuid)


def _change_in_scope(user, uuid) -> TrainingChange:
    """A change exists for whoever sees its resident's archive; for everybody else it does not (404)."""
    profile = get_visible_or_404(user, ResidentProfile, training_changes__uuid=uuid)
    return TrainingChange.objects.select_related("resident").get(resident=profile, uuid=uuid)


class ChangeApprovalView(LoginRequiredMixin, View):
    """From the archive's status history to the approval request of a change."""

    def get(self, request, uuid):
        change = _change_in_scope(request.user, uuid)
        approval = changes.approval_request_for(change)
        if approval is None:
            raise Http404(_("This change has no approval request."))
        return redirect("approvals:detail", uuid=approval.uuid)


class ChangeWithdrawView(LoginRequiredMixin, View):
    """The requester takes a waiting request back (the engine's withdraw, which closes the change)."""

    def post(self, request, uuid):
        change = _change_in_scope(request.user, uuid)
        approval = changes.approval_request_for(change)
        if approval is None:
            raise Http404(_("This change has no approval request."))
        require(request.user, "withdraw", approval)  # only the one who asked (403 for anyone else)
        if change.state != ChangeState.PENDING:
            messages.warning(request, _("This request was decided in the meantime and can no longer be withdrawn."))
            return redirect("residents:detail", uuid=change.resident.uuid)
        try:
            changes.training_change_withdraw(
                change=change, acting_user=request.user, comment=request.POST.get("comment", "")[:2000]
            )
        except (ApprovalConflict, ValidationError) as exc:
            messages.warning(request, " ".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.success(request, _("The request was withdrawn; the archive stays as it was."))
        return redirect("residents:detail", uuid=change.resident.uuid)
