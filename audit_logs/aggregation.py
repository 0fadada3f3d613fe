"""Hourly and daily request statistics and daily exception counts, recomputed from the logs.

Buckets are China Standard Time hours and days (timezones are done here in Python, never in a
MongoDB pipeline). `aggregate(since, until)` recomputes every bucket that overlaps [since, until)
from the raw documents of the whole bucket and writes each statistic with update_one($set, upsert)
on its deterministic _id ("bucket|url_name|role", "day|signature"), deleting statistics of those
buckets that no longer have data: running it twice, or over a wider window, gives the same documents.

Percentiles use the nearest-rank method: p-th percentile of n sorted durations is the value at
rank ceil(p/100 * n) (1-based), always one of the measured durations.
"""

from __future__ import annotations

import math
from array import array
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from core import mongo

from .collections import (
    EXCEPTION_LOG,
    EXCEPTION_STATS_DAILY,
    REQUEST_LOG,
    REQUEST_STATS_DAILY,
    REQUEST_STATS_HOURLY,
    ROLE_ANONYMOUS,
    ROLE_NONE,
)

REQUEST_FIELDS = {"at": 1, "url_name": 1, "roles": 1, "user_id": 1, "status": 1, "duration_ms": 1}
EXCEPTION_FIELDS = {"at": 1, "signature": 1, "exc_type": 1, "location": 1}


def local_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)  # Asia/Shanghai


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return float(sorted_values[min(rank, len(sorted_values)) - 1])


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=local_tz())


def _hours(since: datetime, until: datetime) -> list[str]:
    local = since.astimezone(local_tz()).replace(minute=0, second=0, microsecond=0)
    hours = []
    while local < until:
        hours.append(local.strftime("%Y-%m-%dT%H"))
        local = (local.astimezone(UTC) + timedelta(hours=1)).astimezone(local_tz())
    return hours


def _days(since: datetime, until: datetime) -> list[date]:
    first = since.astimezone(local_tz()).date()
    last = (until - timedelta(microseconds=1)).astimezone(local_tz()).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _roles(doc: dict[str, Any]) -> list[str]:
    if doc.get("user_id") is None:
        return [ROLE_ANONYMOUS]
    return list(doc.get("roles") or []) or [ROLE_NONE]


class _Requests:
    """One bucket's requests: durations in a compact array, errors counted on the way."""

    __slots__ = ("durations", "errors", "client_errors")

    def __init__(self) -> None:
        self.durations = array("d")
        self.errors = 0
        self.client_errors = 0

    def add(self, status: int, duration: float) -> None:
        self.durations.append(duration)
        if status >= 500:
            self.errors += 1
        elif status >= 400:
            self.client_errors += 1


def _request_stat(bucket: str, url_name: str, role: str, requests: _Requests, now: datetime) -> dict:
    durations = sorted(requests.durations)
    stat = {
        "bucket": bucket,
        "day": bucket[:10],
        "url_name": url_name,
        "role": role,
        "count": len(durations),
        "errors": requests.errors,
        "client_errors": requests.client_errors,
        "p50_ms": percentile(durations, 50),
        "p95_ms": percentile(durations, 95),
        "max_ms": float(durations[-1]) if durations else 0.0,
        "updated_at": now,
    }
    if len(bucket) > 10:
        stat["hour"] = int(bucket[11:13])  # see _store: hourly statistics are looked up by day and hour
    return stat


def _store(collection: str, days: list[str], buckets: set[str], docs: dict[str, dict[str, Any]]) -> int:
    """Store the recomputed statistics of these buckets: new and changed ones replaced, stale ones dropped.

    An unchanged statistic is left alone (updated_at included), so a re-run writes nothing. Changed
    ones are deleted and inserted rather than $set: nx-27017 turns a datetime $set on an existing
    document into a string and cannot upsert with replace_one. Statistics are found by `day` and
    deleted by their key fields (day, hour, url_name, role / day, signature), never by `bucket` or
    `_id`: nx-27017 matches no string that starts like an ISO date ("2025-03-01T09|...",
    "2025-03-01|..."), in any query.
    """
    target = mongo.collection(collection)
    existing = {}
    for doc in target.find({"day": {"$in": days}}):
        if (doc.get("bucket") if "bucket" in doc else doc.get("day")) in buckets:
            existing[doc["_id"]] = doc
    changed = [
        {"_id": _id, **doc}
        for _id, doc in docs.items()
        if _id not in existing or any(not _same(existing[_id].get(k), v) for k, v in doc.items() if k != "updated_at")
    ]
    gone = [doc for _id, doc in existing.items() if _id not in docs]
    gone += [existing[doc["_id"]] for doc in changed if doc["_id"] in existing]
    fields = {
        REQUEST_STATS_HOURLY: ("day", "hour", "url_name", "role"),
        REQUEST_STATS_DAILY: ("day", "url_name", "role"),
        EXCEPTION_STATS_DAILY: ("day", "signature"),
    }[collection]
    for doc in gone:
        target.delete_many({field: doc.get(field) for field in fields})
    if changed:
        target.insert_many(changed, ordered=False)
    return len(docs)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return abs((a - b).total_seconds()) < 0.001  # BSON keeps milliseconds
    return a == b


def aggregate(since: datetime, until: datetime) -> dict[str, int]:
    """Recompute the statistics of every bucket overlapping [since, until). Raises MongoUnavailable.

    Works one China Standard Time day at a time: short queries, and memory for one day's durations.
    """
    written = {REQUEST_STATS_HOURLY: 0, REQUEST_STATS_DAILY: 0, EXCEPTION_STATS_DAILY: 0}
    if until <= since:
        return written
    hours = set(_hours(since, until))
    with mongo.guard():
        for day in _days(since, until):
            for name, count in _aggregate_day(day, hours).items():
                written[name] += count
    return written


#: How much request log one query reads.
READ_SLICE = timedelta(hours=1)


def _aggregate_day(day: date, hours: set[str]) -> dict[str, int]:
    tz, now, key = local_tz(), timezone.now(), day.isoformat()
    day_start, day_end = _day_start(day).astimezone(UTC), _day_start(day + timedelta(days=1)).astimezone(UTC)
    window = {"at": {"$gte": day_start, "$lt": day_end}}
    hours = {hour for hour in hours if hour.startswith(key)}
    hourly: dict[tuple[str, str, str], _Requests] = defaultdict(_Requests)
    daily: dict[tuple[str, str, str], _Requests] = defaultdict(_Requests)
    # One query per hour, not per day: nx-27017 cancels a query over a busy day (~150k documents).
    slice_start = day_start
    while slice_start < day_end:
        slice_end = min(slice_start + READ_SLICE, day_end)
        requests = mongo.collection(REQUEST_LOG).find({"at": {"$gte": slice_start, "$lt": slice_end}}, REQUEST_FIELDS)
        for doc in requests.batch_size(1000):
            hour = doc["at"].astimezone(tz).strftime("%Y-%m-%dT%H")
            status, duration = int(doc.get("status") or 0), float(doc.get("duration_ms") or 0.0)
            url_name = doc.get("url_name") or ""
            for role in _roles(doc):
                daily[(key, url_name, role)].add(status, duration)
                if hour in hours:
                    hourly[(hour, url_name, role)].add(status, duration)
        slice_start = slice_end

    exceptions: dict[str, dict[str, Any]] = {}
    for doc in mongo.collection(EXCEPTION_LOG).find(window, EXCEPTION_FIELDS).batch_size(1000):
        at = doc["at"]
        group = exceptions.setdefault(
            doc.get("signature") or "", {"count": 0, "first_seen": at, "last_seen": at, "exc_type": "", "location": ""}
        )
        group["count"] += 1
        group["first_seen"] = min(group["first_seen"], at)
        if at >= group["last_seen"] or not group["exc_type"]:
            group["last_seen"] = max(group["last_seen"], at)
            group["exc_type"], group["location"] = doc.get("exc_type", ""), doc.get("location", "")

    return {
        REQUEST_STATS_HOURLY: _store(
            REQUEST_STATS_HOURLY,
            [key],
            hours,
            {"|".join(k): _request_stat(*k, requests, now) for k, requests in hourly.items()},
        )
        if hours
        else 0,
        REQUEST_STATS_DAILY: _store(
            REQUEST_STATS_DAILY,
            [key],
            {key},
            {"|".join(k): _request_stat(*k, requests, now) for k, requests in daily.items()},
        ),
        EXCEPTION_STATS_DAILY: _store(
            EXCEPTION_STATS_DAILY,
            [key],
            {key},
            {
                f"{key}|{signature}": {"day": key, "signature": signature, **group, "updated_at": now}
                for signature, group in exceptions.items()
            },
        ),
    }


def aggregate_recent(now: datetime | None = None) -> dict[str, int]:
    """The beat job: the last two hours (today's daily figures with them), and yesterday once after midnight.

    Yesterday is recomputed whole as long as its statistics were last updated before today began,
    so a worker that slept through midnight still completes the previous day.
    """
    now = now or timezone.now()
    written = aggregate(now - timedelta(hours=2), now)
    today = now.astimezone(local_tz()).date()
    today_start = _day_start(today).astimezone(UTC)
    with mongo.guard():
        newest = mongo.collection(REQUEST_STATS_DAILY).find_one(
            {"day": (today - timedelta(days=1)).isoformat()}, {"updated_at": 1}, sort=[("updated_at", mongo.DESCENDING)]
        )
    updated = newest.get("updated_at") if newest else None
    if not isinstance(updated, datetime) or updated < today_start:
        for name, count in aggregate(today_start - timedelta(days=1), today_start).items():
            written[name] = written.get(name, 0) + count
    return written
