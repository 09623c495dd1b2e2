"""Background jobs: dues. Thin: ids in, re-fetch, call the action in members.actions.payroll
or members.actions.dues_reminders."""

import logging

from celery import shared_task

from ..actions import dues_reminders, payroll
from ..models import ImportJob, ImportKind

logger = logging.getLogger(__name__)

__all__ = ["apply_payroll_task", "check_payroll_task", "remind_unpaid_dues_task"]


def _payroll_job(job_id: int) -> ImportJob | None:
    return (
        ImportJob.objects.select_related("organization")
        .filter(pk=job_id, kind=ImportKind.PAYROLL)
        .first()
    )


@shared_task(acks_late=True)
def check_payroll_task(job_id: int) -> None:
    """Check an uploaded payroll file whole and store its row errors; writes no dues."""
    job = _payroll_job(job_id)
    if job is None:
        return
    payroll.check_payroll_file(job=job)


@shared_task(acks_late=True)
def apply_payroll_task(job_id: int) -> None:
    """Import a confirmed payroll file in one transaction, as the user who confirmed it."""
    job = _payroll_job(job_id)
    if job is None:
        return
    payroll.apply_confirmed_payroll(job=job)


@shared_task(acks_late=True)
def remind_unpaid_dues_task() -> int:
    """Monthly: remind active members of the dues of past months they have not paid in full."""
    count = dues_reminders.remind_unpaid_dues()
    logger.info("dues reminders: %d reminder(s) sent", count)
    return count
