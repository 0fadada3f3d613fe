from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import DetailView, View
from django_filters.views import FilterView

from core.permissions import ScopedObjectMixin, can, get_visible_or_404, require

from . import registry, selectors, services
from .filters import ApprovalRequestFilter
from .forms import CommentForm, DecisionForm
from .models import ApprovalRequest


class _RequestListView(LoginRequiredMixin, FilterView):
    filterset_class = ApprovalRequestFilter
    template_name = "approvals/approvalrequest_list.html"
    paginate_by = 20
    tab = ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["tab"] = self.tab
        context["inbox_count"] = selectors.inbox_count(self.request.user)
        return context


class InboxView(_RequestListView):
    tab = "inbox"

    def get_queryset(self):
        return selectors.inbox_for(self.request.user)


class HandledView(_RequestListView):
    tab = "handled"

    def get_queryset(self):
        return selectors.handled_by(self.request.user)


class MineView(_RequestListView):
    tab = "mine"

    def get_queryset(self):
        return selectors.submitted_by(self.request.user)


class RequestDetailView(LoginRequiredMixin, ScopedObjectMixin, DetailView):
    model = ApprovalRequest
    template_name = "approvals/approvalrequest_detail.html"
    context_object_name = "request_obj"

    def get_scoped_queryset(self):
        return ApprovalRequest.objects.select_related("submitter", "subject", "current_step", "chain")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        obj = self.object
        user = self.request.user
        workflow = registry.get_workflow(obj.workflow)
        context.update(
            workflow=workflow,
            target=obj.target,
            steps=list(obj.chain.steps.all()),
            actions=obj.actions.select_related("actor", "step"),
            can_decide=can(user, "decide", obj),
            can_withdraw=obj.is_open and can(user, "withdraw", obj),
            can_resubmit=obj.status == "returned" and can(user, "resubmit", obj),
            decision_form=kwargs.get("decision_form") or DecisionForm(initial={"version": obj.version}),
            comment_form=CommentForm(),
            approvers=list(obj.current_approvers.all()[:10]) if obj.status == "pending" else [],
        )
        return context


class DecideView(LoginRequiredMixin, View):
    def post(self, request, uuid):
        obj = get_visible_or_404(request.user, ApprovalRequest, uuid=uuid)
        form = DecisionForm(request.POST)
        if not form.is_valid():
            view = RequestDetailView(request=request, kwargs={"uuid": uuid}, object=obj)
            context = view.get_context_data(object=obj, decision_form=form)
            return view.render_to_response(context, status=400)
        if form.cleaned_data["version"] == obj.version:
            require(request.user, "decide", obj)  # a stale version is a conflict, not a 403
        try:
            services.approval_decide(
                request=obj,
                decision=form.cleaned_data["decision"],
                acting_user=request.user,
                expected_version=form.cleaned_data["version"],
                comment=form.cleaned_data["comment"],
            )
        except services.ApprovalConflict as exc:
            messages.warning(request, str(exc))
            return redirect("approvals:detail", uuid=uuid)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("approvals:detail", uuid=uuid)
        messages.success(request, _("Your decision was recorded."))
        if request.POST.get("next") == "inbox":
            return redirect("approvals:inbox")
        return redirect("approvals:detail", uuid=uuid)


class _SubmitterActionView(LoginRequiredMixin, View):
    """The submitter's own actions on a request: withdraw it, or send it again after a return."""

    action: str
    done_message: str

    def act(self, request_obj, user, comment):
        raise NotImplementedError

    def post(self, request, uuid):
        obj = get_visible_or_404(request.user, ApprovalRequest, uuid=uuid)
        require(request.user, self.action, obj)
        form = CommentForm(request.POST)
        form.is_valid()
        try:
            self.act(obj, request.user, form.cleaned_data.get("comment", ""))
        except services.ApprovalConflict as exc:
            messages.warning(request, str(exc))
        else:
            messages.success(request, self.done_message)
        return redirect("approvals:detail", uuid=uuid)


class WithdrawView(_SubmitterActionView):
    action = "withdraw"
    done_message = gettext_lazy("The request was withdrawn.")

    def act(self, request_obj, user, comment):
        services.approval_withdraw(request=request_obj, acting_user=user, comment=comment)


class ResubmitView(_SubmitterActionView):
    action = "resubmit"
    done_message = gettext_lazy("The request was sent again.")

    def act(self, request_obj, user, comment):
        services.approval_resubmit(request=request_obj, acting_user=user, comment=comment)
