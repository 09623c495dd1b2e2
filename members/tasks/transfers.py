"""Background jobs: transfers. Thin: the nightly expiry calls the action."""

import logging

from celery import shared_task

from ..actions.transfers import expire_transfers

logger = logging.getLogger(__name__)

__all__ = ["expire_transfers_task"]


@shared_task(acks_late=True)
def expire_transfers_task() -> int:
    """Nightly: mark open transfers past their expiry as expired; returns how many."""
    count = expire_transfers()
    logger.info("transfer expiry: %d transfer(s) expired", count)
    return count
