"""The beat jobs exist under the names the schedule uses, run, and can be run again; the operators' commands."""

import io
from datetime import UTC, datetime

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone

from audit_logs import tasks, writer
from audit_logs.collections import AUDIT_ANCHORS, AUDIT_EVENTS, CHAIN_VERIFICATIONS, REQUEST_LOG
from config.celery import app
from core.audit import audit_record


@pytest.fixture
def pipeline(mongo_db, settings, tmp_path):
    settings.AUDIT_SINKS = ["audit_logs.sinks.durable_sink"]
    settings.AUDIT_ANCHOR_DIR = tmp_path / "anchors"
    settings.LOG_SPOOL_DIR = tmp_path / "spool"
    return mongo_db


def test_every_scheduled_job_is_a_registered_task():
    scheduled = {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert {name for name in scheduled if name.startswith("audit_logs.")} <= set(app.tasks)
    assert all("expires" in entry["options"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values())


def test_the_jobs_run_and_run_again(pipeline):
    audit_record(action="leave.approve")
    writer.spool_append(REQUEST_LOG, [{"_id": "spooled", "at": datetime.now(UTC), "status": 200}])
    for _ in range(2):
        assert tasks.replay_spool.delay().get()["pending"] == {}
        tasks.aggregate_recent.delay().get()
        tasks.write_daily_anchor.delay(timezone.localdate().isoformat()).get()
        assert tasks.verify_chain.delay().get()["ok"]
        tasks.prune.delay().get()
    assert pipeline[REQUEST_LOG].count_documents({"_id": "spooled"}) == 1
    assert pipeline[AUDIT_EVENTS].count_documents({"action": "logs.prune"}) == 2
    assert pipeline[AUDIT_ANCHORS].count_documents({}) == 1
    assert pipeline[CHAIN_VERIFICATIONS].count_documents({"trigger": "task", "ok": True}) == 2


def test_the_operators_commands(pipeline):
    audit_record(action="leave.approve")
    writer.flush()
    out = io.StringIO()
    for command, args in (
        ("logs_replay", []),
        ("logs_aggregate", []),
        ("logs_aggregate", ["--since", "2025-03-01", "--until", "2025-03-02"]),
        ("audit_anchor", ["--day", timezone.localdate().isoformat()]),
        ("logs_prune", []),
        ("audit_verify", []),
    ):
        call_command(command, *args, stdout=out)
    text = out.getvalue()
    assert "Replayed nothing." in text and "request_log: 0 deleted" in text and "OK: 2 events" in text
