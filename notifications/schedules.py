"""The sweeper's schedule in django-celery-beat, created after migrate if missing.

(Kept here rather than with the other apps' helpers in organizations.schedules: this app
imports no domain app.)
"""

EVERY_MINUTE_SWEEP = "send due notifications (quiet hours over, retries, lost tasks)"


def ensure_schedules(sender=None, using="default", **kwargs):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    interval, _ = IntervalSchedule.objects.using(using).get_or_create(
        every=1, period=IntervalSchedule.MINUTES
    )
    PeriodicTask.objects.using(using).get_or_create(
        name=EVERY_MINUTE_SWEEP,
        defaults={"task": "notifications.tasks.send_due_deliveries_task", "interval": interval},
    )
