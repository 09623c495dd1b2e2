"""Background jobs of the statistics app. Thin: ids in, actions called, figures logged."""

import datetime

from celery import shared_task

from core.retry import RETRY_POLICY as RETRY

from . import actions


@shared_task(**RETRY)
def snapshot_task(day: str | None = None) -> int:
    """Nightly (00:10): yesterday's figures of every federation, for the trends."""
    return actions.take_snapshot(datetime.date.fromisoformat(day) if day else None)


@shared_task(**RETRY)
def backfill_task(start: str, end: str | None = None) -> int:
    return actions.backfill(
        datetime.date.fromisoformat(start), datetime.date.fromisoformat(end) if end else None
    )


@shared_task(**RETRY)
def build_report_task(job_id: int) -> None:
    actions.build_report(job_id)


@shared_task(**RETRY)
def monthly_reports_task() -> int:
    """The 1st at 06:00: last month's report for every federation with administrators."""
    return actions.monthly_reports()


@shared_task(**RETRY)
def purge_reports_task() -> int:
    """Nightly: expired report files and old snapshots go."""
    return actions.purge_expired() + actions.purge_snapshots()
