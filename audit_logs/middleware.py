"""The request log and the exception log, written off the request path by the log writer.

RequestLogMiddleware sits right after the request-id middleware: it times the whole rest of the
stack and, once the response exists, hands one request_log document to the writer (a list append).
Unhandled exceptions arrive through Django's got_request_exception signal, with the traceback, and
are grouped by a signature: the exception type and the innermost frame inside this project
("relpath:function", no line number, so an edit above it does not split the group).
Nothing here may fail or slow a request: every error is logged and swallowed.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.signals import got_request_exception
from django.utils import timezone

from core.request_context import client_ip

from . import writer
from .collections import EXCEPTION_LOG, REQUEST_LOG

logger = logging.getLogger("zhupei.logs")

SKIPPED_PATHS = ("/healthz",)


def _user(request, *, roles: bool = True) -> tuple[int | None, str | None, list[str]]:
    """Who made the request; nobody if that cannot be told (the database may be what failed)."""
    try:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None, None, []
        scope = getattr(user, "scope", None) if roles else None
        return user.pk, user.get_username(), sorted(scope.roles) if scope is not None else []
    except Exception:
        logger.warning("could not tell who made a request", exc_info=True)
        return None, None, []


def _url_name(request) -> str:
    match = getattr(request, "resolver_match", None)
    return (match.view_name or "") if match is not None else ""


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not settings.REQUEST_LOG_ENABLED or self._skipped(request.path):
            return self.get_response(request)
        at = timezone.now()
        started = time.perf_counter()
        response = self.get_response(request)
        try:
            duration_ms = (time.perf_counter() - started) * 1000
            user_id, username, roles = _user(request)
            writer.put(
                REQUEST_LOG,
                {
                    "_id": uuid.uuid4().hex,
                    "at": at,
                    "request_id": getattr(request, "request_id", None),
                    "user_id": user_id,
                    "username": username,
                    "roles": roles,
                    "url_name": _url_name(request),
                    "path": request.path[:1000],
                    "method": request.method,
                    "status": int(response.status_code),
                    "duration_ms": round(duration_ms, 3),
                    "ip": client_ip(request),
                    "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
                },
            )
        except Exception:
            logger.exception("could not log a request")
        return response

    @staticmethod
    def _skipped(path: str) -> bool:
        static = settings.STATIC_URL or ""
        return (static.startswith("/") and path.startswith(static)) or path in SKIPPED_PATHS


# --------------------------------------------------------------------------------------------
# Exceptions
# --------------------------------------------------------------------------------------------
def _project_frame(frames: traceback.StackSummary) -> traceback.FrameSummary | None:
    """The innermost frame in our own code (not the virtualenv or the standard library)."""
    base = Path(settings.BASE_DIR).resolve()
    for frame in reversed(frames):
        try:
            path = Path(frame.filename).resolve()
        except (OSError, ValueError):
            continue
        inside = base in path.parents and "site-packages" not in path.parts
        if inside and not path.parts[len(base.parts)].startswith("."):  # not .venv
            return frame
    return frames[-1] if frames else None


def _relpath(filename: str) -> str:
    try:
        return Path(filename).resolve().relative_to(Path(settings.BASE_DIR).resolve()).as_posix()
    except ValueError:
        return filename


def describe_exception(exc: BaseException) -> dict[str, Any]:
    """exc_type, message, traceback, signature and location of an exception."""
    exc_type = f"{type(exc).__module__}.{type(exc).__qualname__}"
    frame = _project_frame(traceback.extract_tb(exc.__traceback__))
    where = f"{_relpath(frame.filename)}:{frame.name}" if frame else "?"
    return {
        "exc_type": exc_type,
        "message": str(exc)[:500],
        "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-20000:],
        "signature": hashlib.sha1(f"{exc_type}|{where}".encode()).hexdigest(),
        "location": f"{_relpath(frame.filename)}:{frame.lineno} in {frame.name}" if frame else "?",
    }


def _log_exception(sender, request=None, **kwargs) -> None:
    try:
        exc = sys.exception()
        if exc is None or request is None:
            return
        user_id, username, _roles = _user(request, roles=False)
        writer.put(
            EXCEPTION_LOG,
            {
                "_id": uuid.uuid4().hex,
                "at": timezone.now(),
                "request_id": getattr(request, "request_id", None),
                "user_id": user_id,
                "username": username,
                "url_name": _url_name(request),
                "path": request.path[:1000],
                "method": request.method,
                **describe_exception(exc),
            },
        )
    except Exception:
        logger.exception("could not log an exception")


got_request_exception.connect(_log_exception, dispatch_uid="audit_logs.exception_log")
