"""Documents shaped exactly as the logging pipeline writes them, for the auditor-screen tests."""

import hashlib
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from audit_logs.collections import day_key, hour_key
from core import mongo

CST = ZoneInfo("Asia/Shanghai")


def cst(*args) -> datetime:
    """A China Standard Time wall-clock time as the UTC datetime MongoDB stores."""
    return datetime(*args, tzinfo=CST).astimezone(UTC)


def audit_event(
    seq: int,
    *,
    at: datetime,
    action: str = "approval.approve",
    outcome: str = "success",
    username: str | None = "office",
    roles: tuple[str, ...] = ("training_office",),
    target: dict | None = None,
    changes: dict | None = None,
    extra: dict | None = None,
    ip: str = "10.1.2.3",
) -> dict:
    return {
        "_id": seq,
        "seq": seq,
        "event_id": str(uuid.uuid4()),
        "at": at,
        "action": action,
        "outcome": outcome,
        "user": {"id": seq, "username": username, "roles": list(roles)} if username else None,
        "target": target
        if target is not None
        else {"type": "approvals.approvalrequest", "id": f"req-{seq}", "repr": f"请假申请 {seq}"},
        "changes": changes or {},
        "ip": ip,
        "user_agent": "Mozilla/5.0 (iPhone)",
        "request_id": f"req-id-{seq}",
        "extra": extra or {},
        "prev_hash": f"{seq - 1:064x}",
        "hash": f"{seq:064x}",
    }


def insert_events(*docs: dict) -> None:
    mongo.collection("audit_events").insert_many(list(docs))


def signature(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def exception(
    sig: str,
    *,
    at: datetime,
    exc_type: str = "builtins.ValueError",
    message: str = "bad value",
    location: str = "approvals/views.py:42 in post",
    traceback: str = "Traceback ...",
    username: str = "resident",
    path: str = "/approvals/1/",
) -> dict:
    return {
        "_id": uuid.uuid4().hex,
        "at": at,
        "request_id": uuid.uuid4().hex[:12],
        "user_id": 7,
        "username": username,
        "url_name": "approvals:detail",
        "path": path,
        "method": "POST",
        "exc_type": exc_type,
        "message": message,
        "traceback": traceback,
        "signature": sig,
        "location": location,
    }


def stats(
    bucket: str,
    url_name: str,
    role: str,
    *,
    count: int,
    errors: int = 0,
    client_errors: int = 0,
    p95_ms: float = 100.0,
    max_ms: float = 300.0,
) -> dict:
    return {
        "_id": f"{bucket}|{url_name}|{role}",
        "bucket": bucket,
        "day": bucket[:10],
        **(
            {
                "hour": int(bucket[11:13]),
                "hour_key": hour_key(datetime.strptime(bucket, "%Y-%m-%dT%H").replace(tzinfo=CST)),
            }
            if len(bucket) > 10
            else {"day_key": day_key(date.fromisoformat(bucket))}
        ),
        "url_name": url_name,
        "role": role,
        "count": count,
        "errors": errors,
        "client_errors": client_errors,
        "p50_ms": p95_ms / 2,
        "p95_ms": p95_ms,
        "max_ms": max_ms,
        "updated_at": datetime.now(UTC) - timedelta(minutes=3),
    }


def patch_verify_chain(monkeypatch, fake) -> None:
    """Replace audit_logs.chain.verify_chain (a stand-in module while chain.py does not exist yet)."""
    try:
        from audit_logs import chain
    except ImportError:
        import sys
        import types

        monkeypatch.setitem(sys.modules, "audit_logs.chain", types.SimpleNamespace(verify_chain=fake))
    else:
        monkeypatch.setattr(chain, "verify_chain", fake)
