"""The beat jobs of the logging pipeline (schedule: CELERY_BEAT_SCHEDULE in config/settings/base.py).

Every job is safe to run again, at any time, in any process: replays are idempotent, statistics are
recomputed, anchors are per day, pruning only deletes what is past retention.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from core.mongo import MongoUnavailable

from . import aggregation, chain, retention, writer

RETRY = {"autoretry_for": (MongoUnavailable,), "retry_backoff": 60, "retry_jitter": True, "max_retries": 5}


@shared_task(name="audit_logs.tasks.replay_spool", ignore_result=True)
def replay_spool() -> dict[str, Any]:
    """Write spooled logs to MongoDB once it answers again (every minute; a no-op when nothing is spooled)."""
    return writer.replay_spool()


@shared_task(name="audit_logs.tasks.aggregate_recent", ignore_result=True)
def aggregate_recent() -> dict[str, int]:
    """Roll the last two hours of logs (and, once after midnight, yesterday) into statistics."""
    try:
        return aggregation.aggregate_recent()
    except MongoUnavailable:
        return {}  # the next run, ten minutes later, recomputes the same buckets


@shared_task(name="audit_logs.tasks.write_daily_anchor", ignore_result=True, **RETRY)
def write_daily_anchor(day: str | None = None) -> str | None:
    """Sign yesterday's end of the audit chain (or `day`, "YYYY-MM-DD")."""
    anchor = chain.write_daily_anchor(day)
    writer.flush()
    return anchor["last_hash"] if anchor else None


@shared_task(name="audit_logs.tasks.verify_chain", ignore_result=True, **RETRY)
def verify_chain() -> dict[str, Any]:
    result = chain.verify_chain(trigger="task")
    return {"ok": result.ok, "checked": result.checked, "last_seq": result.last_seq, "problem": result.problem}


@shared_task(name="audit_logs.tasks.prune", ignore_result=True, **RETRY)
def prune() -> dict[str, int]:
    return retention.prune()
