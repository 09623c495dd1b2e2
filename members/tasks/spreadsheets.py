"""Background jobs: checking and running member spreadsheet imports. Thin: ids in."""

import logging

from celery import shared_task

from ..actions import spreadsheets as actions
from ..models import ImportJob, ImportKind

logger = logging.getLogger(__name__)

__all__ = ["check_member_import_task", "run_member_import_task"]


def _job(job_id: int) -> ImportJob | None:
    return (
        ImportJob.objects.select_related("organization", "created_by")
        .filter(pk=job_id, kind=ImportKind.MEMBERS)
        .first()
    )


@shared_task(acks_late=True)
def check_member_import_task(job_id: int) -> None:
    """Check an uploaded member spreadsheet whole and write its row report."""
    job = _job(job_id)
    if job is None:
        return
    try:
        actions.check_member_import(job=job)
    except Exception:
        logger.exception("member import %s: the check stopped", job_id)
        actions.fail_member_import(job_id)
        raise


@shared_task(acks_late=True)
def run_member_import_task(job_id: int) -> None:
    """Write a confirmed member spreadsheet in one transaction (or nothing)."""
    job = _job(job_id)
    if job is None:
        return
    try:
        actions.run_member_import(job=job)
    except Exception:
        logger.exception("member import %s: the run stopped", job_id)
        actions.fail_member_import(job_id)
        raise
