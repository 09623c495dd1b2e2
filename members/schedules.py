"""Scheduled jobs of the members app, kept in django-celery-beat (editable in the admin).

Created after every migrate if missing; an operator's edits are never overwritten.
"""

from core.schedules import ensure_daily_task, ensure_monthly_task

DAILY_TRANSFER_EXPIRY = "daily transfer expiry"
DAILY_TRANSFER_REMINDER = "daily reminder of transfers about to lapse"
# The privacy notice promises that unsuccessful applications are deleted after a year.
DAILY_APPLICATION_PURGE = "daily purge of unsuccessful join applications"
MONTHLY_DUES_REMINDER = "monthly dues reminder"


def ensure_schedules(sender=None, using="default", **kwargs):
    """Create the nightly transfer expiry (03:10), the reminder of transfers about to lapse
    (09:05), the application purge (03:30) and the dues reminder (the 10th of each month,
    09:00) if missing."""
    ensure_daily_task(
        name=DAILY_TRANSFER_EXPIRY,
        task="members.tasks.transfers.expire_transfers_task",
        hour=3,
        minute=10,
        using=using,
    )
    ensure_daily_task(
        name=DAILY_TRANSFER_REMINDER,
        task="members.tasks.transfers.remind_expiring_transfers_task",
        hour=9,
        minute=5,
        using=using,
    )
    ensure_daily_task(
        name=DAILY_APPLICATION_PURGE,
        task="members.tasks.joining.purge_unsuccessful_join_applications_task",
        hour=3,
        minute=30,
        using=using,
    )
    ensure_monthly_task(
        name=MONTHLY_DUES_REMINDER,
        task="members.tasks.dues.remind_unpaid_dues_task",
        day=10,
        hour=9,
        minute=0,
        using=using,
    )
