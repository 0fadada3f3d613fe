"""The request being served, for code (like the audit hook) that runs deep inside services."""

import contextvars
import uuid

from django.conf import settings

_request: contextvars.ContextVar = contextvars.ContextVar("zhupei_request", default=None)


def current_request():
    return _request.get()


def client_ip(request) -> str | None:
    """The client's address: behind PROXY_COUNT trusted proxies, the entry they appended to X-Forwarded-For."""
    proxies = getattr(settings, "AXES_IPWARE_PROXY_COUNT", 0) or 0
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR")


class RequestContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
        token = _request.set(request)
        try:
            response = self.get_response(request)
        finally:
            _request.reset(token)
        response["X-Request-ID"] = request.request_id
        return response
