"""Background jobs: reminders before due times lapse. Thin: the beat job calls the action."""

import logging

from celery import shared_task

from ..actions.reminders import remind_due_soon

logger = logging.getLogger(__name__)

__all__ = ["remind_due_soon_task"]


@shared_task(acks_late=True)
def remind_due_soon_task() -> int:
    """Every 30 minutes: tell officers of open requests and concerns falling due soon."""
    count = remind_due_soon()
    logger.info("due-soon reminders: %d notification(s)", count)
    return count
