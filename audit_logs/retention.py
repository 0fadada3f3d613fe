"""Retention: logs and statistics older than their configured age are deleted, audit events hardly ever.

Request logs and their statistics live REQUEST_LOG_RETENTION_DAYS (default 180, 网络安全法 Art. 21
asks for at least six months), exception logs and their counts EXCEPTION_LOG_RETENTION_DAYS, chain
verifications AUDIT_RETENTION_DAYS. Audit events older than AUDIT_RETENTION_DAYS go only as a prefix
of the chain ending at a valid signed anchor (audit_logs.chain.prune_events), so the chain still
verifies from the oldest remaining event. Anchors are never deleted. Every run is itself audited
(`logs.prune`, changes = {collection: documents deleted}).

Logs and statistics are deleted by their integer keys (audit_logs.collections), never by a range on
`at` or `day` (a scan on nx-27017): a log goes when its `minute_key` is below the cutoff's minute (a
document within the cutoff's own minute waits for the next run), an hourly statistic when its
`hour_key` is below the first hour of the cutoff's day (China Standard Time), a daily one when its
`day_key` is below that day. Documents without a key are stamped first (stamp_missing_keys, as the
roll-up does); those stamped NO_KEY (no readable time) are kept, as a range on `at` kept them. Each
delete_many covers at most DELETE_SPAN of keys, starting from the oldest key left, so every command
stays short on nx-27017 (a few thousand documents) and a backlog of years costs no empty rounds.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from core import mongo
from core.audit import audit_record

from . import writer
from .aggregation import stamp_missing_keys
from .chain import local_tz, prune_events
from .collections import (
    AUDIT_EVENTS,
    CHAIN_VERIFICATIONS,
    EXCEPTION_LOG,
    EXCEPTION_STATS_DAILY,
    KEYS,
    REQUEST_LOG,
    REQUEST_STATS_DAILY,
    REQUEST_STATS_HOURLY,
    day_key,
    hour_key,
    minute_key,
)

#: Keys per delete_many. At a million request logs a week, 30 minutes are ~3,000 documents (0.6 s
#: on nx-27017 under load; an hour, ~6,000, took 1.1 s, close to the 1.5 s at which pymongo gives up).
#: Exceptions are rare; an hour of statistics holds one document per page and role.
DELETE_SPAN = {
    REQUEST_LOG: 30,  # minutes
    EXCEPTION_LOG: 6 * 60,  # minutes
    REQUEST_STATS_HOURLY: 6,  # hours
    REQUEST_STATS_DAILY: 3,  # days
    EXCEPTION_STATS_DAILY: 30,  # days
}


def cutoff_keys(now: datetime) -> dict[str, int]:
    """Per keyed collection, the first key that is kept: everything below it is past retention."""
    request_cutoff = now - timedelta(days=settings.REQUEST_LOG_RETENTION_DAYS)
    exception_cutoff = now - timedelta(days=settings.EXCEPTION_LOG_RETENTION_DAYS)

    def first_hour_of_day(cutoff: datetime) -> int:
        local = cutoff.astimezone(local_tz())
        return hour_key(local.replace(hour=0, minute=0, second=0, microsecond=0))

    def day(cutoff: datetime) -> int:
        return day_key(cutoff.astimezone(local_tz()).date())

    return {
        REQUEST_LOG: minute_key(request_cutoff),
        REQUEST_STATS_HOURLY: first_hour_of_day(request_cutoff),
        REQUEST_STATS_DAILY: day(request_cutoff),
        EXCEPTION_LOG: minute_key(exception_cutoff),
        EXCEPTION_STATS_DAILY: day(exception_cutoff),
    }


def delete_below(name: str, stop: int) -> int:
    """Delete the documents of `name` whose key is in [0, stop), DELETE_SPAN keys per command.

    Each round finds the oldest key left (an indexed range, sorted by the index, one document) and
    deletes [oldest, oldest + span): both shapes are served by the key's index on nx-27017 and MongoDB.
    Returns how many documents were deleted. Raises pymongo errors (call inside mongo.guard()).
    """
    field, span, target = KEYS[name], DELETE_SPAN[name], mongo.collection(name)
    deleted = 0
    while True:
        oldest = target.find_one({field: {"$gte": 0, "$lt": stop}}, {field: 1}, sort=[(field, mongo.ASCENDING)])
        if oldest is None:
            return deleted
        low = int(oldest[field])
        result = target.delete_many({field: {"$gte": low, "$lt": min(low + span, stop)}})
        if not result.deleted_count:  # never loop forever on a key the range cannot match
            return deleted
        deleted += result.deleted_count


def prune(now: datetime | None = None) -> dict[str, int]:
    """Delete what is past retention; returns {collection: documents deleted}. Raises MongoUnavailable."""
    now = now or timezone.now()
    audit_cutoff = now - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    stamp_missing_keys()
    counts: dict[str, int] = {}
    with mongo.guard():
        for name, stop in cutoff_keys(now).items():
            counts[name] = delete_below(name, stop)
        # One document per verification (a few a day): small enough for a range on `at`.
        counts[CHAIN_VERIFICATIONS] = (
            mongo.collection(CHAIN_VERIFICATIONS).delete_many({"at": {"$lt": audit_cutoff}}).deleted_count
        )
        counts[AUDIT_EVENTS] = prune_events(audit_cutoff)
    audit_record(
        action="logs.prune",
        changes=counts,
        request_days=settings.REQUEST_LOG_RETENTION_DAYS,
        exception_days=settings.EXCEPTION_LOG_RETENTION_DAYS,
        audit_days=settings.AUDIT_RETENTION_DAYS,
    )
    writer.flush()
    return counts
