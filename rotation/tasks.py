"""Rotation's background jobs: generating a schedule (minutes of solver time, progress in the run row)."""

from __future__ import annotations

from celery import shared_task

#: Seconds beyond the run's own time limit before Celery kills the task (building, storing, stats).
GRACE = 120
#: The longest time limit the generate form accepts; the task's hard limit covers it.
MAX_TIME_LIMIT = 300


@shared_task(
    name="rotation.tasks.generate_schedule",
    acks_late=True,
    ignore_result=True,
    soft_time_limit=MAX_TIME_LIMIT + GRACE,
    time_limit=MAX_TIME_LIMIT + GRACE + 30,
)
def generate_schedule(run_id: int) -> str | None:
    """Run the scheduler for one queued run; a run that is gone or already started is left alone."""
    from .services.runs import execute_run

    run = execute_run(run_id)
    return run.status if run is not None else None
