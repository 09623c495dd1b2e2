"""Background jobs: worker voice. Thin: the beat job calls the escalation action."""

import logging

from celery import shared_task

from ..actions.voice import escalate_overdue_concerns

logger = logging.getLogger(__name__)

__all__ = ["escalate_overdue_concerns_task"]


@shared_task(acks_late=True)
def escalate_overdue_concerns_task() -> int:
    """Every 15 minutes: move open concerns past their due time one level up."""
    count = escalate_overdue_concerns()
    logger.info("concern escalation: %d concern(s) moved up", count)
    return count
