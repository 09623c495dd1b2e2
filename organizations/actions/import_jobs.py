"""Union import jobs: start, check, confirm, run, cancel and fail a `UnionImport`.

The admin's upload page and `manage.py import_unions` share the check and the write
(`importing.checker.check`, `actions.imports.import_unions`); a job adds what an officer on
a web page needs: the file is checked in the background with progress, every bad row is
listed (sheet, row, column, reason), nothing is written until an administrator of the union
it imports under confirms, and the run checks the file again (the tree may have changed)
before it writes everything in one transaction, or nothing. The uploaded file names people
(officers' phone numbers): it is deleted as soon as the job can go no further.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import imports, spreadsheets
from core.models import ImportStatus
from notifications import kinds
from notifications.actions import link_for, notify_on_commit

from .. import scope
from ..importing.checker import SHEET, check
from ..models import Level, Organization, UnionImport
from .imports import ImportRefused, import_unions

__all__ = [
    "ACTIVE_STATUSES",
    "cancel_union_import",
    "check_union_import",
    "confirm_union_import",
    "fail_union_import",
    "may_import_under",
    "run_union_import",
    "start_union_import",
]

kinds.register(
    "organizations.import_status",
    gettext_lazy("Union import “%(file)s”: %(status)s"),
    gettext_lazy("Open the import to see the row report."),
)

MAX_UPLOAD_BYTES = imports.MAX_UPLOAD_BYTES
ACTIVE_STATUSES = imports.ACTIVE_STATUSES


def may_import_under(user, organization: Organization) -> bool:
    """Administrators of a federation import into its subtree (union groups hold no unions)."""
    return organization.level != Level.GROUP and scope.can(user, scope.Access.CHANGE, organization)


def _require(user, organization: Organization) -> None:
    if not may_import_under(user, organization):
        raise PermissionDenied(_("This organization is outside your area of responsibility."))


def start_union_import(*, organization: Organization, uploaded_file, acting_user) -> UnionImport:
    """Store an uploaded union spreadsheet and check it in the background."""
    _require(acting_user, organization)
    from ..tasks import check_union_import_task

    job = UnionImport(organization=organization, created_by=acting_user)
    return imports.start(job, uploaded_file, check_union_import_task.delay)


def _open(job: UnionImport):
    if job.file:
        try:
            return job.file.storage.open(job.file.name, "rb")
        except FileNotFoundError:
            pass
    raise ValidationError(_("The uploaded file is no longer stored; upload it again."))


def _count_rows(job: UnionImport) -> int:
    """The rows of the union sheet, as the file states them (XLSX) or counted (CSV)."""
    with _open(job) as file:
        try:
            table = spreadsheets.read_table(file, job.original_name, sheet=SHEET)
            if table.size_hint is not None:
                return table.size_hint
            return sum(1 for _row in table.rows)
        except spreadsheets.SpreadsheetError:
            return 0  # the check reports it


def _check(job: UnionImport):
    """Check the stored file whole, saving progress; the plan it makes."""

    def progress(rows: int) -> None:
        UnionImport.objects.filter(pk=job.pk).update(
            processed_rows=rows, total_rows=max(job.total_rows, rows)
        )

    with _open(job) as file:
        return check(
            file,
            job.original_name,
            under=job.organization,
            acting_user=job.created_by,
            progress=progress,
            max_rows=spreadsheets.MAX_ROWS,
        )


def _sorted(errors: list[dict]) -> list[dict]:
    """The report in the order of the file, each error naming its sheet: the union sheet
    first, then the others, each by row."""
    named = [{**e, "sheet": e.get("sheet") or SHEET} for e in errors]
    return sorted(named, key=lambda e: (e["sheet"] != SHEET, e["sheet"], e["row"] or 0))


def _summary(plan) -> dict:
    return {
        **plan.counts(),
        "missing": plan.missing,
        "rows": len(plan.rows),
        "officers": len(plan.parts.get("工会干部", [])),
        "bad_rows": len({(e.get("sheet", ""), e["row"]) for e in plan.errors}),
    }


def check_union_import(*, job: UnionImport) -> UnionImport:
    """Check an uploaded file whole; the job ends validated or invalid with every bad row."""
    claimed = UnionImport.objects.filter(
        pk=job.pk, status__in=(ImportStatus.UPLOADED, ImportStatus.VALIDATING)
    ).update(status=ImportStatus.VALIDATING, processed_rows=0, errors=[], result={})
    job.refresh_from_db()
    if not claimed:
        return job
    try:
        job.total_rows = _count_rows(job)
        UnionImport.objects.filter(pk=job.pk).update(total_rows=job.total_rows)
        plan = _check(job)
        errors, result = _sorted(plan.errors), _summary(plan)
    except ValidationError as error:
        errors, result = [{"row": None, "column": "", "message": error.messages[0]}], {}
    status = ImportStatus.INVALID if errors else ImportStatus.VALIDATED
    fields = {
        "status": status,
        "errors": errors,
        "result": result,
        "total_rows": result.get("rows", 0),
        "processed_rows": result.get("rows", 0),
    }
    if status == ImportStatus.INVALID:
        fields["finished_at"] = timezone.now()
    # Conditional: a cancel while checking wins.
    updated = UnionImport.objects.filter(pk=job.pk, status=ImportStatus.VALIDATING).update(**fields)
    job.refresh_from_db()
    if updated:
        if status == ImportStatus.INVALID:
            imports.discard_file(job)  # a corrected file is a new upload
        _notify(job)
    return job


def confirm_union_import(*, job: UnionImport, acting_user) -> UnionImport:
    """Start writing a checked file; only administrators of the union it imports under may."""
    _require(acting_user, job.organization)
    from ..tasks import run_union_import_task

    with transaction.atomic():
        updated = UnionImport.objects.filter(pk=job.pk, status=ImportStatus.VALIDATED).update(
            status=ImportStatus.IMPORTING, processed_rows=0
        )
        if not updated:
            raise ValidationError(
                _("Only a checked file without errors can be imported, and only once."),
                code="not_validated",
            )
        transaction.on_commit(lambda: run_union_import_task.delay(job.pk))
    job.refresh_from_db()
    return job


def run_union_import(*, job: UnionImport) -> UnionImport:
    """Check the file again (with progress), then write it all in one transaction, or nothing;
    the job ends done in that same transaction. Written in the name of the uploader, whose
    scope the import checks again."""
    job.refresh_from_db()
    if job.status != ImportStatus.IMPORTING:
        return job
    try:
        plan = _check(job)
        if plan.errors:
            return _end(
                job, ImportStatus.FAILED, errors=_sorted(plan.errors), result=_summary(plan)
            )

        def done(written: dict) -> None:
            result = {**_summary(plan), **written}
            result.pop("created_ids", None)
            _end(job, ImportStatus.DONE, result=result, notify_now=False)

        import_unions(plan=plan, acting_user=job.created_by, then=done)
    except ImportRefused as refused:
        return _end(job, ImportStatus.FAILED, errors=_sorted(refused.plan.errors))
    except (ValidationError, PermissionDenied) as error:
        message = getattr(error, "messages", None) or [str(error)]
        return _end(
            job, ImportStatus.FAILED, errors=[{"row": None, "column": "", "message": message[0]}]
        )
    job.refresh_from_db()
    _notify(job)
    return job


def _end(job, status, *, errors=None, result=None, notify_now=True) -> UnionImport:
    job = imports.end(job, status, errors=errors, result=result)
    if notify_now:
        _notify(job)
    return job


def cancel_union_import(*, job: UnionImport, acting_user) -> UnionImport:
    """Drop an upload that has not started importing; its file is deleted."""
    _require(acting_user, job.organization)
    return imports.cancel(job)


def fail_union_import(job_id: int) -> None:
    """Mark a job failed after an unexpected error (its transaction was rolled back)."""
    error = {"row": None, "column": "", "message": imports.unexpected_error()}
    job = imports.fail(UnionImport, job_id, error)
    if job is not None:
        _notify(job)


def _notify(job: UnionImport) -> None:
    if not job.created_by_id:
        return
    notify_on_commit(
        [job.created_by_id],
        "organizations.import_status",
        {"file": job.original_name, "status": str(ImportStatus(job.status).label)},
        link_for("admin:organizations_unionimport_change", job.pk),
        dedupe_key=f"organizations.import:{job.pk}:{job.status}",
    )
