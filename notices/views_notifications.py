"""消息: a user's own notifications. Nobody sees anyone else's: another user's id is a 404."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.generic import ListView, View

from . import notify
from .models import Notification


def _own(request, pk: int) -> Notification:
    return get_object_or_404(Notification, pk=pk, user_id=request.user.pk)


def _safe(request, url: str) -> bool:
    return (
        bool(url)
        and url.startswith("/")
        and not url.startswith("//")
        and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    )


class NotificationListView(LoginRequiredMixin, ListView):
    template_name = "notices/notifications.html"
    context_object_name = "notifications"
    paginate_by = 20

    def get_queryset(self):
        return notify.notifications_for(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["unread_count"] = notify.unread_count(self.request.user)
        return context


class NotificationOpenView(LoginRequiredMixin, View):
    """Following a notification marks it read, then goes to its page (only ever a page of this site)."""

    def get(self, request, pk: int):
        notification = _own(request, pk)
        notify.mark_read(notification)
        if _safe(request, notification.url):
            return redirect(notification.url)
        return redirect("notices:notifications")


class NotificationMarkReadView(LoginRequiredMixin, View):
    def post(self, request, pk: int):
        notify.mark_read(_own(request, pk))
        return redirect("notices:notifications")


class NotificationMarkAllReadView(LoginRequiredMixin, View):
    def post(self, request):
        count = notify.mark_all_read(request.user)
        if count:
            messages.success(request, _("All notifications are marked read."))
        return redirect("notices:notifications")
