"""Background jobs: transfers. Thin: the nightly expiry calls the action."""

import logging

from celery import shared_task

from ..actions.transfers import expire_transfers, remind_expiring_transfers

logger = logging.getLogger(__name__)

__all__ = ["expire_transfers_task", "remind_expiring_transfers_task"]


@shared_task(acks_late=True)
def expire_transfers_task() -> int:
    """Nightly: mark open transfers past their expiry as expired; returns how many."""
    count = expire_transfers()
    logger.info("transfer expiry: %d transfer(s) expired", count)
    return count


@shared_task(acks_late=True)
def remind_expiring_transfers_task() -> int:
    """Daily: remind the unions that must act of open transfers lapsing within three days."""
    count = remind_expiring_transfers()
    logger.info("transfer reminders: %d notification(s)", count)
    return count
