"""The one audit hook every service calls for every state change and security event.

Callers never know where events go: the sinks in settings.AUDIT_SINKS receive a plain
dict. Until the logs issue adds the durable MongoDB sink, events are JSON lines.
"""

import json
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from .masking import mask_id_number, mask_phone
from .request_context import client_ip, current_request

logger = logging.getLogger("zhupei.audit")

#: Field names whose values never reach an audit sink in clear.
SENSITIVE_FIELDS = {
    "id_number": mask_id_number,
    "phone": mask_phone,
    "password": lambda v: "********",
}


def _mask_changes(changes: Mapping[str, Any] | None) -> dict[str, Any]:
    masked: dict[str, Any] = {}
    for name, value in (changes or {}).items():
        mask = SENSITIVE_FIELDS.get(name)
        if mask and isinstance(value, list | tuple):
            masked[name] = [mask(str(v)) if v else v for v in value]
        elif mask:
            masked[name] = mask(str(value)) if value else value
        else:
            masked[name] = value
    return masked


def _target(target: Any) -> dict[str, Any] | None:
    if target is None:
        return None
    meta = getattr(target, "_meta", None)
    if meta is None:
        return {"type": type(target).__name__, "id": str(target)}
    return {"type": meta.label_lower, "id": str(getattr(target, "uuid", None) or target.pk), "repr": str(target)[:200]}


def audit_record(
    *,
    action: str,
    target: Any = None,
    acting_user: Any = None,
    changes: Mapping[str, Any] | None = None,
    outcome: str = "success",
    request: Any = None,
    **extra: Any,
) -> dict[str, Any]:
    """Record one event. `changes` maps field -> [old, new]; sensitive values are masked here."""
    request = request or current_request()
    user = acting_user if acting_user is not None else getattr(request, "user", None)
    authenticated = bool(user is not None and getattr(user, "is_authenticated", False))
    event = {
        "id": str(uuid.uuid4()),
        "at": timezone.now().isoformat(),
        "action": action,
        "outcome": outcome,
        "user": _who(user) if authenticated else None,
        "target": _target(target),
        "changes": _mask_changes(changes),
        "ip": client_ip(request) if request is not None else None,
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300] if request is not None else None,
        "request_id": getattr(request, "request_id", None),
        "extra": {k: str(v) for k, v in extra.items()},
    }
    for sink in _sinks():
        sink(event)
    return event


def _who(user: Any) -> dict[str, Any]:
    """The acting user, the roles held and where: {"teaching_secretary": {"department": [3]}}."""
    scope = user.scope
    return {
        "id": user.pk,
        "username": user.get_username(),
        "roles": sorted(scope.roles),
        "scope": {
            str(role): {str(kind): sorted(ids) for kind, ids in sorted(kinds.items())}
            for role, kinds in sorted(scope.grants.items())
        },
    }


def _sinks() -> list[Callable[[dict[str, Any]], None]]:
    paths = getattr(settings, "AUDIT_SINKS", ["core.audit.log_sink"])
    return [import_string(p) for p in paths]


def log_sink(event: dict[str, Any]) -> None:
    logger.info(json.dumps(event, ensure_ascii=False, default=str))


#: Tests and the durable sink can subscribe here without replacing the log sink.
_memory: list[dict[str, Any]] = []


def memory_sink(event: dict[str, Any]) -> None:
    _memory.append(event)
