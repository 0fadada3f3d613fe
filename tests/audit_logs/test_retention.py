"""Retention by the integer keys: exactly what is past retention goes, in short commands, and the run is audited."""

import io
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from audit_logs import chain, retention, writer
from audit_logs.collections import (
    AUDIT_EVENTS,
    CHAIN_VERIFICATIONS,
    DAY_KEY,
    EXCEPTION_LOG,
    EXCEPTION_STATS_DAILY,
    HOUR_KEY,
    MINUTE_KEY,
    NO_KEY,
    REQUEST_LOG,
    REQUEST_STATS_DAILY,
    REQUEST_STATS_HOURLY,
    day_key,
    hour_key,
    minute_key,
    stamp_minute_key,
)
from core import mongo

CST = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 1, 4, 0, 30, tzinfo=UTC)  # 12:00:30 CST


class CountingCollection:
    """A collection that records the filter of every delete_many (the rest passes through)."""

    def __init__(self, target, deletes: list):
        self._target, self._deletes = target, deletes

    def delete_many(self, query, *args, **kwargs):
        self._deletes.append((self._target.name, query))
        return self._target.delete_many(query, *args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._target, name)


@pytest.fixture
def deletes(monkeypatch):
    calls: list[tuple[str, dict]] = []
    original = mongo.collection
    monkeypatch.setattr(mongo, "collection", lambda name: CountingCollection(original(name), calls))
    return calls


def log(at, **extra) -> dict:
    return {"_id": uuid.uuid4().hex, "at": at, "url_name": "x", "status": 200, "duration_ms": 1.0, **extra}


def stat(bucket: str, **keys) -> dict:
    return {"_id": f"{bucket}|x|resident", "bucket": bucket, "day": bucket[:10], "count": 1, **keys}


def test_prune_deletes_exactly_the_logs_below_the_cutoff_minute_in_many_short_deletes(mongo_db, settings, deletes):
    settings.AUDIT_SINKS = ["audit_logs.sinks.durable_sink"]
    cutoff = NOW - timedelta(days=settings.REQUEST_LOG_RETENTION_DAYS)
    first_kept = minute_key(cutoff)
    # Every 7 minutes from two days before the cutoff to a day after, a backlog from a year before,
    # and the edges: the cutoff's own minute (kept, though earlier than the cutoff), the minute before.
    times = [cutoff - timedelta(days=2) + timedelta(minutes=7 * n) for n in range(3 * 24 * 60 // 7)]
    times += [cutoff - timedelta(days=365, minutes=n) for n in range(5)]
    times += [cutoff - timedelta(seconds=10), cutoff - timedelta(seconds=31), cutoff]
    docs = [log(at) for at in times]
    stamp_minute_key(docs[::2])  # the other half as written before minute_key existed
    docs.append(log(None))  # no readable time: stamped NO_KEY, kept as a range on `at` kept it
    mongo_db[REQUEST_LOG].insert_many(docs)
    expected = sum(1 for at in times if minute_key(at) < first_kept)
    assert 0 < expected < len(times)

    counts = retention.prune(NOW)

    assert counts[REQUEST_LOG] == expected
    left = list(mongo_db[REQUEST_LOG].find({}, {"at": 1, MINUTE_KEY: 1}))
    assert len(left) == len(docs) - expected
    assert all(d[MINUTE_KEY] >= first_kept or d[MINUTE_KEY] == NO_KEY for d in left)
    assert mongo_db[REQUEST_LOG].count_documents({MINUTE_KEY: NO_KEY}) == 1
    assert mongo_db[REQUEST_LOG].count_documents({"at": cutoff - timedelta(seconds=10)}) == 1
    assert mongo_db[REQUEST_LOG].count_documents({"at": cutoff - timedelta(seconds=31)}) == 0
    # Two days in deletes of at most 30 minutes (each from the oldest document left, so 30 to 35
    # minutes apart here), each an integer range on minute_key alone; the year-old backlog costs one
    # delete, not a year of empty ones.
    ranges = [q[MINUTE_KEY] for name, q in deletes if name == REQUEST_LOG]
    assert 1 + 2 * 24 * 60 // 35 <= len(ranges) <= 1 + 2 * 24 * 60 // 30 + 1
    assert all(set(q) == {MINUTE_KEY} for name, q in deletes if name == REQUEST_LOG)
    assert all(r["$lt"] - r["$gte"] <= retention.DELETE_SPAN[REQUEST_LOG] and r["$lt"] <= first_kept for r in ranges)

    writer.flush()
    event = mongo_db[AUDIT_EVENTS].find_one({"action": "logs.prune"})
    assert event["changes"] == {name: n for name, n in counts.items()}
    assert event["changes"][REQUEST_LOG] == expected and event["extra"]["request_days"] == "180"

    assert retention.prune(NOW)[REQUEST_LOG] == 0  # a second run finds nothing


def test_prune_deletes_statistics_and_exceptions_by_their_keys(mongo_db, settings):
    request_day = (NOW - timedelta(days=settings.REQUEST_LOG_RETENTION_DAYS)).astimezone(CST).date()
    exception_cutoff = NOW - timedelta(days=settings.EXCEPTION_LOG_RETENTION_DAYS)
    exception_day = exception_cutoff.astimezone(CST).date()
    hourly, daily = [], []
    for days in range(-20, 3):  # 20 days before the cutoff's day to 2 days after
        day = request_day + timedelta(days=days)
        daily.append(stat(day.isoformat(), **({DAY_KEY: day_key(day)} if days % 2 else {})))
        for hour in (0, 13, 23):
            start = datetime(day.year, day.month, day.day, hour, tzinfo=CST)
            hourly.append(
                stat(start.strftime("%Y-%m-%dT%H"), hour=hour, **({HOUR_KEY: hour_key(start)} if hour else {}))
            )
    mongo_db[REQUEST_STATS_HOURLY].insert_many(hourly)
    mongo_db[REQUEST_STATS_DAILY].insert_many(daily)
    mongo_db[EXCEPTION_STATS_DAILY].insert_many(
        [
            {"_id": f"{d.isoformat()}|s", "day": d.isoformat(), DAY_KEY: day_key(d), "signature": "s", "count": 1}
            for d in (exception_day - timedelta(days=100), exception_day - timedelta(days=1), exception_day)
        ]
    )
    mongo_db[EXCEPTION_LOG].insert_many(
        [log(exception_cutoff - timedelta(minutes=n), signature="s") for n in (1, 2, 60 * 24 * 3)]
        + [log(exception_cutoff + timedelta(minutes=1), signature="s")]
    )
    mongo_db[CHAIN_VERIFICATIONS].insert_many(
        [{"_id": "old", "at": NOW - timedelta(days=settings.AUDIT_RETENTION_DAYS + 1)}, {"_id": "new", "at": NOW}]
    )

    counts = retention.prune(NOW)

    assert counts[REQUEST_STATS_HOURLY] == 20 * 3 and counts[REQUEST_STATS_DAILY] == 20
    assert min(d["day"] for d in mongo_db[REQUEST_STATS_HOURLY].find()) == request_day.isoformat()
    assert sorted(d["day"] for d in mongo_db[REQUEST_STATS_DAILY].find())[0] == request_day.isoformat()
    assert counts[EXCEPTION_STATS_DAILY] == 2 and counts[EXCEPTION_LOG] == 3
    assert [d["day"] for d in mongo_db[EXCEPTION_STATS_DAILY].find()] == [exception_day.isoformat()]
    assert counts[CHAIN_VERIFICATIONS] == 1 and mongo_db[CHAIN_VERIFICATIONS].find_one()["_id"] == "new"


def test_prune_cuts_the_audit_chain_only_at_anchors_and_it_still_verifies(mongo_db, settings, tmp_path, deletes):
    settings.AUDIT_SINKS = ["audit_logs.sinks.durable_sink"]
    settings.AUDIT_ANCHOR_DIR = tmp_path / "anchors"
    old = datetime(2020, 1, 1, 4, 0, tzinfo=UTC)
    for day in range(3):  # three anchored days of four events each
        start = old + timedelta(days=day)
        chain.seal(
            [
                {"id": str(uuid.uuid4()), "at": (start + timedelta(minutes=n)).isoformat(), "action": "x", "user": None}
                for n in range(4)
            ]  # fmt: skip
        )
        chain.write_daily_anchor(start.astimezone(CST).date())
    chain.seal([{"id": str(uuid.uuid4()), "at": NOW.isoformat(), "action": "x", "user": None}])

    counts = retention.prune(NOW)

    assert counts[AUDIT_EVENTS] == 12
    cuts = [q["seq"] for name, q in deletes if name == AUDIT_EVENTS]
    assert cuts == [{"$lte": 4}, {"$lte": 8}, {"$lte": 12}]  # one anchored day per command
    assert [d["seq"] for d in mongo_db[AUDIT_EVENTS].find({"action": "x"})] == [13]
    out = io.StringIO()
    writer.flush()
    call_command("audit_verify", stdout=out)
    assert out.getvalue().startswith("OK:")


def test_an_interrupted_prune_leaves_a_chain_that_verifies(mongo_db, settings, tmp_path):
    settings.AUDIT_SINKS = ["audit_logs.sinks.durable_sink"]
    settings.AUDIT_ANCHOR_DIR = tmp_path / "anchors"
    old = datetime(2020, 1, 1, 4, 0, tzinfo=UTC)
    for day in range(2):
        start = old + timedelta(days=day)
        chain.seal(
            [
                {"id": str(uuid.uuid4()), "at": (start + timedelta(minutes=n)).isoformat(), "action": "x"}
                for n in range(3)
            ]
        )
        chain.write_daily_anchor(start.astimezone(CST).date())
    chain.seal([{"id": str(uuid.uuid4()), "at": NOW.isoformat(), "action": "x"}])
    assert chain._valid_cuts(1, 6) == [3]
    mongo_db[AUDIT_EVENTS].delete_many({"seq": {"$lte": 3}})  # as if the run stopped after its first delete
    out = io.StringIO()
    call_command("audit_verify", stdout=out)
    assert out.getvalue().startswith("OK: 4 events")
