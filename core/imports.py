"""The steps every spreadsheet import job shares (`core.models.ImportJobBase`): the member,
payroll and union imports each check and write their own rows, and end, cancel, fail and
report the same way. Every update is conditional on the job's state, so that a cancel and a
finishing worker cannot both win; the uploaded file (it may name people) is deleted once the
state change is committed and the job can go no further.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import spreadsheets
from .models import ImportStatus

__all__ = [
    "ACTIVE_STATUSES",
    "FINAL_STATUSES",
    "MAX_UPLOAD_BYTES",
    "cancel",
    "discard_file",
    "end",
    "errors_xlsx",
    "fail",
    "run_step",
    "start",
    "unexpected_error",
]

# A job in these states may still be cancelled; in the final ones nothing more happens.
ACTIVE_STATUSES = (ImportStatus.UPLOADED, ImportStatus.VALIDATING, ImportStatus.VALIDATED)
FINAL_STATUSES = (ImportStatus.DONE, ImportStatus.CANCELLED, ImportStatus.INVALID)


MAX_UPLOAD_BYTES = 50 * 1024 * 1024
logger = logging.getLogger(__name__)


def start(job, uploaded_file, check_task: Callable[[int], object]):
    """Store an upload on a new job (under a random name: the original may name people) and
    have `check_task(job id)` check it once the transaction commits. Refuses files that are
    not .xlsx or .csv, or larger than 50 MB, before anything is stored."""
    original = str(getattr(uploaded_file, "name", "") or "").replace("\\", "/").rsplit("/", 1)[-1]
    extension = original.rsplit(".", 1)[-1].lower() if "." in original else ""
    if extension not in ("xlsx", "csv"):
        raise ValidationError({"file": [_("Upload an .xlsx or .csv file.")]})
    if getattr(uploaded_file, "size", 0) > MAX_UPLOAD_BYTES:
        raise ValidationError({"file": [_("The file is larger than 50 MB; split it.")]})
    with transaction.atomic():
        job.original_name = original[:255]
        job.file.save(f"{uuid.uuid4().hex}.{extension}", uploaded_file, save=False)
        job.save()
        transaction.on_commit(lambda: check_task(job.pk))
    return job


def discard_file(job) -> None:
    """Delete the uploaded file once the current transaction commits."""
    if not job.file:
        return
    model, name, storage, pk = type(job), job.file.name, job.file.storage, job.pk

    def delete():
        storage.delete(name)
        model.objects.filter(pk=pk, file=name).update(file="")

    transaction.on_commit(delete)


def end(job, status: str, *, errors=None, result=None):
    """Finish the job in `status` (with its errors and counts) and drop its file."""
    fields = {"status": status, "finished_at": timezone.now()}
    if errors is not None:
        fields["errors"] = errors
    if result is not None:
        fields["result"] = result
    if status == ImportStatus.DONE:
        fields["processed_rows"] = job.total_rows
    type(job).objects.filter(pk=job.pk).update(**fields)
    job.refresh_from_db()
    discard_file(job)
    return job


def cancel(job, *, queryset=None):
    """Drop an upload that has not started importing; refused once it has."""
    queryset = queryset if queryset is not None else type(job).objects.all()
    updated = queryset.filter(pk=job.pk, status__in=ACTIVE_STATUSES).update(
        status=ImportStatus.CANCELLED, finished_at=timezone.now()
    )
    if not updated:
        raise ValidationError(_("This import can no longer be cancelled."), code="not_cancellable")
    job.refresh_from_db()
    discard_file(job)
    return job


def unexpected_error() -> str:
    return _(
        "The import stopped because of an unexpected error; nothing was written. Try again "
        "later or contact the platform operator."
    )


def fail(model, job_id: int, error: dict):
    """Mark a job failed after an unexpected error (its transaction was rolled back);
    returns the job, or None when it had already ended."""
    job = model.objects.filter(pk=job_id).first()
    if job is None or job.status in FINAL_STATUSES:
        return None
    return end(job, ImportStatus.FAILED, errors=[error])


def errors_xlsx(errors: Iterable[dict]) -> bytes:
    """A job's row report (row, column, reason; the sheet first where errors name one)."""
    errors = list(errors or [])
    if any(e.get("sheet") for e in errors):
        headers = [_("Sheet"), _("Row"), _("Column"), _("Reason")]
        rows = (
            (e.get("sheet") or "", e.get("row"), e.get("column", ""), e.get("message", ""))
            for e in errors
        )
    else:
        headers = [_("Row"), _("Column"), _("Reason")]
        rows = ((e.get("row"), e.get("column", ""), e.get("message", "")) for e in errors)
    return spreadsheets.write_xlsx(headers, rows, sheet_title=str(_("Errors")))


def run_step(job, step: Callable, fail: Callable[[int], None], what: str) -> None:
    """A job's Celery task body: `step(job=job)`; on an unexpected error the job is marked
    failed (`fail(job id)`, its transaction was rolled back) and the error re-raised for the
    worker's log. A job gone meanwhile is nothing to do. Ids only in the log, no file name."""
    if job is None:
        return
    try:
        step(job=job)
    except Exception:
        logger.exception("%s %s stopped", what, job.pk)
        fail(job.pk)
        raise
