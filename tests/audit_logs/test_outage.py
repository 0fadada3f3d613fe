"""MongoDB stops while people work: every request still succeeds, and nothing is lost or doubled."""

from collections import Counter

import pytest
from django.urls import reverse

from audit_logs import chain, writer
from audit_logs.collections import AUDIT_EVENTS, REQUEST_LOG
from core import mongo
from core.embedded_mongo import EmbeddedMongo
from tests.conftest import PASSWORD
from tests.mongo import start_embedded


@pytest.fixture
def own_server(settings, tmp_path):
    """A MongoDB of this test's own, which the test may kill and restart on the same file and port."""
    writer.flush()  # what earlier tests logged goes to the session server first
    settings.LOG_SPOOL_DIR = tmp_path / "spool"
    settings.AUDIT_ANCHOR_DIR = tmp_path / "anchors"
    settings.MONGODB_TIMEOUT_MS = 300
    settings.AUDIT_SINKS = ["audit_logs.sinks.durable_sink", "core.audit.memory_sink"]
    from core import audit

    audit._memory.clear()
    servers = [start_embedded(tmp_path / "mongo")]
    settings.MONGODB_URI = servers[0].uri
    mongo.reset()
    mongo.ensure_indexes()

    def restart() -> EmbeddedMongo:
        servers.append(EmbeddedMongo(servers[0].db_path, servers[0].port).start())
        mongo.reset()
        return servers[-1]

    yield servers[0], restart
    writer.flush()
    for server in servers:
        server.stop()
    mongo.reset()
    audit._memory.clear()


def serve(client, prefix: str, n: int) -> list[str]:
    """Sign in and out, and open pages in between: request log entries and audit events."""
    ids = []
    for i in range(n):
        rid = f"{prefix}-{i}"
        if i % 4 == 0:
            response = client.post(
                reverse("accounts:login"), {"username": "resident", "password": PASSWORD}, HTTP_X_REQUEST_ID=rid
            )
            assert response.status_code == 302, response.content[:500]
        elif i % 4 == 3:
            assert client.post(reverse("accounts:logout"), HTTP_X_REQUEST_ID=rid).status_code == 302
        else:
            assert client.get(reverse("core:home"), HTTP_X_REQUEST_ID=rid).status_code == 200
        ids.append(rid)
    return ids


def counts(request_ids: list[str], event_ids: list[str]) -> tuple[Counter, Counter]:
    requests = Counter(
        d["request_id"] for d in mongo.collection(REQUEST_LOG).find({"request_id": {"$in": request_ids}})
    )
    events = Counter(d["event_id"] for d in mongo.collection(AUDIT_EVENTS).find({"event_id": {"$in": event_ids}}))
    return requests, events


def test_requests_succeed_while_mongodb_is_down_and_the_spool_is_replayed_exactly_once(client, resident, own_server):
    from core.audit import _memory as events

    server, restart = own_server
    before = serve(client, "up", 8)
    writer.flush()
    assert mongo.collection(REQUEST_LOG).count_documents({"request_id": {"$in": before}}) == 8

    server.stop()
    during = serve(client, "down", 12)
    writer.flush()
    spooled_requests = {d["request_id"] for d in writer.spooled_documents(REQUEST_LOG)}
    spooled_events = {e["id"] for e in writer.spooled_documents(AUDIT_EVENTS)}
    assert set(during) <= spooled_requests
    down_events = [e["id"] for e in events if e["request_id"] in set(during)]
    assert len(down_events) == 6 and set(down_events) <= spooled_events  # 3 sign-ins, 3 sign-outs

    restart()
    report = writer.replay_spool()
    assert report["error"] is None and report["pending"] == {}
    all_requests, all_events = before + during, [e["id"] for e in events]
    requests, sealed = counts(all_requests, all_events)
    assert requests == Counter(all_requests)  # every request exactly once
    assert sealed == Counter(all_events)  # every audit event exactly once
    assert chain.verify_chain(trigger="task").ok

    writer.replay_spool()
    writer.flush()
    assert counts(all_requests, all_events) == (requests, sealed)
    result = chain.verify_chain(trigger="task")
    assert result.ok and result.checked == len(all_events)


def test_an_interrupted_replay_finishes_without_duplicates(client, resident, own_server):
    from core.audit import _memory as events

    server, restart = own_server
    server.stop()
    ids = serve(client, "cut", 8)
    writer.flush()
    spooled_requests = writer.spooled_documents(REQUEST_LOG)
    spooled_events = writer.spooled_documents(AUDIT_EVENTS)
    restart()
    # The first replay died half-way: half of each spool is already in MongoDB.
    writer.write(REQUEST_LOG, spooled_requests[: len(spooled_requests) // 2])
    chain.seal([dict(e) for e in spooled_events[: len(spooled_events) // 2]])

    assert writer.replay_spool()["pending"] == {}
    event_ids = [e["id"] for e in events]
    requests, sealed = counts(ids, event_ids)
    assert requests == Counter(ids) and sealed == Counter(event_ids)
    result = chain.verify_chain(trigger="task")
    assert result.ok and result.last_seq == len(event_ids)
