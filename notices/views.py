from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import DetailView, FormView, ListView, View
from django_filters.views import FilterView

from accounts.choices import Role
from accounts.models import Hospital
from core.permissions import RoleRequiredMixin, ScopedObjectMixin, can, get_visible_or_404, require
from core.uploads import serve_file

from . import selectors, services
from .filters import NoticeFilter
from .forms import NoticeForm
from .models import Notice, NoticeAttachment
from .permissions import office_hospitals


class NoticeListView(LoginRequiredMixin, FilterView):
    """公共信息: every signed-in user's notices; the office also sees drafts and withdrawn ones."""

    filterset_class = NoticeFilter
    template_name = "notices/notice_list.html"
    context_object_name = "notices"
    paginate_by = 20

    def get_queryset(self):
        return selectors.notices_for(self.request.user, all_statuses=bool(office_hospitals(self.request.user)))

    def get_filterset_kwargs(self, filterset_class):
        kwargs = super().get_filterset_kwargs(filterset_class)
        kwargs["show_status"] = bool(office_hospitals(self.request.user))
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["unread_count"] = selectors.unread_count(self.request.user)
        context["can_create"] = bool(office_hospitals(self.request.user))
        return context


class NoticeDetailView(LoginRequiredMixin, ScopedObjectMixin, DetailView):
    """Opening a published notice marks it read."""

    model = Notice
    template_name = "notices/notice_detail.html"
    context_object_name = "notice"

    def get_scoped_queryset(self):
        return Notice.objects.select_related("author", "hospital").prefetch_related("audience_bases")

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        if self.object.is_published:
            services.notice_mark_read(notice=self.object, user=request.user)
        return self.render_to_response(self.get_context_data(object=self.object))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        notice, user = self.object, self.request.user
        can_manage = can(user, "manage", notice)
        context.update(
            attachments=list(notice.attachments.all()),
            can_manage=can_manage,
            can_edit=can_manage and notice.is_editable,
            can_publish=can_manage and not notice.is_published,
            can_withdraw=can_manage and notice.is_published,
            can_see_reads=can(user, "read_report", notice),
        )
        return context


class AttachmentDownloadView(LoginRequiredMixin, View):
    """Anyone who can see the notice may download its files; for everybody else they do not exist."""

    def get(self, request, uuid):
        notice = get_visible_or_404(request.user, Notice, attachments__uuid=uuid)
        attachment = NoticeAttachment.objects.get(notice=notice, uuid=uuid)
        try:
            return serve_file(attachment.file, filename=attachment.original_name, content_type=attachment.content_type)
        except FileNotFoundError:
            raise Http404(_("The file is missing from storage.")) from None


class _NoticeActionMixin(ScopedObjectMixin):
    """Look the notice up in the user's scope (404) and check the action (403) before anything else."""

    model = Notice
    permission_action = "manage"

    def dispatch(self, request, *args, **kwargs):
        self.notice = self.get_object()
        return super().dispatch(request, *args, **kwargs)


class _NoticeFormMixin:
    form_class = NoticeForm
    template_name = "notices/notice_form.html"

    def _hospital(self) -> Hospital:
        raise NotImplementedError

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "hospital": self._hospital()}  # type: ignore[misc]

    def _finish(self, notice: Notice):
        if "publish" in self.request.POST:  # type: ignore[attr-defined]
            try:
                services.notice_publish(notice=notice, acting_user=self.request.user)  # type: ignore[attr-defined]
            except ValidationError as exc:
                messages.error(self.request, " ".join(exc.messages))  # type: ignore[attr-defined]
            else:
                messages.success(self.request, _("The notice was published."))  # type: ignore[attr-defined]
                return redirect("notices:detail", uuid=notice.uuid)
        messages.success(self.request, _("The draft was saved."))  # type: ignore[attr-defined]
        return redirect("notices:detail", uuid=notice.uuid)


class NoticeCreateView(LoginRequiredMixin, RoleRequiredMixin, _NoticeFormMixin, FormView):
    required_roles = (Role.TRAINING_OFFICE,)

    def _hospital(self) -> Hospital:
        return Hospital.objects.filter(pk__in=office_hospitals(self.request.user)).order_by("pk").first()

    def form_valid(self, form):
        try:
            notice = services.notice_create(
                hospital=self._hospital(), **form.service_kwargs(),
                attachments=form.cleaned_data["attachments"], acting_user=self.request.user,
            )  # fmt: skip
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        return self._finish(notice)


class NoticeUpdateView(LoginRequiredMixin, _NoticeActionMixin, _NoticeFormMixin, FormView):
    """Only drafts and withdrawn notices are edited; a published one must be withdrawn first."""

    def get(self, request, *args, **kwargs):
        if not self.notice.is_editable:
            return self._not_editable()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if not self.notice.is_editable:
            return self._not_editable()
        return super().post(request, *args, **kwargs)

    def _not_editable(self):
        messages.warning(self.request, _("A published notice cannot be changed. Withdraw it first."))
        return redirect("notices:detail", uuid=self.notice.uuid)

    def _hospital(self) -> Hospital:
        return self.notice.hospital

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": self.notice}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["notice"] = self.notice
        context["attachments"] = list(self.notice.attachments.all())
        return context

    def form_valid(self, form):
        try:
            notice = services.notice_update(
                notice=self.notice, **form.service_kwargs(),
                attachments=form.cleaned_data["attachments"], acting_user=self.request.user,
            )  # fmt: skip
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        return self._finish(notice)


class _NoticeStatusView(LoginRequiredMixin, _NoticeActionMixin, View):
    """POST-only status changes (publish, withdraw): call the service, say what happened."""

    service = None
    done_message = ""

    def post(self, request, uuid):
        try:
            type(self).service(notice=self.notice, acting_user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, self.done_message)
        return redirect("notices:detail", uuid=uuid)


class NoticePublishView(_NoticeStatusView):
    service = services.notice_publish
    done_message = gettext_lazy("The notice was published.")


class NoticeWithdrawView(_NoticeStatusView):
    service = services.notice_withdraw
    done_message = gettext_lazy("The notice was withdrawn. Its readers can no longer open it.")


class NoticeReadsView(LoginRequiredMixin, _NoticeActionMixin, ListView):
    """已读统计: who of the audience has opened the notice, and when."""

    permission_action = "read_report"
    template_name = "notices/notice_reads.html"
    context_object_name = "rows"
    paginate_by = 50

    def get_queryset(self):
        self.state = self.request.GET.get("state", "")
        rows, self.counts = selectors.read_report(self.notice, state=self.state)
        return rows

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(notice=self.notice, counts=self.counts, state=self.state)
        return context


class AttachmentRemoveView(LoginRequiredMixin, View):
    def post(self, request, uuid):
        notice = get_visible_or_404(request.user, Notice, attachments__uuid=uuid)
        require(request.user, "manage", notice)
        attachment = NoticeAttachment.objects.get(notice=notice, uuid=uuid)
        try:
            services.attachment_remove(attachment=attachment, acting_user=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The attachment was removed."))
        return redirect("notices:edit", uuid=notice.uuid)
