"""The caseload's daily job: warn two weeks before a block ends when a quota is below 80 %."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="rotation.tasks_caseload.warn_low_quotas", ignore_result=True, soft_time_limit=300, time_limit=330)
def warn_low_quotas() -> int:
    """Once a day (beat): notify resident and supervisor of blocks ending within 14 days below 80 %; once per block."""
    from .services.caseload_progress import warn_low_quotas as warn

    return warn()
