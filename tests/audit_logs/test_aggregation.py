"""Statistics in China Standard Time buckets, recomputed safely; retention that audits itself."""

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from audit_logs import writer
from audit_logs.aggregation import aggregate, aggregate_recent, percentile, stamp_missing_keys
from audit_logs.collections import (
    AUDIT_EVENTS,
    DAY_KEY,
    EXCEPTION_LOG,
    EXCEPTION_STATS_DAILY,
    HOUR_KEY,
    MINUTE_KEY,
    NO_KEY,
    REQUEST_LOG,
    REQUEST_STATS_DAILY,
    REQUEST_STATS_HOURLY,
)
from audit_logs.retention import prune

CST = ZoneInfo("Asia/Shanghai")


def cst(*args) -> datetime:
    return datetime(*args, tzinfo=CST).astimezone(UTC)


def req(at, duration, status=200, url_name="approvals:inbox", user_id=1, roles=("resident",)) -> dict:
    return {
        "_id": uuid.uuid4().hex,
        "at": at,
        "request_id": uuid.uuid4().hex,
        "user_id": user_id,
        "username": None if user_id is None else f"user{user_id}",
        "roles": list(roles) if user_id is not None else [],
        "url_name": url_name,
        "path": "/",
        "method": "GET",
        "status": status,
        "duration_ms": float(duration),
    }


def exc(at, signature, location="approvals/views.py:42 in post") -> dict:
    return {"_id": uuid.uuid4().hex, "at": at, "signature": signature, "exc_type": "builtins.ValueError",
            "location": location, "message": "bad", "traceback": "..."}  # fmt: skip


@pytest.fixture
def logs(mongo_db):
    docs = [
        # 09:00-09:59 CST on 1 March
        req(cst(2025, 3, 1, 9, 1), 10),
        req(cst(2025, 3, 1, 9, 2), 20),
        req(cst(2025, 3, 1, 9, 3), 30, status=500),
        req(cst(2025, 3, 1, 9, 59, 59), 40, status=404),
        req(cst(2025, 3, 1, 9, 30), 100, user_id=2, roles=("supervisor", "teaching_secretary")),
        req(cst(2025, 3, 1, 9, 40), 5, url_name="accounts:login", user_id=None),
        # 10:00-10:59 CST: twenty requests of 1..20 ms
        *(req(cst(2025, 3, 1, 10, n), n) for n in range(1, 21)),
        # the same day, outside the window: in the daily figures only
        req(cst(2025, 3, 1, 8, 30), 1000),
        # 2 March 00:10 CST is still 1 March in UTC: not part of 1 March
        req(cst(2025, 3, 2, 0, 10), 7, url_name="core:home", user_id=None),
    ]
    mongo_db[REQUEST_LOG].insert_many(docs)
    mongo_db[EXCEPTION_LOG].insert_many(
        [
            exc(cst(2025, 3, 1, 9, 10), "a" * 40),
            exc(cst(2025, 3, 1, 9, 20), "a" * 40, location="approvals/views.py:44 in post"),
            exc(cst(2025, 3, 1, 10, 0), "b" * 40),
            exc(cst(2025, 3, 2, 0, 10), "a" * 40),
        ]
    )
    return mongo_db


def stats(db, collection) -> dict:
    return {d["_id"]: d for d in db[collection].find()}


def test_nearest_rank_percentiles():
    values = list(range(1, 21))
    assert percentile(values, 50) == 10 and percentile(values, 95) == 19 and percentile(values, 100) == 20
    assert percentile([7], 95) == 7 and percentile([], 50) == 0


def test_requests_are_counted_per_china_time_hour_url_name_and_role(logs):
    aggregate(cst(2025, 3, 1, 9, 0), cst(2025, 3, 1, 11, 0))
    hourly = stats(logs, REQUEST_STATS_HOURLY)
    assert set(hourly) == {
        "2025-03-01T09|approvals:inbox|resident",
        "2025-03-01T09|approvals:inbox|supervisor",
        "2025-03-01T09|approvals:inbox|teaching_secretary",
        "2025-03-01T09|accounts:login|anonymous",
        "2025-03-01T10|approvals:inbox|resident",
    }
    nine = hourly["2025-03-01T09|approvals:inbox|resident"]
    assert (nine["bucket"], nine["day"], nine["url_name"], nine["role"]) == (
        "2025-03-01T09",
        "2025-03-01",
        "approvals:inbox",
        "resident",
    )
    assert (nine["count"], nine["errors"], nine["client_errors"]) == (4, 1, 1)
    assert (nine["p50_ms"], nine["p95_ms"], nine["max_ms"]) == (20.0, 40.0, 40.0)
    ten = hourly["2025-03-01T10|approvals:inbox|resident"]
    assert (ten["count"], ten["errors"], ten["p50_ms"], ten["p95_ms"], ten["max_ms"]) == (20, 0, 10.0, 19.0, 20.0)
    both = (
        hourly["2025-03-01T09|approvals:inbox|supervisor"],
        hourly["2025-03-01T09|approvals:inbox|teaching_secretary"],
    )
    assert [d["count"] for d in both] == [1, 1]


def test_the_daily_figures_cover_the_whole_china_time_day(logs):
    aggregate(cst(2025, 3, 1, 9, 0), cst(2025, 3, 1, 11, 0))
    daily = stats(logs, REQUEST_STATS_DAILY)
    resident = daily["2025-03-01|approvals:inbox|resident"]
    assert resident["bucket"] == resident["day"] == "2025-03-01"
    assert (resident["count"], resident["errors"], resident["client_errors"]) == (25, 1, 1)
    assert (resident["p50_ms"], resident["p95_ms"], resident["max_ms"]) == (12.0, 40.0, 1000.0)
    assert "2025-03-01|core:home|anonymous" not in daily
    exceptions = stats(logs, EXCEPTION_STATS_DAILY)
    assert set(exceptions) == {f"2025-03-01|{'a' * 40}", f"2025-03-01|{'b' * 40}"}
    a = exceptions[f"2025-03-01|{'a' * 40}"]
    assert (a["day"], a["count"], a["exc_type"]) == ("2025-03-01", 2, "builtins.ValueError")
    assert a["location"] == "approvals/views.py:44 in post"  # the latest occurrence's
    assert a["first_seen"] == cst(2025, 3, 1, 9, 10) and a["last_seen"] == cst(2025, 3, 1, 9, 20)


def test_running_it_again_changes_nothing_and_a_vanished_group_disappears(logs):
    window = cst(2025, 3, 1, 9, 0), cst(2025, 3, 1, 11, 0)
    aggregate(*window)
    first = {name: stats(logs, name) for name in (REQUEST_STATS_HOURLY, REQUEST_STATS_DAILY, EXCEPTION_STATS_DAILY)}
    aggregate(*window)
    aggregate(cst(2025, 3, 1, 10, 30), cst(2025, 3, 1, 10, 31))
    again = {name: stats(logs, name) for name in first}
    assert again == first

    logs[REQUEST_LOG].delete_many({"url_name": "accounts:login"})
    aggregate(*window)
    assert "2025-03-01T09|accounts:login|anonymous" not in stats(logs, REQUEST_STATS_HOURLY)
    assert "2025-03-01|accounts:login|anonymous" not in stats(logs, REQUEST_STATS_DAILY)


def test_the_beat_job_completes_yesterday_once_after_midnight(logs):
    aggregate_recent(now=cst(2025, 3, 2, 5, 0))
    daily = stats(logs, REQUEST_STATS_DAILY)
    assert daily["2025-03-01|approvals:inbox|resident"]["count"] == 25
    assert daily["2025-03-02|core:home|anonymous"]["count"] == 1  # today's figures so far
    hours = {d["bucket"] for d in logs[REQUEST_STATS_HOURLY].find()}
    assert hours == {"2025-03-01T08", "2025-03-01T09", "2025-03-01T10"}  # yesterday, whole
    logs[REQUEST_STATS_HOURLY].delete_many({"day": "2025-03-01"})
    aggregate_recent(now=cst(2025, 3, 2, 5, 10))  # yesterday is complete now: only the last two hours
    assert {d["bucket"] for d in logs[REQUEST_STATS_HOURLY].find()} == set()
    aggregate_recent(now=cst(2025, 3, 2, 1, 0))
    assert {d["bucket"] for d in logs[REQUEST_STATS_HOURLY].find()} == {"2025-03-02T00"}


def test_written_logs_carry_their_minute_key_and_the_roll_up_reads_them_by_it(mongo_db):
    at = cst(2025, 3, 1, 9, 15)
    writer.write(REQUEST_LOG, [req(at, 10), req(at + timedelta(minutes=50), 30)])  # 09:15 and 10:05 CST
    writer.write(EXCEPTION_LOG, [exc(at, "e" * 40)])
    for name in (REQUEST_LOG, EXCEPTION_LOG):
        for doc in mongo_db[name].find():
            assert doc[MINUTE_KEY] == int(doc["at"].timestamp() // 60)  # UTC minutes since the epoch
    assert mongo_db[REQUEST_LOG].find_one({MINUTE_KEY: int(at.timestamp() // 60)})["duration_ms"] == 10.0

    aggregate(cst(2025, 3, 1, 9, 0), cst(2025, 3, 1, 11, 0))

    hourly = stats(mongo_db, REQUEST_STATS_HOURLY)
    assert hourly["2025-03-01T09|approvals:inbox|resident"]["count"] == 1
    assert hourly["2025-03-01T10|approvals:inbox|resident"]["count"] == 1
    assert stats(mongo_db, REQUEST_STATS_DAILY)["2025-03-01|approvals:inbox|resident"]["count"] == 2
    assert stats(mongo_db, EXCEPTION_STATS_DAILY)[f"2025-03-01|{'e' * 40}"]["count"] == 1


def test_documents_written_before_the_keys_are_stamped_and_counted(mongo_db):
    at = cst(2025, 3, 1, 9, 15)
    writer.write(REQUEST_LOG, [req(at, 10)])
    legacy = req(at + timedelta(minutes=1), 20)
    mongo_db[REQUEST_LOG].insert_one(dict(legacy))  # as an older version wrote it: no minute_key
    mongo_db[EXCEPTION_LOG].insert_one(exc(at, "f" * 40))
    assert MINUTE_KEY not in mongo_db[REQUEST_LOG].find_one({"_id": legacy["_id"]})

    aggregate(cst(2025, 3, 1, 9, 0), cst(2025, 3, 1, 10, 0))

    stamped = mongo_db[REQUEST_LOG].find_one({"_id": legacy["_id"]})
    assert stamped[MINUTE_KEY] == int(legacy["at"].timestamp() // 60) and stamped["at"] == legacy["at"]
    assert mongo_db[REQUEST_LOG].count_documents({MINUTE_KEY: None}) == 0
    assert mongo_db[EXCEPTION_LOG].count_documents({MINUTE_KEY: None}) == 0
    nine = stats(mongo_db, REQUEST_STATS_HOURLY)["2025-03-01T09|approvals:inbox|resident"]
    assert (nine["count"], nine["max_ms"]) == (2, 20.0)
    assert stats(mongo_db, EXCEPTION_STATS_DAILY)[f"2025-03-01|{'f' * 40}"]["count"] == 1
    assert set(stamp_missing_keys().values()) == {0}  # nothing left: one empty index lookup each


def test_statistics_written_before_their_keys_are_stamped_and_kept(logs):
    window = cst(2025, 3, 1, 9, 0), cst(2025, 3, 1, 11, 0)
    aggregate(*window)
    names = (REQUEST_STATS_HOURLY, REQUEST_STATS_DAILY, EXCEPTION_STATS_DAILY)
    first = {name: stats(logs, name) for name in names}
    nine = first[REQUEST_STATS_HOURLY]["2025-03-01T09|approvals:inbox|resident"]
    assert nine[HOUR_KEY] == int(cst(2025, 3, 1, 9, 0).timestamp() // 3600)
    day = (datetime(2025, 3, 1) - datetime(1970, 1, 1)).days
    assert first[REQUEST_STATS_DAILY]["2025-03-01|approvals:inbox|resident"][DAY_KEY] == day
    assert first[EXCEPTION_STATS_DAILY][f"2025-03-01|{'a' * 40}"][DAY_KEY] == day
    for name in names:  # as an older version left them
        logs[name].update_many({}, {"$unset": {HOUR_KEY: "", DAY_KEY: ""}})
    assert logs[REQUEST_STATS_HOURLY].count_documents({HOUR_KEY: None}) == len(first[REQUEST_STATS_HOURLY])

    aggregate(*window)  # finds the older statistics by their new keys: unchanged, so not rewritten

    assert {name: stats(logs, name) for name in names} == first  # updated_at included


def test_a_log_document_without_a_usable_time_is_stamped_out_of_every_hour(mongo_db):
    mongo_db[REQUEST_LOG].insert_many([{**req(cst(2025, 3, 1, 9, 0), 1), "at": None}, {"_id": "no-at"}])
    assert stamp_missing_keys()[REQUEST_LOG] == 2
    assert {d[MINUTE_KEY] for d in mongo_db[REQUEST_LOG].find()} == {NO_KEY}
    aggregate(cst(2025, 3, 1, 0, 0), cst(2025, 3, 2, 0, 0))
    assert stats(mongo_db, REQUEST_STATS_DAILY) == {}


def test_prune_deletes_what_is_past_retention_and_audits_itself(mongo_db, settings):
    settings.AUDIT_SINKS = ["audit_logs.sinks.durable_sink"]
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=181), now - timedelta(days=1)
    mongo_db[REQUEST_LOG].insert_many([req(old, 1), req(old, 2), req(recent, 3)])
    mongo_db[EXCEPTION_LOG].insert_many([exc(now - timedelta(days=400), "c" * 40), exc(old, "c" * 40)])
    old_day, recent_day = old.astimezone(CST).date().isoformat(), recent.astimezone(CST).date().isoformat()
    mongo_db[REQUEST_STATS_DAILY].insert_many(
        [{"_id": f"{old_day}|x|y", "day": old_day}, {"_id": "r", "day": recent_day}]
    )

    counts = prune()

    assert counts[REQUEST_LOG] == 2 and counts[EXCEPTION_LOG] == 1 and counts[REQUEST_STATS_DAILY] == 1
    assert mongo_db[REQUEST_LOG].find_one({})["duration_ms"] == 3.0
    assert mongo_db[REQUEST_STATS_DAILY].find_one({})["_id"] == "r"  # stamped with its day_key first
    assert counts[AUDIT_EVENTS] == 0
    writer.flush()
    event = mongo_db[AUDIT_EVENTS].find_one({"action": "logs.prune"})
    assert event["changes"][REQUEST_LOG] == 2 and event["extra"]["request_days"] == "180"
