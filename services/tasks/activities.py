"""Background jobs: activities. Thin: the hourly beat job calls the reminder action."""

import logging

from celery import shared_task

from ..actions.activities import remind_upcoming_sessions

logger = logging.getLogger(__name__)

__all__ = ["remind_upcoming_sessions_task"]


@shared_task(acks_late=True)
def remind_upcoming_sessions_task() -> int:
    """Hourly: remind members holding a place of their session in the next 24 hours."""
    count = remind_upcoming_sessions()
    logger.info("activity reminders: %d reminder(s) sent", count)
    return count
