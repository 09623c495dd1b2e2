"""Background jobs of the notifications app: sending deliveries, and the sweeper.

Thin: ids in, then the action. Both tasks are idempotent (a delivery is sent under its row
lock and marked sent in the same transaction), so they are acknowledged late and given back
to the queue when the worker running them dies; database hiccups are retried with
exponential backoff and jitter.
"""

import datetime

from celery import shared_task

from core.retry import RETRY_POLICY

from . import actions


@shared_task(**RETRY_POLICY)
def send_deliveries_task(delivery_ids: list[int], lease_until: str | None = None) -> dict:
    """Send a batch of pending deliveries (email, SMS)."""
    lease = datetime.datetime.fromisoformat(lease_until) if lease_until else None
    return dict(actions.send_deliveries(delivery_ids, lease_until=lease))


@shared_task(**RETRY_POLICY)
def send_due_deliveries_task() -> int:
    """Every minute: hand out deliveries whose quiet hours or retry time are over, and any
    whose task was lost."""
    return actions.hand_out_due_deliveries()


@shared_task(**RETRY_POLICY)
def send_digests_task() -> int:
    """Daily: the digest of new work for officers who chose it (one per user and day)."""
    return actions.send_digests()
