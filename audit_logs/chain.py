"""The tamper-evident audit trail: a hash chain in MongoDB, signed daily anchors, verification.

Sealing. audit_record() hands its event dict to the durable sink, the log writer buffers it, and
`seal()` writes batches of them as `audit_events` documents: under an exclusive fcntl lock
(LOG_SPOOL_DIR/.audit-chain.lock, so one sealer at a time on this host) it skips event ids already
in the collection (a replayed spool is sealed exactly once), reads the last sealed event, gives each
new event the next seq (1, 2, 3 ... no gaps), its `prev_hash` and its `hash`, and inserts them in
order. Should two hosts ever seal at once, the unique seq refuses the loser's batch and it reseals
on top of the winner's. The seq is stored twice, as `_id` and as `seq`: nx-27017 (the embedded
MongoDB) sorts and range-deletes `_id` as text (10 before 9), so every ordered or ranged query
uses `seq`, which has its own unique index.

Hash. `hash = sha256(prev_hash + canonical(doc)).hexdigest()`, where `doc` is the stored document
without "hash" (so "_id", "seq" and "prev_hash" are included) and

    canonical(doc) = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

with `at` written as ISO-8601 UTC with microseconds ("2025-03-01T02:03:04.567000+00:00"). The first
event's prev_hash is 64 zeros. Before sealing, `at` is cut to milliseconds (BSON datetimes hold no
more) and every other value is made plain JSON (a JSON round trip, str() for anything else), so the
document read back from MongoDB hashes to exactly the stored hash.

What it proves. An edited event no longer matches its hash; a deleted one leaves a gap in the seqs;
an inserted one breaks the next event's prev_hash. Rewriting the whole tail consistently needs no key,
so every day `write_daily_anchor()` signs the chain's state (last seq, its hash, the count) with
HMAC-SHA256 under AUDIT_ANCHOR_KEY, stores it in `audit_anchors` and exports it as
AUDIT_ANCHOR_DIR/<day>.json, outside MongoDB and out of any admin screen's reach. `verify_chain()`
walks the chain, checks every anchor (collection and files) against it and reports the first problem.

Retention. Events are deleted only as a prefix ending exactly at an anchor older than
AUDIT_RETENTION_DAYS (`prune_events`), never the newest event; verification then starts at the
oldest remaining event and takes its expected prev_hash from the anchor that covers seq - 1.
See docs/decisions/0008-logs-and-audit-chain.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from core import mongo

from .collections import AUDIT_ANCHORS, AUDIT_EVENTS, CHAIN_VERIFICATIONS, GENESIS_HASH
from .files import file_lock, spool_dir

logger = logging.getLogger("zhupei.logs")

CHAIN_LOCK = ".audit-chain.lock"
PROBLEM_KINDS = ("hash_mismatch", "gap", "prev_mismatch", "anchor_mismatch", "anchor_signature")


def local_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)  # Asia/Shanghai


# --------------------------------------------------------------------------------------------
# The hash
# --------------------------------------------------------------------------------------------
def iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(doc: dict[str, Any]) -> str:
    body = {key: value for key, value in doc.items() if key != "hash"}
    if isinstance(body.get("at"), datetime):
        body["at"] = iso_utc(body["at"])
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def compute_hash(doc: dict[str, Any]) -> str:
    return hashlib.sha256((str(doc.get("prev_hash")) + canonical(doc)).encode("utf-8")).hexdigest()


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def _event_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        at = value
    else:
        try:
            at = datetime.fromisoformat(str(value))
        except ValueError:
            at = timezone.now()
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    at = at.astimezone(UTC)
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def build_document(event: dict[str, Any], seq: int, prev_hash: str) -> dict[str, Any]:
    """The sealed form of one audit_record event."""
    doc: dict[str, Any] = {
        "_id": seq,
        "seq": seq,
        "event_id": str(event["id"]),
        "action": event.get("action", ""),
        "outcome": event.get("outcome", "success"),
        "user": event.get("user"),
        "target": event.get("target"),
        "changes": event.get("changes") or {},
        "ip": event.get("ip"),
        "user_agent": event.get("user_agent"),
        "request_id": event.get("request_id"),
        "extra": event.get("extra") or {},
    }
    for key, value in event.items():  # fields a later audit_record may add are sealed too
        if key not in doc and key not in ("id", "at", "_id", "seq", "hash", "prev_hash", "event_id"):
            doc[key] = value
    doc = _plain(doc)
    doc["at"] = _event_time(event.get("at"))
    doc["prev_hash"] = prev_hash
    doc["hash"] = compute_hash(doc)
    return doc


# --------------------------------------------------------------------------------------------
# Sealing
# --------------------------------------------------------------------------------------------
def _chain_lock() -> Path:
    return spool_dir() / CHAIN_LOCK


def _edge(direction: int) -> int | None:
    """The lowest or highest seq (a document without an integer seq is not part of the chain)."""
    cursor = mongo.collection(AUDIT_EVENTS).find({"seq": {"$gte": 1}}, {"seq": 1}, sort=[("seq", direction)])
    for doc in cursor.limit(20):
        if isinstance(doc.get("seq"), int) and not isinstance(doc["seq"], bool):
            return doc["seq"]
    return None


def _head() -> tuple[int, str]:
    """The last sealed seq and hash; an anchor beyond the last event (pruned or lost tail) wins."""
    seq, digest = _edge(mongo.DESCENDING) or 0, GENESIS_HASH
    if seq:
        digest = str(mongo.collection(AUDIT_EVENTS).find_one({"seq": seq}, {"hash": 1}).get("hash"))
    anchor = mongo.collection(AUDIT_ANCHORS).find_one({}, sort=[("last_seq", mongo.DESCENDING)])
    if anchor and int(anchor.get("last_seq", 0)) > seq:
        seq, digest = int(anchor["last_seq"]), str(anchor["last_hash"])
    return seq, digest


def seal(events: list[dict[str, Any]]) -> int:
    """Append audit_record events to the chain, each exactly once; returns how many were new.

    Raises MongoUnavailable (the caller spools the raw events and they are sealed on replay).
    """
    unique: dict[str, dict[str, Any]] = {}
    for event in events:
        event.setdefault("id", str(uuid.uuid4()))
        unique.setdefault(str(event["id"]), event)
    if not unique:
        return 0
    inserted = 0
    with file_lock(_chain_lock()), mongo.guard():
        collection = mongo.collection(AUDIT_EVENTS)
        for _attempt in range(5):
            present = {d["event_id"] for d in collection.find({"event_id": {"$in": list(unique)}}, {"event_id": 1})}
            todo = [event for event_id, event in unique.items() if event_id not in present]
            if not todo:
                return inserted
            seq, prev_hash = _head()
            docs = []
            for event in todo:
                seq += 1
                doc = build_document(event, seq, prev_hash)
                prev_hash = doc["hash"]
                docs.append(doc)
            try:
                collection.insert_many(docs, ordered=True)
                return inserted + len(docs)
            except mongo.BulkWriteError as exc:
                details = exc.details or {}
                inserted += int(details.get("nInserted", 0))
                if any(e.get("code") != 11000 for e in details.get("writeErrors", [])):
                    raise
                logger.warning("another process sealed audit events at the same time; sealing again on top")
        raise mongo.MongoUnavailable("could not seal audit events: the chain kept moving (concurrent sealers)")


# --------------------------------------------------------------------------------------------
# Anchors
# --------------------------------------------------------------------------------------------
def sign(day: str, last_seq: int, last_hash: str, count: int) -> str:
    message = f"{day}|{last_seq}|{last_hash}|{count}".encode()
    return hmac.new(str(settings.AUDIT_ANCHOR_KEY).encode(), message, hashlib.sha256).hexdigest()


def signature_valid(anchor: dict[str, Any]) -> bool:
    try:
        expected = sign(str(anchor["_id"]), int(anchor["last_seq"]), str(anchor["last_hash"]), int(anchor["count"]))
    except (KeyError, TypeError, ValueError):
        return False
    return hmac.compare_digest(expected, str(anchor.get("hmac", "")))


def _anchor_dir() -> Path:
    return Path(settings.AUDIT_ANCHOR_DIR)


def _write_anchor_file(anchor: dict[str, Any]) -> None:
    directory = _anchor_dir()
    directory.mkdir(parents=True, exist_ok=True)
    body = {
        "day": anchor["_id"],
        "at": iso_utc(anchor["at"]),
        "last_seq": anchor["last_seq"],
        "last_hash": anchor["last_hash"],
        "count": anchor["count"],
        "hmac": anchor["hmac"],
    }
    target = directory / f"{anchor['_id']}.json"
    temporary = directory / f".{anchor['_id']}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.chmod(temporary, 0o440)
    os.replace(temporary, target)


def file_anchors() -> list[dict[str, Any]]:
    """The exported anchors, shaped like the collection's documents (unreadable files are skipped)."""
    anchors = []
    directory = _anchor_dir()
    if not directory.is_dir():
        return anchors
    for path in sorted(directory.glob("*.json")):
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            anchors.append(
                {
                    "_id": str(body["day"]),
                    "at": datetime.fromisoformat(body["at"]),
                    "last_seq": int(body["last_seq"]),
                    "last_hash": str(body["last_hash"]),
                    "count": int(body["count"]),
                    "hmac": str(body["hmac"]),
                    "file": path.name,
                }
            )
        except (OSError, ValueError, KeyError, TypeError):
            logger.error("the anchor file %s cannot be read", path)
    return anchors


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=local_tz())
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def write_daily_anchor(day: date | str | None = None) -> dict[str, Any] | None:
    """Sign the chain up to the last event of `day` (default: yesterday in China Standard Time).

    Idempotent: re-running for a day changes nothing unless events of that day arrived late (a
    replayed spool), which moves the anchor forward. The segment since the previous anchor is
    verified first; a broken chain is recorded and never signed. Returns the anchor or None.
    """
    if day is None:
        day = timezone.localdate() - timedelta(days=1)
    elif isinstance(day, str):
        day = date.fromisoformat(day)
    key = day.isoformat()
    _, end = _day_bounds(day)
    with file_lock(_chain_lock()), mongo.guard():
        events = mongo.collection(AUDIT_EVENTS)
        anchors = mongo.collection(AUDIT_ANCHORS)
        last = events.find_one({"at": {"$lt": end}}, {"seq": 1, "hash": 1}, sort=[("seq", mongo.DESCENDING)])
        existing = anchors.find_one({"_id": key})
        if last is None:
            return existing
        last_seq, last_hash = int(last["seq"]), str(last["hash"])
        if existing and int(existing["last_seq"]) >= last_seq:
            _ensure_anchor_file(existing)
            return existing
        previous = anchors.find_one(
            {"last_seq": {"$lte": last_seq}, "_id": {"$ne": key}}, sort=[("last_seq", mongo.DESCENDING)]
        )
        if previous and signature_valid(previous) and events.find_one({"seq": int(previous["last_seq"])}):
            start, prev_hash = int(previous["last_seq"]) + 1, str(previous["last_hash"])
        else:
            start, prev_hash = 1, GENESIS_HASH
            first = _edge(mongo.ASCENDING)
            if first and first > 1:  # pruned: start from the anchor that covers seq - 1
                cover = anchors.find_one({"last_seq": first - 1})
                if cover:
                    start, prev_hash = first, str(cover["last_hash"])
        checked, _, problem = _walk(start, prev_hash, stop=last_seq)
        if existing and problem is None:
            stored = events.find_one({"seq": int(existing["last_seq"])}, {"hash": 1})
            if stored and stored.get("hash") != existing.get("last_hash"):
                problem = _problem("anchor_mismatch", int(existing["last_seq"]), f"anchor {key} no longer matches")
        if problem is not None:
            logger.error("not signing the audit anchor of %s: %s", key, problem)
            _record(ok=False, checked=checked, last_seq=start + checked - 1, problem=problem, trigger="task")
            return None
        anchor = {
            "_id": key,
            "at": timezone.now(),
            "last_seq": last_seq,
            "last_hash": last_hash,
            "count": last_seq,
            "hmac": sign(key, last_seq, last_hash, last_seq),
        }
        if existing:
            # Moved forward by late events; `at` stays the first signing (a datetime $set on an existing
            # document becomes a string in nx-27017).
            anchor["at"] = existing["at"]
            fields = ("last_seq", "last_hash", "count", "hmac")
            anchors.update_one({"_id": key}, {"$set": {k: anchor[k] for k in fields}})
        else:
            anchors.update_one({"_id": key}, {"$set": {k: v for k, v in anchor.items() if k != "_id"}}, upsert=True)
    _write_anchor_file(anchor)
    return anchor


def _ensure_anchor_file(anchor: dict[str, Any]) -> None:
    if not (_anchor_dir() / f"{anchor['_id']}.json").exists():
        _write_anchor_file(anchor)


# --------------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------------
@dataclass
class VerifyResult:
    ok: bool
    checked: int
    last_seq: int
    problem: dict[str, Any] | None
    trigger: str
    last_anchor: dict[str, Any] | None = None
    at: datetime = field(default_factory=timezone.now)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def message(self) -> str:
        if self.ok:
            anchor = (
                f"last anchor {self.last_anchor['day']} at seq {self.last_anchor['last_seq']}"
                if self.last_anchor
                else "no anchor yet"
            )
            return f"OK: {self.checked} events, chain intact up to seq {self.last_seq} ({anchor})"
        problem = self.problem or {}
        return f"BROKEN at seq {problem.get('seq')}: {problem.get('kind')} — {problem.get('detail')}"


def _problem(kind: str, seq: int, detail: str) -> dict[str, Any]:
    return {"kind": kind, "seq": int(seq), "detail": detail}


def _walk(start: int, prev_hash: str, *, stop: int | None = None, batch: int = 1000, seen: dict | None = None):
    """Check events start..stop (or to the end): returns (checked, last good seq, first problem)."""
    collection = mongo.collection(AUDIT_EVENTS)
    expected, checked, last_good = start, 0, start - 1
    query_from = start - 1
    while True:
        query: dict[str, Any] = {"seq": {"$gt": query_from}}
        if stop is not None:
            query["seq"]["$lte"] = stop
        docs = list(collection.find(query, sort=[("seq", mongo.ASCENDING)]).limit(batch))
        if not docs:
            if stop is not None and expected <= stop:
                return checked, last_good, _problem("gap", expected, f"event {expected} is missing")
            return checked, last_good, None
        for doc in docs:
            seq = doc["seq"]
            if seq != expected:
                return checked, last_good, _problem("gap", expected, f"event {expected} is missing (the next is {seq})")
            if doc.get("prev_hash") != prev_hash:
                return (
                    checked,
                    last_good,
                    _problem(
                        "prev_mismatch",
                        seq,
                        f"prev_hash {str(doc.get('prev_hash'))[:12]}… does not follow event {seq - 1}",
                    ),
                )
            if compute_hash(doc) != doc.get("hash") or doc["_id"] != seq:
                return (
                    checked,
                    last_good,
                    _problem(
                        "hash_mismatch", seq, f"event {seq} ({doc.get('action')}) was changed after it was sealed"
                    ),
                )
            if seen is not None:
                seen[seq] = doc["hash"]
            prev_hash, last_good, expected, checked = doc["hash"], seq, expected + 1, checked + 1
        query_from = docs[-1]["seq"]


def _all_anchors() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    stored = list(mongo.collection(AUDIT_ANCHORS).find({}, sort=[("last_seq", mongo.ASCENDING)]))
    return stored, file_anchors()


def _anchor_problems(stored, files, head: int, hashes: dict[int, str]) -> list[dict[str, Any]]:
    problems = []
    by_day = {str(a["_id"]): a for a in stored}
    events = mongo.collection(AUDIT_EVENTS)
    for anchor in stored:
        day, last_seq = anchor["_id"], int(anchor.get("last_seq", 0))
        if not signature_valid(anchor):
            problems.append(_problem("anchor_signature", last_seq, f"anchor {day}: the signature does not match"))
        elif int(anchor["count"]) != last_seq:
            problems.append(_problem("anchor_mismatch", last_seq, f"anchor {day}: count {anchor['count']} ≠ seq"))
        elif last_seq > head:
            problems.append(
                _problem("gap", head + 1, f"the chain ends at seq {head} but anchor {day} covers seq {last_seq}")
            )
        else:
            digest = hashes.get(last_seq)
            if digest is None:
                doc = events.find_one({"seq": last_seq}, {"hash": 1})
                digest = doc.get("hash") if doc else None
            if digest is not None and digest != anchor["last_hash"]:
                problems.append(
                    _problem("anchor_mismatch", last_seq, f"anchor {day}: event {last_seq} is not the one it signed")
                )
    for anchor in files:
        day, last_seq = anchor["_id"], anchor["last_seq"]
        twin = by_day.get(day)
        if not signature_valid(anchor):
            problems.append(_problem("anchor_signature", last_seq, f"exported anchor {anchor['file']}: bad signature"))
        elif twin is None or any(twin.get(k) != anchor[k] for k in ("last_seq", "last_hash", "count", "hmac")):
            problems.append(
                _problem("anchor_mismatch", last_seq, f"exported anchor {anchor['file']} differs from the stored one")
            )
    return problems


def verify_chain(*, trigger: str = "command", batch: int = 1000) -> VerifyResult:
    """Recompute the chain, check every anchor, store and return the result (the first problem).

    Raises MongoUnavailable.
    """
    with mongo.guard():
        events = mongo.collection(AUDIT_EVENTS)
        stored, files = _all_anchors()
        valid = [a for a in stored + files if signature_valid(a)]
        first, last = _edge(mongo.ASCENDING), _edge(mongo.DESCENDING)
        problems: list[dict[str, Any]] = []
        hashes: dict[int, str] = {}
        checked, last_good, head = 0, 0, 0
        if first is None:
            if valid:
                covered = max(int(a["last_seq"]) for a in valid)
                problems.append(_problem("gap", 1, f"the chain is empty but an anchor covers seq {covered}"))
        else:
            start, head = first, last
            prev_hash = GENESIS_HASH
            if start > 1:
                cover = [a for a in valid if int(a["last_seq"]) == start - 1]
                if cover:
                    prev_hash = str(cover[0]["last_hash"])
                else:
                    below = max((int(a["last_seq"]) for a in valid if int(a["last_seq"]) < start - 1), default=0)
                    detail = f"events {below + 1}–{start - 1} are missing and no anchor covers them"
                    problems.append(_problem("gap", below + 1, detail))
            last_good = start - 1
            if not problems:
                checked, last_good, problem = _walk(start, prev_hash, batch=batch, seen=hashes)
                if problem:
                    problems.append(problem)
                elif events.count_documents({}) != checked:
                    extra = events.count_documents({}) - checked
                    problems.append(
                        _problem("hash_mismatch", head + 1, f"{extra} document(s) in audit_events are not in the chain")
                    )
        problems += _anchor_problems(stored, files, head, hashes)
        problem = min(problems, key=lambda p: p["seq"]) if problems else None
        latest = max(valid, key=lambda a: int(a["last_seq"]), default=None)
        result = VerifyResult(
            ok=problem is None,
            checked=checked,
            last_seq=last_good if problem else head,
            problem=problem,
            trigger=trigger,
            last_anchor={"day": latest["_id"], "last_seq": int(latest["last_seq"])} if latest else None,
        )
        _store(result)
    return result


def _record(*, ok: bool, checked: int, last_seq: int, problem: dict | None, trigger: str) -> None:
    _store(VerifyResult(ok=ok, checked=checked, last_seq=last_seq, problem=problem, trigger=trigger))


def _store(result: VerifyResult) -> None:
    mongo.collection(CHAIN_VERIFICATIONS).insert_one(
        {
            "_id": result.id,
            "at": result.at,
            "ok": result.ok,
            "checked": result.checked,
            "last_seq": result.last_seq,
            "problem": result.problem,
            "trigger": result.trigger,
            "last_anchor": result.last_anchor,
        }
    )


# --------------------------------------------------------------------------------------------
# Retention
# --------------------------------------------------------------------------------------------
def prune_events(cutoff: datetime) -> int:
    """Delete the chain's prefix up to the newest valid anchor of a day before `cutoff`.

    Never deletes the newest event, never an unanchored or mis-anchored prefix. Returns the number deleted.
    """
    cutoff_day = cutoff.astimezone(local_tz()).date().isoformat()
    with file_lock(_chain_lock()), mongo.guard():
        events = mongo.collection(AUDIT_EVENTS)
        head = _edge(mongo.DESCENDING)
        if head is None:
            return 0
        candidates = mongo.collection(AUDIT_ANCHORS).find(
            {"_id": {"$lt": cutoff_day}, "last_seq": {"$lt": head}}, sort=[("last_seq", mongo.DESCENDING)]
        )
        for anchor in candidates.limit(1):
            sealed = events.find_one({"seq": int(anchor["last_seq"])}, {"hash": 1})
            if not signature_valid(anchor) or sealed is None or sealed.get("hash") != anchor["last_hash"]:
                logger.error("not pruning audit events: anchor %s does not match the chain", anchor["_id"])
                return 0
            # By seq: nx-27017 compares _id as text in deletes ("10" <= "5"). One anchored stretch per
            # command (short commands on nx-27017), oldest first, each ending at a valid anchor: a run
            # interrupted half-way leaves a chain that verifies all the same.
            last, deleted = int(anchor["last_seq"]), 0
            for cut in [*_valid_cuts(_edge(mongo.ASCENDING) or 1, last), last]:
                deleted += events.delete_many({"seq": {"$lte": cut}}).deleted_count
            return deleted
    return 0


def _valid_cuts(first: int, last: int) -> list[int]:
    """The last_seq of every valid anchor in [first, last), ascending: places the chain may be cut."""
    events, cuts = mongo.collection(AUDIT_EVENTS), []
    anchors = mongo.collection(AUDIT_ANCHORS).find({"last_seq": {"$gte": first, "$lt": last}})
    for anchor in sorted(anchors, key=lambda a: int(a["last_seq"])):
        sealed = events.find_one({"seq": int(anchor["last_seq"])}, {"hash": 1})
        if signature_valid(anchor) and sealed is not None and sealed.get("hash") == anchor["last_hash"]:
            cuts.append(int(anchor["last_seq"]))
    return cuts
