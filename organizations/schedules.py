"""Scheduled jobs of the union tree, kept in django-celery-beat (editable in the admin).

Created after every migrate (post_migrate) if missing; an operator's edits in the admin
(time, enabled, arguments) are kept, because an existing entry is never overwritten.
Other apps create theirs with `ensure_daily_task`, `ensure_monthly_task` or
`ensure_interval_task`.
"""

NIGHTLY_TREE_CHECK = "nightly union tree check"
NIGHTLY_COUNTER_CHECK = "nightly statistics counter check"
ROLLUP_FOLD = "fold statistics roll-ups"


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


def ensure_schedules(sender=None, using="default", **kwargs):
    ensure_daily_task(
        name=NIGHTLY_TREE_CHECK,
        task="organizations.tasks.check_tree_task",
        hour=2,
        minute=30,
        kwargs='{"repair": false}',
        using=using,
    )
    ensure_daily_task(
        name=NIGHTLY_COUNTER_CHECK,
        task="organizations.tasks.check_counters_task",
        hour=3,
        minute=0,
        kwargs='{"repair": true}',
        using=using,
    )
    # Folds are queued on commit; this catches any that a lost message left waiting.
    ensure_interval_task(
        name=ROLLUP_FOLD,
        task="organizations.tasks.fold_rollups_task",
        every_minutes=1,
        using=using,
    )
