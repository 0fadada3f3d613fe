"""Session limits (30 min idle, 12 h absolute by default) and forced password changes."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .audit import audit_record

_LAST_SEEN = "zhupei_last_seen"
_STARTED = "zhupei_started"


class SessionTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = time.time()
            last_seen = request.session.get(_LAST_SEEN, now)
            started = request.session.setdefault(_STARTED, now)
            idle = now - last_seen > settings.SESSION_IDLE_TIMEOUT
            expired = now - started > settings.SESSION_ABSOLUTE_TIMEOUT
            if idle or expired:
                user = request.user
                logout(request)
                audit_record(
                    action="auth.session_timeout",
                    acting_user=user,
                    request=request,
                    reason="idle" if idle else "absolute",
                )
                messages.info(request, _("You were signed out after a period of inactivity. Please sign in again."))
                return redirect(f"{reverse(settings.LOGIN_URL)}?next={request.get_full_path()}")
            request.session[_LAST_SEEN] = now
        return self.get_response(request)


class PasswordChangeRequiredMiddleware:
    """Imported accounts set their own password first; expired passwords are renewed."""

    ALLOWED = ("accounts:password_set", "accounts:logout", "set_language", "javascript-catalog")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and self._must_change(user):
            match = request.resolver_match or _resolve(request.path_info)
            name = match.view_name if match else ""
            if name not in self.ALLOWED and not request.path_info.startswith(settings.STATIC_URL):
                return redirect("accounts:password_set")
        return self.get_response(request)

    @staticmethod
    def _must_change(user) -> bool:
        if user.must_change_password:
            return True
        days = settings.PASSWORD_EXPIRY_DAYS
        if days and user.password_changed_at:
            return (timezone.now() - user.password_changed_at).days >= days
        return False


def _resolve(path: str):
    from django.urls import Resolver404, resolve

    try:
        return resolve(path)
    except Resolver404:
        return None
