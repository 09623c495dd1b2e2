"""Scheduled jobs of the union tree, kept in django-celery-beat (editable in the admin).

Created after every migrate (post_migrate) if missing; an operator's edits in the admin
(time, enabled, arguments) are kept, because an existing entry is never overwritten.
"""

NIGHTLY_TREE_CHECK = "nightly union tree check"


def ensure_schedules(sender=None, using="default", **kwargs):
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    crontab, _ = CrontabSchedule.objects.using(using).get_or_create(
        minute="30",
        hour="2",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="Asia/Shanghai",
    )
    PeriodicTask.objects.using(using).get_or_create(
        name=NIGHTLY_TREE_CHECK,
        defaults={
            "task": "organizations.tasks.check_tree_task",
            "crontab": crontab,
            "kwargs": '{"repair": false}',
        },
    )
