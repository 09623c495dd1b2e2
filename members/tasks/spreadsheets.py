"""Background jobs: checking and running member spreadsheet imports. Thin: ids in."""

from celery import shared_task

from core import imports

from ..actions import spreadsheets as actions
from ..models import ImportJob, ImportKind

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
    imports.run_step(
        _job(job_id), actions.check_member_import, actions.fail_member_import, "member import check"
    )


@shared_task(acks_late=True)
def run_member_import_task(job_id: int) -> None:
    """Write a confirmed member spreadsheet in one transaction (or nothing)."""
    imports.run_step(
        _job(job_id), actions.run_member_import, actions.fail_member_import, "member import run"
    )
