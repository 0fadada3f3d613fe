"""Hourly and daily request statistics and daily exception counts, recomputed from the logs.

Buckets are China Standard Time hours and days (timezones are done here in Python, never in a
MongoDB pipeline). `aggregate(since, until)` recomputes every bucket that overlaps [since, until)
from the raw documents of the whole bucket and stores its statistics under deterministic _ids
("bucket|url_name|role", "day|signature"); a bucket whose statistics changed is replaced whole, one
that did not is left alone, so running it twice, or over a wider window, gives the same documents
and a re-run writes nothing.

Every read goes through the integer keys of audit_logs.collections (`minute_key` on the logs,
`hour_key` on hourly statistics, `day_key` on daily ones), in shapes both MongoDB and nx-27017 serve
from an index, and reads at most one READ_SLICE of log per query. Documents written before the keys
existed are stamped first (stamp_missing_keys).

Percentiles use the nearest-rank method: p-th percentile of n sorted durations is the value at
rank ceil(p/100 * n) (1-based), always one of the measured durations.
"""

from __future__ import annotations

import math
from array import array
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from core import mongo

from .collections import (
    DAY_KEY,
    EXCEPTION_LOG,
    EXCEPTION_STATS_DAILY,
    HOUR_KEY,
    KEYS,
    LOGS_KEYED,
    MINUTE_KEY,
    NO_KEY,
    REQUEST_LOG,
    REQUEST_STATS_DAILY,
    REQUEST_STATS_HOURLY,
    ROLE_ANONYMOUS,
    ROLE_NONE,
    STAT_KEYS,
    day_key,
    hour_key,
    minute_key,
)

REQUEST_FIELDS = {"at": 1, "url_name": 1, "roles": 1, "user_id": 1, "status": 1, "duration_ms": 1}
EXCEPTION_FIELDS = {"at": 1, "signature": 1, "exc_type": 1, "location": 1}

#: How much log one query reads. An hour is ~6,000 request logs in the one-million-a-week benchmark,
#: which takes nx-27017 over a second to serve on a busy machine; ten minutes stay well under.
#: Exceptions are rare (about one request in a hundred fails at worst): an hour per query.
READ_SLICE = {REQUEST_LOG: timedelta(minutes=10), EXCEPTION_LOG: timedelta(hours=1)}
#: Documents looked at per round by stamp_missing_keys.
STAMP_BATCH = 1000
#: Statistics per insert. nx-27017 answers nothing else, pymongo's heartbeat included, while one
#: command runs, and a command much longer than MONGODB_TIMEOUT_MS gets cancelled: keep them short.
INSERT_BATCH = 500


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


def _read(collection: str, start: datetime, end: datetime, fields: dict[str, int]) -> Iterator[dict[str, Any]]:
    """The log documents of [start, end) with their `at` as an aware datetime, READ_SLICE per query.

    Each query is an integer range on minute_key, alone: served by the index on nx-27017 and MongoDB
    (a range on `at` is a scan on nx-27017). Slices are whole minutes; `at` is checked here.
    """
    step = int(READ_SLICE[collection].total_seconds() // 60)
    first, stop = minute_key(start), minute_key(end - timedelta(microseconds=1)) + 1
    log = mongo.collection(collection)
    for low in range(first, stop, step):
        window = {MINUTE_KEY: {"$gte": low, "$lt": min(low + step, stop)}}
        for doc in log.find(window, fields).batch_size(1000):
            at = _as_datetime(doc.get("at"))
            if at is not None and start <= at < end:
                doc["at"] = at
                yield doc


def _bucket_hour_key(bucket: str) -> int:
    """The hour_key of the first instant of a local hour bucket ("YYYY-MM-DDTHH")."""
    return hour_key(datetime.strptime(bucket, "%Y-%m-%dT%H").replace(tzinfo=local_tz()))


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _roles(doc: dict[str, Any]) -> list[str]:
    if doc.get("user_id") is None:
        return [ROLE_ANONYMOUS]
    return list(doc.get("roles") or []) or [ROLE_NONE]


# --------------------------------------------------------------------------------------------
# Documents written before the integer keys
# --------------------------------------------------------------------------------------------
def stamp_missing_keys() -> dict[str, int]:
    """Give every log and statistic without its integer key the key; returns {collection: stamped}.

    Documents written before the keys existed (and any that an older process still writes during a
    deploy) have none. `{key: None}` is served by the key's index, so once everything is stamped this
    costs one empty index lookup per collection. Keys are derived from the document's own `at` (or
    day and hour) and $set as ints: stamping twice, or concurrently, is harmless. Raises MongoUnavailable.
    """
    with mongo.guard():
        return {name: _stamp(name) for name in KEYS}


def _stamp(collection: str) -> int:
    field = KEYS[collection]
    target, stamped = mongo.collection(collection), 0
    while True:
        docs = list(target.find({field: None}, {"at": 1, "day": 1, "hour": 1}).limit(STAMP_BATCH))
        matched = 0
        if collection in LOGS_KEYED and docs:
            # One bulk_write per round: 1,000 updates took 0.25 s on nx-27017, update_one one by one ~625/s.
            updates = []
            for doc in docs:
                at = _as_datetime(doc.get("at"))
                key = minute_key(at) if at is not None else NO_KEY
                updates.append(mongo.UpdateOne({"_id": doc["_id"]}, {"$set": {field: key}}))
            matched = target.bulk_write(updates, ordered=False).matched_count
        elif docs:
            # Statistics' _ids start like ISO dates, which nx-27017 cannot match: by day (and hour).
            hourly = collection == REQUEST_STATS_HOURLY
            for day, hour in {(doc.get("day"), doc.get("hour") if hourly else None) for doc in docs}:
                query = {field: None, "day": day, **({"hour": hour} if hourly else {})}
                key = _stat_key(day, hour if hourly else None)
                matched += target.update_many(query, {"$set": {field: key}}).matched_count
        stamped += matched
        if len(docs) < STAMP_BATCH or not matched:  # the last round, or no progress (never loop forever)
            return stamped


def _stat_key(day: Any, hour: Any) -> int:
    """A statistic's key from its day ("YYYY-MM-DD") and, for an hourly one, its hour (0-23)."""
    try:
        if hour is None:
            return day_key(date.fromisoformat(day))
        return hour_key(datetime.combine(date.fromisoformat(day), time(int(hour)), tzinfo=local_tz()))
    except (TypeError, ValueError):
        return NO_KEY


# --------------------------------------------------------------------------------------------
# The roll-up
# --------------------------------------------------------------------------------------------
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
        stat["hour"] = int(bucket[11:13])  # the screens look hourly statistics up by day and hour
        stat[HOUR_KEY] = _bucket_hour_key(bucket)
    else:
        stat[DAY_KEY] = day_key(date.fromisoformat(bucket))
    return stat


def _store(collection: str, keys: list[int], docs: dict[str, dict[str, Any]]) -> int:
    """Store the recomputed statistics of the buckets `keys` (each doc carries its bucket's key).

    A bucket whose statistics are all unchanged is left alone (updated_at included), so a re-run
    writes nothing. Any other bucket is replaced whole: delete_many by its key, then insert (not
    $set: nx-27017 turns a datetime $set on an existing document into a string and cannot upsert
    with replace_one). Buckets are read and deleted by their integer key, never by `day`, `bucket`
    or `_id` (nx-27017 matches no string that starts like an ISO date and more, "2025-03-01T09|...",
    and scans for "2025-03-01"). Returns how many statistics the buckets hold now.
    """
    field, target = STAT_KEYS[collection], mongo.collection(collection)
    fresh: dict[int, dict[str, dict[str, Any]]] = defaultdict(dict)
    for _id, doc in docs.items():
        fresh[doc[field]][_id] = doc
    for key in sorted(set(keys)):
        # One bucket per query, by a lone equality on its key: a day of hourly statistics in one
        # answer (7,680 documents in the benchmark) is already a long command for nx-27017.
        stored = {doc["_id"]: doc for doc in target.find({field: key})}
        new = fresh.get(key, {})
        if stored.keys() == new.keys() and all(_unchanged(stored[_id], doc) for _id, doc in new.items()):
            continue
        if stored:
            target.delete_many({field: key})
        rows = [{"_id": _id, **doc} for _id, doc in new.items()]
        for start in range(0, len(rows), INSERT_BATCH):
            target.insert_many(rows[start : start + INSERT_BATCH], ordered=False)
    return len(docs)


def _unchanged(stored: dict[str, Any], doc: dict[str, Any]) -> bool:
    return all(_same(stored.get(k), v) for k, v in doc.items() if k != "updated_at")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return abs((a - b).total_seconds()) < 0.001  # BSON keeps milliseconds
    return a == b


def aggregate(since: datetime, until: datetime) -> dict[str, int]:
    """Recompute the statistics of every bucket overlapping [since, until). Raises MongoUnavailable.

    Stamps documents that lack their key first, then works one China Standard Time day at a time
    (memory for one day's durations), reading the logs one READ_SLICE at a time: short queries, each
    served by an index, on nx-27017 as on MongoDB.
    """
    written = {REQUEST_STATS_HOURLY: 0, REQUEST_STATS_DAILY: 0, EXCEPTION_STATS_DAILY: 0}
    if until <= since:
        return written
    hours = set(_hours(since, until))
    stamp_missing_keys()
    with mongo.guard():
        for day in _days(since, until):
            for name, count in _aggregate_day(day, hours).items():
                written[name] += count
    return written


def _aggregate_day(day: date, hours: set[str]) -> dict[str, int]:
    tz, now, key, number = local_tz(), timezone.now(), day.isoformat(), day_key(day)
    day_start, day_end = _day_start(day).astimezone(UTC), _day_start(day + timedelta(days=1)).astimezone(UTC)
    hours = {hour for hour in hours if hour.startswith(key)}
    hourly: dict[tuple[str, str, str], _Requests] = defaultdict(_Requests)
    daily: dict[tuple[str, str, str], _Requests] = defaultdict(_Requests)
    for doc in _read(REQUEST_LOG, day_start, day_end, REQUEST_FIELDS):
        hour = doc["at"].astimezone(tz).strftime("%Y-%m-%dT%H")
        status, duration = int(doc.get("status") or 0), float(doc.get("duration_ms") or 0.0)
        url_name = doc.get("url_name") or ""
        for role in _roles(doc):
            daily[(key, url_name, role)].add(status, duration)
            if hour in hours:
                hourly[(hour, url_name, role)].add(status, duration)

    exceptions: dict[str, dict[str, Any]] = {}
    for doc in _read(EXCEPTION_LOG, day_start, day_end, EXCEPTION_FIELDS):
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
            [_bucket_hour_key(hour) for hour in hours],
            {"|".join(k): _request_stat(*k, requests, now) for k, requests in hourly.items()},
        ),
        REQUEST_STATS_DAILY: _store(
            REQUEST_STATS_DAILY,
            [number],
            {"|".join(k): _request_stat(*k, requests, now) for k, requests in daily.items()},
        ),
        EXCEPTION_STATS_DAILY: _store(
            EXCEPTION_STATS_DAILY,
            [number],
            {
                f"{key}|{signature}": {"day": key, DAY_KEY: number, "signature": signature, **group, "updated_at": now}
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
    written = aggregate(now - timedelta(hours=2), now)  # stamps older statistics too: day_key finds them
    today = now.astimezone(local_tz()).date()
    today_start = _day_start(today).astimezone(UTC)
    with mongo.guard():
        newest = mongo.collection(REQUEST_STATS_DAILY).find_one(
            {DAY_KEY: day_key(today - timedelta(days=1))}, {"updated_at": 1}, sort=[("updated_at", mongo.DESCENDING)]
        )
    updated = newest.get("updated_at") if newest else None
    if not isinstance(updated, datetime) or updated < today_start:
        for name, count in aggregate(today_start - timedelta(days=1), today_start).items():
            written[name] = written.get(name, 0) + count
    return written
