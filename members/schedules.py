"""Scheduled jobs of the members app, kept in django-celery-beat (editable in the admin).

Created after every migrate if missing; an operator's edits are never overwritten.
"""

DAILY_TRANSFER_EXPIRY = "daily transfer expiry"
# The privacy notice promises that unsuccessful applications are deleted after a year.
DAILY_APPLICATION_PURGE = "daily purge of unsuccessful join applications"


def ensure_schedules(sender=None, using="default", **kwargs):
    """Create the nightly transfer expiry (03:10) and application purge (03:30) if missing."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    crontab, _ = CrontabSchedule.objects.using(using).get_or_create(
        minute="10",
        hour="3",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="Asia/Shanghai",
    )
    PeriodicTask.objects.using(using).get_or_create(
        name=DAILY_TRANSFER_EXPIRY,
        defaults={"task": "members.tasks.transfers.expire_transfers_task", "crontab": crontab},
    )
    purge_crontab, _ = CrontabSchedule.objects.using(using).get_or_create(
        minute="30",
        hour="3",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="Asia/Shanghai",
    )
    PeriodicTask.objects.using(using).get_or_create(
        name=DAILY_APPLICATION_PURGE,
        defaults={
            "task": "members.tasks.joining.purge_unsuccessful_join_applications_task",
            "crontab": purge_crontab,
        },
    )
