"""Reads of the logs in MongoDB for the auditor screens (views stay thin; exports share the queries).

Every function here talks to MongoDB only through `core.mongo` and inside `mongo.guard()`, so a
failing server surfaces as `mongo.MongoUnavailable`, which the views turn into a friendly page.
Results are plain lists and dicts, never cursors: nothing reaches MongoDB while a template renders.

Times are stored in UTC; people think in China Standard Time. Date filters are days in
Asia/Shanghai turned into UTC instants here, and every datetime handed out is in Asia/Shanghai.
Queries stay inside what the embedded nx-27017 handles (see core/mongo.py). Its quirks shape
this module, each worked around in a way real MongoDB treats identically:
- it sorts integer `_id`s as text (99 after 120), so events are ordered by their `seq` field;
- an aggregation $match ignores date bounds unless wrapped in $and;
- it compares dates and date-like strings row by row (a scan), so statistics are read by their
  integer `hour_key` / `day_key` ranges (see audit_logs/collections.py);
- dates from $min/$max or written by $set may come back as text (`as_local` reads all forms).
See also the notes in audit_logs/collections.py.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import Role
from core import mongo

from .collections import DAY_KEY, HOUR_KEY, day_key, hour_key

LOCAL_TZ_NAME = "Asia/Shanghai"
LOCAL_TZ = ZoneInfo(LOCAL_TZ_NAME)

AUDIT_EVENTS = "audit_events"
EXCEPTION_LOG = "exception_log"
EXCEPTION_STATS_DAILY = "exception_stats_daily"
REQUEST_STATS_HOURLY = "request_stats_hourly"
REQUEST_STATS_DAILY = "request_stats_daily"
AUDIT_ANCHORS = "audit_anchors"
CHAIN_VERIFICATIONS = "chain_verifications"

#: How many days of per-day counts an exception's page shows, and how many raw occurrences it
#: reads at most to compute them when the daily statistics are missing.
EXCEPTION_DAYS = 30
EXCEPTION_COUNT_SCAN = 10_000


# --- time ---------------------------------------------------------------------------------------


def local_now() -> datetime:
    return timezone.now().astimezone(LOCAL_TZ)


def local_day_start(day: date) -> datetime:
    """The UTC instant at which `day` begins in China Standard Time."""
    return datetime.combine(day, time.min, tzinfo=LOCAL_TZ).astimezone(UTC)


def _date_range(date_from: date | None, date_to: date | None) -> dict[str, datetime]:
    """Both ends inclusive, as days in Asia/Shanghai: [from 00:00 CST, the day after `to` 00:00 CST)."""
    bounds = {}
    if date_from:
        bounds["$gte"] = local_day_start(date_from)
    if date_to:
        bounds["$lt"] = local_day_start(date_to + timedelta(days=1))
    return bounds


def as_local(value: Any) -> datetime | None:
    """A stored time (aware or naive UTC datetime, or the extended JSON nx-27017 returns from
    $min/$max) as an aware datetime in Asia/Shanghai."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = _parse_time(value)
        except (ValueError, TypeError, AttributeError):
            return None
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(LOCAL_TZ)


def _parse_time(text: str) -> datetime:
    if text.startswith("{"):
        raw = json.loads(text).get("$date")
        if isinstance(raw, dict):
            raw = int(raw.get("$numberLong", 0))
        if isinstance(raw, int | float):
            return datetime.fromtimestamp(raw / 1000, UTC)
        text = str(raw)
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- pagination over MongoDB --------------------------------------------------------------------


class MongoPageSource:
    """What django.core.paginator.Paginator needs: `count()` and slicing, each one guarded query."""

    def __init__(self, count: Callable[[], int], fetch: Callable[[int, int], list[dict]]):
        self._count = count
        self._fetch = fetch
        self._total: int | None = None

    def count(self) -> int:
        if self._total is None:
            with mongo.guard():
                self._total = self._count()
        return self._total

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, key: slice) -> list[dict]:
        if not isinstance(key, slice):
            raise TypeError("MongoPageSource supports slices only")
        start = key.start or 0
        stop = key.stop if key.stop is not None else self.count()
        if stop <= start:
            return []
        with mongo.guard():
            return self._fetch(start, stop - start)


# --- the audit trail ----------------------------------------------------------------------------


def _role_label(code: str) -> str:
    if code == "anonymous":
        return _("Anonymous")
    if code == "no_role":
        return _("No role")
    try:
        return str(Role(code).label)
    except ValueError:
        return code


def audit_event_query(
    *,
    user: str = "",
    action: str = "",
    target_type: str = "",
    target_id: str = "",
    outcome: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> dict[str, Any]:
    """The MongoDB filter for the audit search (the form's cleaned_data as keyword arguments).

    `action` ending in "." is a prefix ("approval." finds every approval action); otherwise it is
    the action itself or its family ("approval" finds "approval" and "approval.approve").
    """
    query: dict[str, Any] = {}
    if user:
        query["user.username"] = {"$regex": re.escape(user), "$options": "i"}
    if action:
        pattern = "^" + re.escape(action) + ("" if action.endswith(".") else r"(\.|$)")
        query["action"] = {"$regex": pattern, "$options": "i"}
    if target_type:
        query["target.type"] = {"$regex": re.escape(target_type), "$options": "i"}
    if target_id:
        query["target.id"] = target_id
    if outcome:
        query["outcome"] = outcome
    if bounds := _date_range(date_from, date_to):
        query["at"] = bounds
    return query


def audit_event(doc: dict[str, Any]) -> dict[str, Any]:
    """One stored event, ready for a template or an export row."""
    user = doc.get("user") or {}
    target = doc.get("target") or {}
    changes = doc.get("changes") or {}
    target_repr = target.get("repr") or (f"{target.get('type', '')} #{target.get('id', '')}" if target else "")
    return {
        "seq": doc.get("seq", doc.get("_id")),
        "event_id": doc.get("event_id", ""),
        "at": as_local(doc.get("at")),
        "action": doc.get("action", ""),
        "outcome": doc.get("outcome", ""),
        "username": user.get("username", ""),
        "user_id": user.get("id"),
        "roles": [_role_label(r) for r in user.get("roles") or []],
        "target_type": target.get("type", ""),
        "target_id": target.get("id", ""),
        "target_repr": target_repr,
        "changes": [
            {
                "field": name,
                "old": value[0] if isinstance(value, list | tuple) and len(value) == 2 else None,
                "new": value[1] if isinstance(value, list | tuple) and len(value) == 2 else value,
            }
            for name, value in changes.items()
        ],
        "extra": sorted((doc.get("extra") or {}).items()),
        "ip": doc.get("ip") or "",
        "user_agent": doc.get("user_agent") or "",
        "request_id": doc.get("request_id") or "",
        "prev_hash": doc.get("prev_hash") or "",
        "hash": doc.get("hash") or "",
    }


#: Newest first, by sequence number: `seq` repeats `_id`, which nx-27017 would sort as text.
EVENT_ORDER = [("seq", mongo.DESCENDING)]


def audit_events(query: dict[str, Any]) -> MongoPageSource:
    """Matching events, newest first, for the Paginator."""

    def count() -> int:
        return mongo.collection(AUDIT_EVENTS).count_documents(query)

    def fetch(skip: int, limit: int) -> list[dict]:
        cursor = mongo.collection(AUDIT_EVENTS).find(query).sort(EVENT_ORDER).skip(skip).limit(limit)
        return [audit_event(doc) for doc in cursor]

    return MongoPageSource(count, fetch)


def audit_event_count(query: dict[str, Any]) -> int:
    with mongo.guard():
        return mongo.collection(AUDIT_EVENTS).count_documents(query)


def audit_event_by_seq(seq: int) -> dict[str, Any] | None:
    with mongo.guard():
        doc = mongo.collection(AUDIT_EVENTS).find_one({"_id": seq})
    return audit_event(doc) if doc else None


def iter_audit_events(query: dict[str, Any], *, limit: int) -> Iterator[dict[str, Any]]:
    """Stream matching events (newest first) for an export; raises MongoUnavailable mid-way if the server goes."""
    with mongo.guard():
        cursor = mongo.collection(AUDIT_EVENTS).find(query).sort(EVENT_ORDER).limit(limit).batch_size(500)
        for doc in cursor:
            yield audit_event(doc)


# --- exceptions ---------------------------------------------------------------------------------


def exception_query(*, exc_type: str = "", date_from: date | None = None, date_to: date | None = None) -> dict:
    query: dict[str, Any] = {}
    if exc_type:
        query["exc_type"] = {"$regex": re.escape(exc_type), "$options": "i"}
    if bounds := _date_range(date_from, date_to):
        query["at"] = bounds
    return query


def exception_groups(query: dict[str, Any]) -> MongoPageSource:
    """Exceptions grouped by signature, most recently seen first.

    One $group gives count and first/last seen; the type, place and latest message come from one
    find_one per group on the page ($first is not portable to nx-27017), so a page costs
    2 + page-size queries however many occurrences there are.
    """
    log = mongo.collection(EXCEPTION_LOG)
    # $and: nx-27017 ignores date bounds in a plain aggregation $match; MongoDB reads both alike.
    match = [{"$match": {"$and": [{key: value} for key, value in query.items()]}}] if query else []

    def count() -> int:
        rows = list(log.aggregate([*match, {"$group": {"_id": "$signature"}}, {"$count": "n"}]))
        return rows[0]["n"] if rows else 0

    def fetch(skip: int, limit: int) -> list[dict]:
        pipeline = [
            *match,
            {
                "$group": {
                    "_id": "$signature",
                    "count": {"$sum": 1},
                    "first_seen": {"$min": "$at"},
                    "last_seen": {"$max": "$at"},
                }
            },
            {"$sort": {"last_seen": -1, "_id": 1}},
            {"$limit": skip + limit},  # no $skip: nx-27017 mangles the rows after it
        ]
        groups = list(log.aggregate(pipeline))[skip:]
        rows = []
        for group in groups:
            latest = log.find_one({**query, "signature": group["_id"]}, sort=[("at", mongo.DESCENDING)]) or {}
            rows.append(
                {
                    "signature": group["_id"],
                    "count": group["count"],
                    "first_seen": as_local(group["first_seen"]),
                    "last_seen": as_local(group["last_seen"]),
                    "exc_type": latest.get("exc_type", ""),
                    "location": latest.get("location", ""),
                    "message": latest.get("message", ""),
                }
            )
        return rows

    return MongoPageSource(count, fetch)


def _occurrence(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "at": as_local(doc.get("at")),
        "request_id": doc.get("request_id") or "",
        "username": doc.get("username") or "",
        "user_id": doc.get("user_id"),
        "url_name": doc.get("url_name") or "",
        "path": doc.get("path") or "",
        "method": doc.get("method") or "",
        "message": doc.get("message") or "",
        "traceback": doc.get("traceback") or "",
    }


def exception_detail(signature: str, *, occurrences: int = 20) -> dict[str, Any] | None:
    """One signature: totals, counts per day (newest first) and the latest occurrences; None if unknown."""
    with mongo.guard():
        log = mongo.collection(EXCEPTION_LOG)
        latest = list(log.find({"signature": signature}).sort("at", mongo.DESCENDING).limit(occurrences))
        if not latest:
            return None
        total = log.count_documents({"signature": signature})
        first = log.find_one({"signature": signature}, sort=[("at", mongo.ASCENDING)])
        daily = list(
            mongo.collection(EXCEPTION_STATS_DAILY)
            .find({"signature": signature})
            .sort("day", mongo.DESCENDING)
            .limit(EXCEPTION_DAYS)
        )
        if daily:
            per_day = [{"day": d["day"], "count": d.get("count", 0)} for d in daily]
            per_day_source = "stats"
        else:
            scanned = log.find({"signature": signature}, {"at": 1}).sort("at", mongo.DESCENDING)
            counts = Counter(as_local(d["at"]).date().isoformat() for d in scanned.limit(EXCEPTION_COUNT_SCAN))
            per_day = [{"day": day, "count": n} for day, n in sorted(counts.items(), reverse=True)[:EXCEPTION_DAYS]]
            per_day_source = "computed"
    head = latest[0]
    return {
        "signature": signature,
        "exc_type": head.get("exc_type", ""),
        "location": head.get("location", ""),
        "message": head.get("message", ""),
        "count": total,
        "first_seen": as_local(first["at"]) if first else None,
        "last_seen": as_local(head.get("at")),
        "per_day": per_day,
        "per_day_source": per_day_source,
        "occurrences": [_occurrence(d) for d in latest],
    }


def exceptions_today() -> int:
    with mongo.guard():
        start = local_day_start(local_now().date())
        return mongo.collection(EXCEPTION_LOG).count_documents({"at": {"$gte": start}})


# --- traffic ------------------------------------------------------------------------------------

TRAFFIC_RANGES = {"24h": 24, "7d": 24 * 7}
TOP_PAGES = 10


def _weighted_p95(pairs: list[tuple[float, int]]) -> float:
    """The request-weighted mean of several p95s: exact percentiles across buckets need the raw log."""
    total = sum(n for _, n in pairs)
    if not total:
        return 0.0
    return round(sum(p * n for p, n in pairs) / total, 1)


def _pages(docs: list[dict]) -> list[dict]:
    by_page: dict[str, list[dict]] = defaultdict(list)
    for doc in docs:
        by_page[doc.get("url_name") or "-"].append(doc)
    pages = [
        {
            "url_name": name,
            "count": sum(d.get("count", 0) for d in rows),
            "errors": sum(d.get("errors", 0) for d in rows),
            "p95_ms": _weighted_p95([(d.get("p95_ms") or 0, d.get("count", 0)) for d in rows]),
            "max_ms": max((d.get("max_ms") or 0 for d in rows), default=0),
        }
        for name, rows in by_page.items()
    ]
    return sorted(pages, key=lambda p: (-p["p95_ms"], p["url_name"]))[:TOP_PAGES]


def _roles(docs: list[dict]) -> list[dict]:
    counts: Counter[str] = Counter()
    for doc in docs:
        counts[doc.get("role") or "anonymous"] += doc.get("count", 0)
    return [{"role": r, "label": _role_label(r), "count": n} for r, n in counts.most_common()]


def traffic(range_key: str, *, now: datetime | None = None) -> dict[str, Any]:
    """Requests, errors and p95 per hour, the slowest pages and the busiest roles for the last 24 h or 7 days.

    Reads the pipeline's aggregates: hourly buckets for the time series; for 7 days the rankings
    come from the daily buckets (fewer rows), falling back to the hourly ones.
    """
    hours = TRAFFIC_RANGES.get(range_key, 24)
    end = (now or timezone.now()).astimezone(LOCAL_TZ).replace(minute=0, second=0, microsecond=0)
    slots = [end - timedelta(hours=h) for h in reversed(range(hours))]
    keys = [s.strftime("%Y-%m-%dT%H") for s in slots]
    wanted = set(keys)
    hour_range = {"$gte": hour_key(slots[0]), "$lte": hour_key(slots[-1])}
    day_range = {"$gte": day_key(slots[0].date()), "$lte": day_key(slots[-1].date())}
    with mongo.guard():
        # One integer range per collection, served by the key's index (a `day` or `bucket` condition
        # is a scan on nx-27017); the buckets are checked in Python all the same.
        hourly = [
            d for d in mongo.collection(REQUEST_STATS_HOURLY).find({HOUR_KEY: hour_range}) if d.get("bucket") in wanted
        ]
        daily = list(mongo.collection(REQUEST_STATS_DAILY).find({DAY_KEY: day_range})) if hours > 24 else []
    if not hourly and not daily:
        return {"empty": True, "range": range_key}

    per_slot: dict[str, list[dict]] = defaultdict(list)
    for doc in hourly:
        per_slot[doc["bucket"]].append(doc)
    ranking_docs = daily or hourly
    updated = [as_local(d.get("updated_at")) for d in (*hourly, *daily) if d.get("updated_at")]
    requests = [sum(d.get("count", 0) for d in per_slot[k]) for k in keys]
    errors = [sum(d.get("errors", 0) for d in per_slot[k]) for k in keys]
    client_errors = [sum(d.get("client_errors", 0) for d in per_slot[k]) for k in keys]
    return {
        "empty": False,
        "range": range_key,
        "updated_at": max(updated) if updated else None,
        "totals": {"requests": sum(requests), "errors": sum(errors), "client_errors": sum(client_errors)},
        "series": {
            "hours": [s.strftime("%H:00" if hours <= 24 else "%m-%d %H:00") for s in slots],
            "requests": requests,
            "errors": errors,
            "client_errors": client_errors,
            "p95": [
                _weighted_p95([(d.get("p95_ms") or 0, d.get("count", 0)) for d in per_slot[k]]) if per_slot[k] else None
                for k in keys
            ],
        },
        "pages": _pages(ranking_docs),
        "roles": _roles(ranking_docs),
    }


# --- the chain ----------------------------------------------------------------------------------


def _verification(doc: dict[str, Any]) -> dict[str, Any]:
    problem = doc.get("problem") or None
    return {
        "id": doc.get("_id"),
        "at": as_local(doc.get("at")),
        "ok": bool(doc.get("ok")),
        "checked": doc.get("checked", 0),
        "last_seq": doc.get("last_seq"),
        "trigger": doc.get("trigger") or "",
        "problem": (
            {"kind": problem.get("kind", ""), "seq": problem.get("seq"), "detail": problem.get("detail", "")}
            if problem
            else None
        ),
    }


def chain_verifications(*, limit: int = 20) -> list[dict[str, Any]]:
    with mongo.guard():
        docs = mongo.collection(CHAIN_VERIFICATIONS).find().sort("at", mongo.DESCENDING).limit(limit)
        return [_verification(d) for d in docs]


def latest_chain_verification() -> dict[str, Any] | None:
    rows = chain_verifications(limit=1)
    return rows[0] if rows else None


def chain_anchors(*, limit: int = 30) -> list[dict[str, Any]]:
    with mongo.guard():
        docs = mongo.collection(AUDIT_ANCHORS).find().sort("last_seq", mongo.DESCENDING).limit(limit)
        return [
            {
                "day": d.get("_id"),
                "at": as_local(d.get("at")),
                "last_seq": d.get("last_seq"),
                "count": d.get("count", 0),
                "hash_prefix": (d.get("last_hash") or "")[:16],
            }
            for d in docs
        ]
