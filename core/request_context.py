"""The request being served, for code (like the audit hook) that runs deep inside services."""

import contextvars
import uuid

_request: contextvars.ContextVar = contextvars.ContextVar("zhupei_request", default=None)


def current_request():
    return _request.get()


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
