"""Retention: logs and statistics older than their configured age are deleted, audit events hardly ever.

Request logs and their statistics live REQUEST_LOG_RETENTION_DAYS (default 180, 网络安全法 Art. 21
asks for at least six months), exception logs and their counts EXCEPTION_LOG_RETENTION_DAYS, chain
verifications AUDIT_RETENTION_DAYS. Audit events older than AUDIT_RETENTION_DAYS go only as a prefix
of the chain ending at a valid signed anchor (audit_logs.chain.prune_events), so the chain still
verifies from the oldest remaining event. Anchors are never deleted. Every run is itself audited
(`logs.prune`, changes = {collection: [before, after]}).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from core import mongo
from core.audit import audit_record

from . import writer
from .chain import local_tz, prune_events
from .collections import (
    AUDIT_EVENTS,
    CHAIN_VERIFICATIONS,
    EXCEPTION_LOG,
    EXCEPTION_STATS_DAILY,
    REQUEST_LOG,
    REQUEST_STATS_DAILY,
    REQUEST_STATS_HOURLY,
)


def prune(now: datetime | None = None) -> dict[str, list[int]]:
    """Delete what is past retention; returns {collection: [before, after]}. Raises MongoUnavailable."""
    now = now or timezone.now()
    request_cutoff = now - timedelta(days=settings.REQUEST_LOG_RETENTION_DAYS)
    exception_cutoff = now - timedelta(days=settings.EXCEPTION_LOG_RETENTION_DAYS)
    audit_cutoff = now - timedelta(days=settings.AUDIT_RETENTION_DAYS)

    def day(cutoff: datetime) -> str:
        return cutoff.astimezone(local_tz()).date().isoformat()

    rules: list[tuple[str, dict[str, Any]]] = [
        (REQUEST_LOG, {"at": {"$lt": request_cutoff}}),
        (REQUEST_STATS_HOURLY, {"day": {"$lt": day(request_cutoff)}}),
        (REQUEST_STATS_DAILY, {"day": {"$lt": day(request_cutoff)}}),
        (EXCEPTION_LOG, {"at": {"$lt": exception_cutoff}}),
        (EXCEPTION_STATS_DAILY, {"day": {"$lt": day(exception_cutoff)}}),
        (CHAIN_VERIFICATIONS, {"at": {"$lt": audit_cutoff}}),
    ]
    counts: dict[str, list[int]] = {}
    with mongo.guard():
        for name, query in rules:
            collection = mongo.collection(name)
            before = collection.count_documents({})
            collection.delete_many(query)
            counts[name] = [before, collection.count_documents({})]
        events = mongo.collection(AUDIT_EVENTS)
        before = events.count_documents({})
        prune_events(audit_cutoff)
        counts[AUDIT_EVENTS] = [before, events.count_documents({})]
    audit_record(
        action="logs.prune",
        changes=counts,
        request_days=settings.REQUEST_LOG_RETENTION_DAYS,
        exception_days=settings.EXCEPTION_LOG_RETENTION_DAYS,
        audit_days=settings.AUDIT_RETENTION_DAYS,
    )
    writer.flush()
    return counts
