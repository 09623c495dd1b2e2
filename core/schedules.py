"""Scheduled jobs in django-celery-beat (editable in the admin), created if missing.

Each app creates its jobs after every migrate (post_migrate) with these helpers; an
operator's edits in the admin (time, enabled, arguments) are kept, because an existing
entry is never overwritten.
"""


def _ensure_crontab_task(
    *, name: str, task: str, day: str, hour: int, minute: int, kwargs: str, using
) -> None:
    """A job at hh:mm Beijing time on `day` of the month ("*": every day), unless one exists."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    crontab, _ = CrontabSchedule.objects.using(using).get_or_create(
        minute=str(minute),
        hour=str(hour),
        day_of_week="*",
        day_of_month=day,
        month_of_year="*",
        timezone="Asia/Shanghai",
    )
    PeriodicTask.objects.using(using).get_or_create(
        name=name, defaults={"task": task, "crontab": crontab, "kwargs": kwargs}
    )


def ensure_daily_task(
    *, name: str, task: str, hour: int, minute: int, kwargs: str = "{}", using="default"
) -> None:
    """A daily job at hh:mm Beijing time, created unless one of that name exists."""
    _ensure_crontab_task(
        name=name, task=task, day="*", hour=hour, minute=minute, kwargs=kwargs, using=using
    )


def ensure_monthly_task(
    *, name: str, task: str, day: int, hour: int, minute: int, kwargs: str = "{}", using="default"
) -> None:
    """A monthly job on `day` at hh:mm Beijing time, created unless one of that name exists."""
    _ensure_crontab_task(
        name=name, task=task, day=str(day), hour=hour, minute=minute, kwargs=kwargs, using=using
    )


def ensure_interval_task(
    *, name: str, task: str, every_minutes: int, kwargs: str = "{}", using="default"
) -> None:
    """A job every `every_minutes` minutes, created unless one of that name exists."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    interval, _ = IntervalSchedule.objects.using(using).get_or_create(
        every=every_minutes, period=IntervalSchedule.MINUTES
    )
    PeriodicTask.objects.using(using).get_or_create(
        name=name, defaults={"task": task, "interval": interval, "kwargs": kwargs}
    )
