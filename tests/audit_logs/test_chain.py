"""The hash-chained audit trail: sealing, the documented hash, anchors, and tampering found by audit_verify."""

import hashlib
import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from audit_logs import chain, writer
from audit_logs.collections import AUDIT_ANCHORS, AUDIT_EVENTS, CHAIN_VERIFICATIONS, GENESIS_HASH
from core import mongo
from core.audit import audit_record


@pytest.fixture
def trail(mongo_db, settings, tmp_path):
    """An empty trail fed by the durable sink, with its own anchor directory."""
    settings.AUDIT_SINKS = ["audit_logs.sinks.durable_sink"]
    settings.AUDIT_ANCHOR_DIR = tmp_path / "anchors"
    return mongo.collection(AUDIT_EVENTS)


def record(count: int, start: int = 0) -> list[dict]:
    events = [
        audit_record(action="leave.approve", changes={"status": ["pending", "approved"]}, item=start + n)
        for n in range(count)
    ]
    writer.flush()
    return events


def verify() -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("audit_verify", stdout=out)
    except SystemExit as exc:
        return exc.code, out.getvalue()
    return 0, out.getvalue()


def raw_event(at: datetime, action: str = "leave.approve") -> dict:
    return {"id": str(uuid.uuid4()), "at": at.isoformat(), "action": action, "outcome": "success", "user": None}


def test_events_are_numbered_from_one_and_each_names_the_previous_hash(trail):
    events = record(20)
    docs = list(trail.find({}, sort=[("seq", 1)]))
    assert [d["_id"] for d in docs] == [d["seq"] for d in docs] == list(range(1, 21))
    assert [d["event_id"] for d in docs] == [e["id"] for e in events]
    assert docs[0]["prev_hash"] == GENESIS_HASH
    assert all(later["prev_hash"] == earlier["hash"] for earlier, later in zip(docs, docs[1:], strict=False))
    assert docs[3]["action"] == "leave.approve" and docs[3]["extra"] == {"item": "3"}
    assert docs[3]["at"].tzinfo is not None


def test_the_hash_is_the_documented_formula(trail):
    record(2)
    doc = trail.find_one({"_id": 2})
    body = {k: v for k, v in doc.items() if k != "hash"}
    body["at"] = doc["at"].astimezone(UTC).isoformat(timespec="microseconds")
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256((doc["prev_hash"] + text).encode()).hexdigest() == doc["hash"]


def test_an_intact_chain_verifies_and_the_result_is_stored(trail):
    record(20)
    code, out = verify()
    assert code == 0
    assert out.strip() == "OK: 20 events, chain intact up to seq 20 (no anchor yet)"
    stored = mongo.collection(CHAIN_VERIFICATIONS).find_one({})
    assert stored["ok"] is True and stored["trigger"] == "command" and stored["problem"] is None
    assert stored["checked"] == 20 and stored["last_seq"] == 20


def test_an_edited_event_is_reported_at_its_seq(trail):
    record(20)
    trail.update_one({"_id": 7}, {"$set": {"action": "leave.reject"}})
    code, out = verify()
    assert code == 1
    assert out.startswith("BROKEN at seq 7: hash_mismatch")
    result = chain.verify_chain(trigger="task")
    assert result.problem["kind"] == "hash_mismatch" and result.problem["seq"] == 7
    assert result.last_seq == 6 and result.checked == 6


def test_a_deleted_event_is_a_gap_at_its_seq(trail):
    record(20)
    trail.delete_one({"_id": 12})
    code, out = verify()
    assert code == 1
    assert out.startswith("BROKEN at seq 12: gap")


def test_deleting_the_first_event_is_a_gap_at_seq_one(trail):
    record(5)
    trail.delete_one({"_id": 1})
    assert verify()[1].startswith("BROKEN at seq 1: gap")


def test_a_forged_event_appended_with_a_wrong_prev_hash_is_reported(trail):
    record(20)
    forged = chain.build_document(raw_event(datetime.now(UTC)), 21, "f" * 64)
    trail.insert_one(forged)
    code, out = verify()
    assert code == 1
    assert out.startswith("BROKEN at seq 21: prev_mismatch")


def test_an_event_slipped_into_the_middle_is_reported_where_it_was_inserted(trail):
    record(20)
    # Shift seqs 10..20 up by one and put a well-formed forgery at 10, as an attacker with database access would.
    tail = list(trail.find({"seq": {"$gte": 10}}, sort=[("seq", 1)]))
    trail.delete_many({"seq": {"$gte": 10}})
    forged = chain.build_document(raw_event(datetime.now(UTC), "pii.reveal"), 10, tail[0]["prev_hash"])
    trail.insert_many([forged, *({**doc, "_id": doc["seq"] + 1, "seq": doc["seq"] + 1} for doc in tail)])
    code, out = verify()
    assert code == 1
    assert out.startswith("BROKEN at seq 11: prev_mismatch")


def test_a_foreign_document_outside_the_chain_is_reported(trail):
    record(3)
    trail.insert_one({"_id": "extra", "event_id": "x", "action": "auth.login"})
    code, out = verify()
    assert code == 1
    assert "not in the chain" in out


def test_the_daily_anchor_is_signed_exported_and_idempotent(trail, settings):
    record(5)
    today = datetime.now(UTC).astimezone(chain.local_tz()).date()
    anchor = chain.write_daily_anchor(today)
    assert anchor["last_seq"] == 5 and anchor["count"] == 5
    assert anchor["last_hash"] == trail.find_one({"_id": 5})["hash"]
    assert chain.signature_valid(anchor)
    exported = json.loads((settings.AUDIT_ANCHOR_DIR / f"{today.isoformat()}.json").read_text())
    assert exported["last_hash"] == anchor["last_hash"] and exported["hmac"] == anchor["hmac"]

    again = chain.write_daily_anchor(today.isoformat())
    assert again["hmac"] == anchor["hmac"] and again["at"] is not None
    assert mongo.collection(AUDIT_ANCHORS).count_documents({}) == 1
    code, out = verify()
    assert code == 0
    assert out.strip() == f"OK: 5 events, chain intact up to seq 5 (last anchor {today.isoformat()} at seq 5)"


def test_an_anchor_with_an_altered_signature_is_reported(trail):
    record(6)
    day = datetime.now(UTC).astimezone(chain.local_tz()).date()
    chain.write_daily_anchor(day)
    mongo.collection(AUDIT_ANCHORS).update_one({"_id": day.isoformat()}, {"$set": {"hmac": "0" * 64}})
    code, out = verify()
    assert code == 1
    assert out.startswith("BROKEN at seq 6: anchor_signature")


def test_a_rewritten_chain_no_longer_matches_its_anchor(trail):
    record(6)
    chain.write_daily_anchor(datetime.now(UTC).astimezone(chain.local_tz()).date())
    # The attacker edits event 3 and recomputes every later hash: the chain alone looks intact.
    docs = list(trail.find({}, sort=[("seq", 1)]))
    prev = docs[1]["hash"]
    for doc in docs[2:]:
        if doc["_id"] == 3:
            doc["action"] = "leave.reject"
        doc["prev_hash"] = prev
        doc["hash"] = chain.compute_hash(doc)
        prev = doc["hash"]
    trail.delete_many({"seq": {"$gte": 3}})
    trail.insert_many(docs[2:])
    code, out = verify()
    assert code == 1
    assert out.startswith("BROKEN at seq 6: anchor_mismatch")


def test_a_deleted_tail_is_found_through_the_anchor(trail):
    record(8)
    chain.write_daily_anchor(datetime.now(UTC).astimezone(chain.local_tz()).date())
    trail.delete_many({"seq": {"$gte": 7}})
    code, out = verify()
    assert code == 1
    assert out.startswith("BROKEN at seq 7: gap")


def test_an_anchor_deleted_from_the_database_is_still_in_the_exported_file(trail):
    record(4)
    day = datetime.now(UTC).astimezone(chain.local_tz()).date()
    chain.write_daily_anchor(day)
    mongo.collection(AUDIT_ANCHORS).delete_one({"_id": day.isoformat()})
    code, out = verify()
    assert code == 1
    assert out.startswith("BROKEN at seq 4: anchor_mismatch")


def test_a_broken_chain_is_never_anchored(trail):
    record(4)
    trail.update_one({"_id": 2}, {"$set": {"outcome": "failure"}})
    assert chain.write_daily_anchor(datetime.now(UTC).astimezone(chain.local_tz()).date()) is None
    assert mongo.collection(AUDIT_ANCHORS).count_documents({}) == 0
    stored = mongo.collection(CHAIN_VERIFICATIONS).find_one({"ok": False})
    assert stored["problem"]["seq"] == 2 and stored["trigger"] == "task"


def test_sealing_the_same_events_again_adds_nothing(trail):
    events = [raw_event(datetime.now(UTC)) for _ in range(4)]
    assert chain.seal([dict(e) for e in events[:2]]) == 2
    assert chain.seal([dict(e) for e in events]) == 2
    assert chain.seal([dict(e) for e in events + events]) == 0
    assert sorted(d["event_id"] for d in trail.find()) == sorted(e["id"] for e in events)
    assert verify()[0] == 0


def test_sensitive_values_never_reach_the_trail(trail):
    audit_record(action="pii.reveal", changes={"id_number": [None, "110105199003071234"], "phone": "13812345678"})
    writer.flush()
    doc = trail.find_one({"action": "pii.reveal"})
    assert doc["changes"] == {"id_number": [None, "110***********1234"], "phone": "138****5678"}
    assert "110105199003071234" not in json.dumps(doc, default=str)
    assert "13812345678" not in json.dumps(doc, default=str)


def test_values_that_are_not_json_are_sealed_as_text_and_still_verify(trail):
    audit_record(action="rotation.move", changes={"start": [datetime(2025, 3, 1).date(), None], "n": [1, 2.5]})
    writer.flush()
    doc = trail.find_one({"action": "rotation.move"})
    assert doc["changes"] == {"start": ["2025-03-01", None], "n": [1, 2.5]}
    assert verify()[0] == 0


def test_a_pruned_prefix_ending_at_an_old_anchor_still_verifies(trail, settings):
    old = datetime(2020, 1, 1, 4, 0, tzinfo=UTC)
    chain.seal([raw_event(old + timedelta(minutes=n)) for n in range(5)])
    chain.write_daily_anchor("2020-01-01")
    record(3)
    assert chain.prune_events(datetime.now(UTC) - timedelta(days=settings.AUDIT_RETENTION_DAYS)) == 5
    assert [d["seq"] for d in trail.find({}, sort=[("seq", 1)])] == [6, 7, 8]
    code, out = verify()
    assert code == 0, out
    assert out.startswith("OK: 3 events, chain intact up to seq 8 (last anchor 2020-01-01 at seq 5)")
    record(1)
    assert trail.find_one({"_id": 9}) is not None and verify()[0] == 0


def test_an_unanchored_prefix_is_never_pruned(trail, settings):
    old = datetime(2020, 1, 1, 4, 0, tzinfo=UTC)
    chain.seal([raw_event(old + timedelta(minutes=n)) for n in range(5)])
    assert chain.prune_events(datetime.now(UTC)) == 0
    assert trail.count_documents({}) == 5


def test_the_trail_says_who_acted_in_which_role_and_where(trail, secretary, org):
    audit_record(action="leave.approve", acting_user=secretary)
    writer.flush()
    doc = trail.find_one({"action": "leave.approve"})
    assert doc["user"] == {
        "id": secretary.pk,
        "username": "secretary",
        "roles": ["teaching_secretary"],
        "scope": {"teaching_secretary": {"department": [org.cardiology.pk]}},
    }
    assert verify()[0] == 0
