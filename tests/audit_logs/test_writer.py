"""The log writer: buffered, idempotent, spooled to disk when MongoDB is missing, replayed exactly once."""

import uuid
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from audit_logs import writer
from audit_logs.collections import AUDIT_EVENTS, REQUEST_LOG
from audit_logs.files import decode_line, encode_line
from core import mongo
from core.audit import audit_record


def request_doc(**fields) -> dict:
    return {
        "_id": uuid.uuid4().hex,
        "at": datetime.now(UTC),
        "request_id": uuid.uuid4().hex,
        "url_name": "core:home",
        "status": 200,
        "duration_ms": 1.5,
        **fields,
    }


@pytest.fixture
def spool(settings, tmp_path):
    settings.LOG_SPOOL_DIR = tmp_path / "spool"
    return settings.LOG_SPOOL_DIR


@pytest.fixture
def no_mongodb(settings, spool):
    """MongoDB not configured; the client is rebuilt for the next test."""
    writer.flush()
    settings.MONGODB_URI = ""
    mongo.reset()
    yield
    mongo.reset()


def test_buffered_documents_reach_mongodb_on_flush(mongo_db):
    docs = [request_doc() for _ in range(3)]
    for doc in docs:
        writer.put(REQUEST_LOG, dict(doc))
    writer.flush()
    stored = {d["_id"]: d for d in mongo_db[REQUEST_LOG].find({"_id": {"$in": [d["_id"] for d in docs]}})}
    assert set(stored) == {d["_id"] for d in docs}
    assert stored[docs[0]["_id"]]["at"].tzinfo is not None


def test_writing_the_same_documents_twice_stores_them_once(mongo_db):
    docs = [request_doc() for _ in range(5)]
    writer.write(REQUEST_LOG, [dict(d) for d in docs[:3]])
    writer.write(REQUEST_LOG, [dict(d) for d in docs])
    ids = [d["_id"] for d in docs]
    assert mongo_db[REQUEST_LOG].count_documents({"_id": {"$in": ids}}) == 5


def test_a_spool_line_keeps_its_datetimes():
    at = datetime(2025, 3, 1, 2, 3, 4, 567000, tzinfo=UTC)
    line = encode_line({"_id": "x", "at": at, "nested": {"when": at}, "text": "中文"})
    assert line.endswith("\n") and "中文" in line
    assert decode_line(line) == {"_id": "x", "at": at, "nested": {"when": at}, "text": "中文"}


def test_without_mongodb_requests_succeed_and_everything_goes_to_the_spool(client, no_mongodb, resident, settings):
    settings.AUDIT_SINKS = ["audit_logs.sinks.durable_sink"]
    response = client.get(reverse("accounts:login"), HTTP_X_REQUEST_ID="no-mongo-1")
    assert response.status_code == 200
    event = audit_record(action="leave.approve", acting_user=resident)
    result = writer.flush()
    assert result["written"] == {}
    assert "no-mongo-1" in [d.get("request_id") for d in writer.spooled_documents(REQUEST_LOG)]
    assert event["id"] in [e["id"] for e in writer.spooled_documents(AUDIT_EVENTS)]
    assert writer.replay_spool()["error"]  # still nowhere to write: the spool stays
    assert writer.pending() == {AUDIT_EVENTS: 1, REQUEST_LOG: 1}


def test_a_replayed_spool_is_written_once_and_removed(mongo_db, spool):
    docs = [request_doc() for _ in range(7)]
    writer.spool_append(REQUEST_LOG, docs[:4])
    writer.spool_append(REQUEST_LOG, docs[4:])
    report = writer.replay_spool()
    assert report["replayed"] == {REQUEST_LOG: 7} and report["pending"] == {} and report["error"] is None
    assert list(spool.glob("request_log*")) == []
    assert mongo_db[REQUEST_LOG].count_documents({"_id": {"$in": [d["_id"] for d in docs]}}) == 7
    assert writer.replay_spool()["replayed"] == {}


def test_a_replayed_request_log_gets_its_minute_key_and_is_still_written_once(mongo_db, spool):
    at = datetime(2025, 3, 1, 2, 30, tzinfo=UTC)
    doc = request_doc(at=at)
    writer.spool_append(REQUEST_LOG, [doc])  # spooled as an older version left it: no minute_key
    assert "minute_key" not in writer.spooled_documents(REQUEST_LOG)[0]
    writer.replay_spool()
    writer.spool_append(REQUEST_LOG, [doc])  # the same document again (a replay interrupted before the unlink)
    writer.replay_spool()  # (the writer's thread may have replayed either spool first: the same outcome)
    assert writer.pending() == {}
    stored = list(mongo_db[REQUEST_LOG].find({"_id": doc["_id"]}))
    assert len(stored) == 1 and stored[0]["minute_key"] == int(at.timestamp() // 60) == 29013270


def test_a_torn_line_is_set_aside_and_the_rest_is_replayed(mongo_db, spool):
    docs = [request_doc() for _ in range(2)]
    spool.mkdir(parents=True, exist_ok=True)
    (spool / "request_log.jsonl").write_text(
        encode_line(docs[0]) + '{"_id": "torn", "at": {"$da\n' + encode_line(docs[1])
    )
    assert writer.replay_spool()["replayed"] == {REQUEST_LOG: 2}
    assert mongo_db[REQUEST_LOG].count_documents({"_id": {"$in": [d["_id"] for d in docs]}}) == 2
    assert '"torn"' in (spool / "request_log.rejected.jsonl").read_text()
    assert writer.pending() == {}


def test_a_line_appended_after_a_torn_one_starts_on_a_line_of_its_own(mongo_db, spool):
    spool.mkdir(parents=True, exist_ok=True)
    (spool / "request_log.jsonl").write_text('{"_id": "torn", "at')  # the process died mid-append
    after = request_doc()
    writer.spool_append(REQUEST_LOG, [after])
    assert writer.replay_spool()["replayed"] == {REQUEST_LOG: 1}
    assert mongo_db[REQUEST_LOG].count_documents({"_id": after["_id"]}) == 1


def test_newer_audit_events_wait_behind_an_older_spool_and_are_sealed_after_it(mongo_db, spool, settings):
    settings.AUDIT_SINKS = ["audit_logs.sinks.durable_sink"]
    older = {"id": str(uuid.uuid4()), "at": datetime.now(UTC).isoformat(), "action": "auth.login", "user": None}
    writer.spool_append(AUDIT_EVENTS, [older])
    newer = audit_record(action="auth.logout")
    writer.flush()
    seqs = {
        d["event_id"]: d["seq"] for d in mongo_db[AUDIT_EVENTS].find({"event_id": {"$in": [older["id"], newer["id"]]}})
    }
    assert seqs[older["id"]] < seqs[newer["id"]]
    assert writer.pending() == {}


def test_a_full_buffer_goes_to_the_spool_at_once(settings, spool):
    settings.LOG_BATCH_SIZE = 10  # capacity: 1000 documents
    log = writer.LogWriter()
    log._thread = type("Parked", (), {"is_alive": staticmethod(lambda: True)})()  # no flush thread
    for _ in range(1000):
        log.put(REQUEST_LOG, request_doc())
    assert len(writer.spooled_documents(REQUEST_LOG)) == 1000
    assert log._buffers[REQUEST_LOG] == []


def test_a_forked_child_starts_with_an_empty_buffer(spool):
    log = writer.LogWriter()
    log._thread = type("Parked", (), {"is_alive": staticmethod(lambda: True)})()
    log.put(REQUEST_LOG, request_doc())
    log._pid = -1  # as a child sees it after fork(): the parent writes what it buffered, the child starts afresh
    assert log.flush() == {"written": {}, "spooled": {}}
    assert log._buffers[REQUEST_LOG] == [] and writer.pending() == {}
