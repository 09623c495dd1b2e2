"""The sweeper's schedule in django-celery-beat, created after migrate if missing."""

from core.schedules import ensure_daily_task, ensure_interval_task

EVERY_MINUTE_SWEEP = "send due notifications (quiet hours over, retries, lost tasks)"
DAILY_DIGEST = "daily digest of new work for officers who chose it"


def ensure_schedules(sender=None, using="default", **kwargs):
    ensure_interval_task(
        name=EVERY_MINUTE_SWEEP,
        task="notifications.tasks.send_due_deliveries_task",
        every_minutes=1,
        using=using,
    )
    ensure_daily_task(
        name=DAILY_DIGEST,
        task="notifications.tasks.send_digests_task",
        hour=8,
        minute=30,
        using=using,
    )
