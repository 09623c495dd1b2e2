"""Scheduled jobs of the union tree (created after migrate if missing; see core.schedules)."""

from core.schedules import ensure_daily_task, ensure_interval_task

NIGHTLY_TREE_CHECK = "nightly union tree check"
NIGHTLY_COUNTER_CHECK = "nightly statistics counter check"
ROLLUP_FOLD = "fold statistics roll-ups"


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
