"""Scheduled jobs of the statistics app (django-celery-beat; created after migrate)."""

from core.schedules import ensure_daily_task, ensure_monthly_task

DAILY_SNAPSHOT = "daily statistics snapshot"
MONTHLY_REPORTS = "monthly statistics reports"
PURGE_REPORTS = "purge expired reports"


def ensure_schedules(sender=None, using="default", **kwargs):
    ensure_daily_task(
        name=DAILY_SNAPSHOT, task="reports.tasks.snapshot_task", hour=0, minute=10, using=using
    )
    ensure_monthly_task(
        name=MONTHLY_REPORTS,
        task="reports.tasks.monthly_reports_task",
        day=1,
        hour=6,
        minute=0,
        using=using,
    )
    ensure_daily_task(
        name=PURGE_REPORTS, task="reports.tasks.purge_reports_task", hour=4, minute=0, using=using
    )
