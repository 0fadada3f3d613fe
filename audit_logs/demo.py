"""Demo data for the auditor's screens: a week of request and exception history, rolled up.

The embedded mode has no Celery beat, so this seeder also runs what beat would have run by
now (roll-ups, yesterday's signed anchor, a chain verification), so the dashboards are not
empty on a fresh laptop. Ids come from a seeded generator: a second run inserts nothing new
(duplicate ids are ignored) and the roll-ups are safe to re-run.
"""

import random
import uuid
from datetime import timedelta

from django.conf import settings
from django.urls import get_resolver
from django.utils import timezone

from accounts.models import RoleAssignment
from core import mongo
from core.demo import register

from . import aggregation, chain, writer
from .collections import EXCEPTION_LOG, REQUEST_LOG

#: settings.DEMO_LOG_REQUESTS overrides it (the test settings keep it small).
REQUESTS = 20_000
DAYS = 7

_EXCEPTIONS = [
    ("builtins.KeyError", "'department'", "notices/views.py:118 in get_context_data"),
    ("django.db.utils.OperationalError", "database is locked", "approvals/services.py:201 in approval_decide"),
    ("builtins.ValueError", "invalid literal for int() with base 10: 'abc'", "accounts/views.py:64 in get"),
]


def _url_names() -> list[str]:
    names = []
    for namespace, (_, resolver) in get_resolver().namespace_dict.items():
        if namespace in {"admin", "audit_logs"}:
            continue
        names += [f"{namespace}:{n}" for n in resolver.reverse_dict if isinstance(n, str)]
    return sorted(names) or ["core:home"]


@register("audit_logs", order=90)
def seed() -> str:
    """Returns the summary line seed_demo prints (nothing here lands in the SQL tables it counts)."""
    if not mongo.is_configured() or not mongo.ping():
        return "MongoDB not configured or down: no log history seeded"
    total = getattr(settings, "DEMO_LOG_REQUESTS", REQUESTS)
    rng = random.Random(20251101)
    people = list(RoleAssignment.objects.values_list("user_id", "user__username", "role")[:400])
    if not people:
        return "no people yet: no log history seeded"
    urls = _url_names()
    weights = [8 if n in ("core:home", "approvals:inbox", "notices:list") else 1 for n in urls]
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    start = now - timedelta(days=DAYS)
    docs = []
    for _ in range(total):
        user_id, username, role = rng.choice(people)
        day_offset = rng.random() * DAYS
        at = start + timedelta(days=day_offset)
        if 0 <= at.astimezone(aggregation.local_tz()).hour < 7 and rng.random() < 0.8:
            at += timedelta(hours=9)  # hospitals sleep at night, mostly
        status = 500 if rng.random() < 0.004 else 404 if rng.random() < 0.02 else 302 if rng.random() < 0.1 else 200
        docs.append(
            {
                "_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                "at": min(at, now),
                "request_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                "user_id": user_id,
                "username": username,
                "roles": [role],
                "url_name": rng.choices(urls, weights)[0],
                "path": "/",
                "method": "GET" if rng.random() < 0.85 else "POST",
                "status": status,
                "duration_ms": round(rng.lognormvariate(3.4, 0.7), 1),
                "ip": f"10.12.{rng.randint(0, 20)}.{rng.randint(2, 250)}",
                "user_agent": rng.choice(
                    ["Mozilla/5.0 (iPhone) MicroMessenger/8.0.50", "Mozilla/5.0 (Windows NT 10.0) Chrome/126.0"]
                ),
            }
        )
    errors = []
    for doc in docs:
        if doc["status"] == 500:
            exc_type, message, location = rng.choice(_EXCEPTIONS)
            errors.append(
                {
                    "_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                    "at": doc["at"],
                    "request_id": doc["request_id"],
                    "user_id": doc["user_id"],
                    "username": doc["username"],
                    "url_name": doc["url_name"],
                    "path": doc["path"],
                    "method": doc["method"],
                    "exc_type": exc_type,
                    "message": message,
                    "traceback": f'Traceback (most recent call last):\n  File "{location}"\n{exc_type}: {message}\n',
                    "signature": uuid.uuid5(uuid.NAMESPACE_URL, exc_type + location).hex + "00000000",
                    "location": location,
                }
            )
    for batch_start in range(0, len(docs), 1000):
        writer.write(REQUEST_LOG, docs[batch_start : batch_start + 1000])
    writer.write(EXCEPTION_LOG, errors)
    writer.flush()
    aggregation.aggregate(start - timedelta(days=1), now + timedelta(hours=1))
    chain.write_daily_anchor()
    result = chain.verify_chain(trigger="task")
    return (
        f"{len(docs):,} requests and {len(errors)} exceptions over {DAYS} days (duplicates ignored), rolled up; "
        f"audit chain {'intact' if result.ok else 'BROKEN'} ({result.checked} events)"
    )
