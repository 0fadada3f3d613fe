"""The MongoDB collections of the logs and the audit trail: names, indexes, a few reads.

Documents (every `at` is a timezone-aware UTC datetime; days and hours are China Standard Time):

request_log       {_id: uuid4 hex, at, minute_key, request_id, user_id, username, roles: [str], url_name ("" when
                  unresolved, namespaced like "approvals:inbox"), path (no query string), method,
                  status, duration_ms, ip, user_agent (<= 300 chars)}
exception_log     {_id, at, minute_key, request_id, user_id, username, url_name, path, method, exc_type
                  ("module.ClassName"), message (<= 500 chars), traceback, signature (sha1 of exc_type
                  and the innermost project frame "relpath:function"), location ("relpath:lineno in function")}
audit_events      {_id: seq (1, 2, 3 ... no gaps), seq (the same int: sort and range on it, nx-27017 orders
                  _id as text), event_id (audit_record's "id", unique), at, action, outcome,
                  user: {id, username, roles, scope: {role: {"department": [ids]}}} | None,
                  target: {type, id, repr} | None, changes: {field: [old, new]} (sensitive values masked),
                  ip, user_agent, request_id, extra, prev_hash, hash}: the hash chain, see audit_logs.chain
audit_anchors     {_id: "YYYY-MM-DD", at, last_seq, last_hash, count, hmac}: signed daily anchors
chain_verifications {_id: uuid hex, at, ok, checked, last_seq, problem: None | {kind, seq, detail}, trigger}
request_stats_hourly / request_stats_daily
                  {_id: "bucket|url_name|role", bucket ("YYYY-MM-DDTHH" / "YYYY-MM-DD"), day, hour (0-23,
                  hourly only), hour_key (hourly: the bucket's first instant in hours since the Unix
                  epoch) / day_key (daily: the day in days since 1970-01-01), url_name, role
                  ("anonymous" without a user, "no_role" for a user holding none; a user with two roles
                  counts in both), count, errors (>= 500), client_errors (400-499), p50_ms, p95_ms
                  (nearest rank), max_ms, updated_at}
exception_stats_daily {_id: "day|signature", day, day_key, signature, exc_type, location, count,
                  first_seen, last_seen, updated_at}

nx-27017 (the embedded MongoDB) quirks every reader must know:
- it matches no query value that starts like an ISO date but is more than one ("2025-03-01T09",
  "2025-03-01|approvals:inbox|resident"): find statistics by their integer keys below (a plain
  "2025-03-01" `day` matches, but by a scan), never by `bucket` or `_id`, and filter in Python;
- it sorts (and range-deletes) `_id` as text: order audit events by `seq`, not `_id`;
- a datetime written by $set into an existing document comes back as a string.

Integer keys. `minute_key` (request and exception logs) is `at` in whole minutes since the Unix
epoch, UTC: an int, the same in every timezone. Hourly statistics carry `hour_key` (hours since the
epoch of the bucket's first instant), daily ones `day_key`. audit_logs.writer.write() stamps the
logs' key on every document it writes (spool replays included); the roll-up writes the statistics'
keys and first stamps any document written before keys existed (aggregation.stamp_missing_keys).
Big collections are read by time through these keys only, never by a range on `at` or by `day`:
nx-27017 compares dates and date-like strings through SQLite's datetime() on every row (a scan: at a
million request logs one hour's `at` range takes ~10 s and gets cancelled, and `{"day": {"$in": [...]}}`
copies the whole collection into a temporary table). What its indexes serve: an equality or a range
on an indexed int (`{"hour_key": h}`, `{"minute_key": {"$gte": a, "$lt": b}}`) and `{"minute_key":
None}`. What they do not: any date or date-like value (it also makes equalities on other fields
unindexable), `$in`, `$and`. Full list: docs/decisions/0009. And keep every command short (a few thousand
documents): nx-27017 answers nothing else while it runs one, not even pymongo's heartbeat, and pymongo
cancels the operation when that heartbeat times out (MONGODB_TIMEOUT_MS).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from core import mongo

REQUEST_LOG = "request_log"
EXCEPTION_LOG = "exception_log"
AUDIT_EVENTS = "audit_events"
AUDIT_ANCHORS = "audit_anchors"
CHAIN_VERIFICATIONS = "chain_verifications"
REQUEST_STATS_HOURLY = "request_stats_hourly"
REQUEST_STATS_DAILY = "request_stats_daily"
EXCEPTION_STATS_DAILY = "exception_stats_daily"

#: The collections the writer buffers and spools (the others are written directly by jobs).
BUFFERED = (AUDIT_EVENTS, EXCEPTION_LOG, REQUEST_LOG)

#: The integer keys (see the module docstring) and which collection carries which.
MINUTE_KEY = "minute_key"
HOUR_KEY = "hour_key"
DAY_KEY = "day_key"
LOGS_KEYED = (EXCEPTION_LOG, REQUEST_LOG)
STAT_KEYS = {REQUEST_STATS_HOURLY: HOUR_KEY, REQUEST_STATS_DAILY: DAY_KEY, EXCEPTION_STATS_DAILY: DAY_KEY}
KEYS = {REQUEST_LOG: MINUTE_KEY, EXCEPTION_LOG: MINUTE_KEY, **STAT_KEYS}
#: The key of a document whose time cannot be read: no roll-up ever reads it.
NO_KEY = -1
EPOCH_DAY = date(1970, 1, 1)

#: The `role` of statistics for requests without a signed-in user, and for users holding no role.
ROLE_ANONYMOUS = "anonymous"
ROLE_NONE = "no_role"

#: The first event's prev_hash.
GENESIS_HASH = "0" * 64

ASC, DESC = mongo.ASCENDING, mongo.DESCENDING
mongo.register_indexes(
    mongo.IndexSpec(REQUEST_LOG, (("at", DESC),), "at"),
    mongo.IndexSpec(REQUEST_LOG, (("request_id", ASC),), "request_id"),
    mongo.IndexSpec(REQUEST_LOG, ((MINUTE_KEY, ASC),), MINUTE_KEY),
    mongo.IndexSpec(EXCEPTION_LOG, (("at", DESC),), "at"),
    mongo.IndexSpec(EXCEPTION_LOG, ((MINUTE_KEY, ASC),), MINUTE_KEY),
    mongo.IndexSpec(EXCEPTION_LOG, (("signature", ASC), ("at", DESC)), "signature_at"),
    mongo.IndexSpec(EXCEPTION_LOG, (("request_id", ASC),), "request_id"),
    mongo.IndexSpec(AUDIT_EVENTS, (("seq", ASC),), "seq_unique", {"unique": True}),
    mongo.IndexSpec(AUDIT_EVENTS, (("event_id", ASC),), "event_id_unique", {"unique": True}),
    mongo.IndexSpec(AUDIT_EVENTS, (("at", DESC),), "at"),
    mongo.IndexSpec(AUDIT_EVENTS, (("action", ASC), ("at", DESC)), "action_at"),
    mongo.IndexSpec(AUDIT_EVENTS, (("user.username", ASC), ("at", DESC)), "username_at"),
    mongo.IndexSpec(AUDIT_EVENTS, (("target.id", ASC),), "target_id"),
    mongo.IndexSpec(AUDIT_EVENTS, (("request_id", ASC),), "request_id"),
    mongo.IndexSpec(AUDIT_ANCHORS, (("last_seq", DESC),), "last_seq"),
    mongo.IndexSpec(CHAIN_VERIFICATIONS, (("at", DESC),), "at"),
    mongo.IndexSpec(REQUEST_STATS_HOURLY, ((HOUR_KEY, ASC),), HOUR_KEY),
    mongo.IndexSpec(REQUEST_STATS_HOURLY, (("day", ASC), ("hour", ASC)), "day_hour"),
    mongo.IndexSpec(REQUEST_STATS_HOURLY, (("url_name", ASC), ("day", ASC)), "url_name_day"),
    mongo.IndexSpec(REQUEST_STATS_DAILY, ((DAY_KEY, ASC),), DAY_KEY),
    mongo.IndexSpec(REQUEST_STATS_DAILY, (("day", ASC),), "day"),
    mongo.IndexSpec(REQUEST_STATS_DAILY, (("url_name", ASC), ("day", ASC)), "url_name_day"),
    mongo.IndexSpec(EXCEPTION_STATS_DAILY, ((DAY_KEY, ASC),), DAY_KEY),
    mongo.IndexSpec(EXCEPTION_STATS_DAILY, (("day", ASC),), "day"),
    mongo.IndexSpec(EXCEPTION_STATS_DAILY, (("signature", ASC), ("day", ASC)), "signature_day"),
)


def _utc_seconds(at: datetime) -> float:
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).timestamp()  # naive: taken as UTC


def minute_key(at: datetime) -> int:
    """Whole minutes since the Unix epoch (UTC) of a datetime."""
    return int(_utc_seconds(at) // 60)


def hour_key(at: datetime) -> int:
    """Whole hours since the Unix epoch (UTC) of a datetime."""
    return int(_utc_seconds(at) // 3600)


def day_key(day: date) -> int:
    """Days since 1970-01-01 of a (China Standard Time) day."""
    return (day - EPOCH_DAY).days


def stamp_minute_key(docs: list[dict[str, Any]]) -> None:
    """Give log documents their minute_key (in place; a document that has one keeps it)."""
    for doc in docs:
        if MINUTE_KEY not in doc:
            at = doc.get("at")
            doc[MINUTE_KEY] = minute_key(at) if isinstance(at, datetime) else NO_KEY


def last_verification() -> dict[str, Any] | None:
    """The newest chain verification (command, task or screen). Raises MongoUnavailable."""
    with mongo.guard():
        return mongo.collection(CHAIN_VERIFICATIONS).find_one({}, sort=[("at", DESC)])


def latest_anchor() -> dict[str, Any] | None:
    """The anchor covering the most events. Raises MongoUnavailable."""
    with mongo.guard():
        return mongo.collection(AUDIT_ANCHORS).find_one({}, sort=[("last_seq", DESC)])
