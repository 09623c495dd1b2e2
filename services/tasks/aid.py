"""Background jobs of hardship aid. Thin: the daily notice check calls the action."""

import logging

from celery import shared_task

from ..actions.aid import remind_notices_ended

logger = logging.getLogger(__name__)

__all__ = ["remind_notices_ended_task"]


@shared_task(acks_late=True)
def remind_notices_ended_task() -> int:
    """Daily: tell aid officers which cases' public notice ended, so the aid can be paid."""
    count = remind_notices_ended()
    logger.info("hardship aid: %d case(s) ready to be paid after their notice", count)
    return count
