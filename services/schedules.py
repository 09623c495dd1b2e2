"""Scheduled jobs of the services app, kept in django-celery-beat (editable in the admin).

Each feature's action module (`features.modules()`) lists its jobs in `SCHEDULES` as keyword
arguments of `core.schedules.ensure_daily_task` or `ensure_interval_task`.
"""

from core.schedules import ensure_daily_task, ensure_interval_task


def ensure_schedules(sender=None, using="default", **kwargs):
    from . import features

    for module in features.modules():
        for job in getattr(module, "SCHEDULES", []):
            job = dict(job)
            if "every_minutes" in job:
                ensure_interval_task(using=using, **job)
            else:
                ensure_daily_task(using=using, **job)
