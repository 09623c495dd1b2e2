"""Member import jobs: start, check, confirm, run, cancel and fail an `ImportJob` (kind "members").

The uploaded file is checked whole in the background, every bad row reported with its row
number, column and reason, and nothing is written until an administrator confirms. The run
checks the file again (the database may have changed in between) and writes all rows in one
transaction, or nothing. Rows whose person is already a member of the same union are left
unchanged, so importing a file twice creates no duplicates. The uploaded file holds personal
data: it is deleted from storage as soon as the job can go no further.

The rows are checked by `members.importing.rows` and written by
`enrolment.enrol_checked_rows`, both shared with the legacy migration command
(`import_legacy_members`); the template is `members.importing.template`, the export
`members.exports`.

No transaction here is durable, although in production these run outside any transaction
(admin views without ATOMIC_REQUESTS, Celery tasks, on-commit hooks): the property tests of
the import (`tests/security/test_hostile_input.py`) run each example inside a savepoint of
their own that they roll back, and a durable block refuses to open inside another one.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import imports, spreadsheets
from notifications import kinds
from notifications.actions import link_for, notify_on_commit
from organizations.models import Organization

from ..importing.rows import (
    CREATE,
    UNCHANGED,
    CheckedRow,
    FileError,
    RowChecker,
    checked_chunks,
    error_entry,
)
from ..models import ImportJob, ImportKind, ImportStatus
from .enrolment import enrol_checked_rows
from .permissions import require_member_admin
from .records import check_member_union

__all__ = [
    "ACTIVE_STATUSES",
    "MAX_UPLOAD_BYTES",
    "cancel_member_import",
    "check_member_import",
    "confirm_member_import",
    "fail_member_import",
    "import_errors_xlsx",
    "run_member_import",
    "start_member_import",
]

kinds.register(
    "members.import_status",
    gettext_lazy("Member import “%(file)s”: %(status)s"),
    gettext_lazy("Open the import to see the row report."),
)

# Rows per progress update while checking, and per bulk insert while writing.
PROGRESS_EVERY = 500
WRITE_BATCH = 2000


# --- Import jobs ----------------------------------------------------------------------------

MAX_UPLOAD_BYTES = imports.MAX_UPLOAD_BYTES
ACTIVE_STATUSES = imports.ACTIVE_STATUSES


def start_member_import(*, organization: Organization, uploaded_file, acting_user) -> ImportJob:
    """Store an uploaded member spreadsheet and check it in the background."""
    require_member_admin(acting_user, organization)
    check_member_union(organization)
    from ..tasks.spreadsheets import check_member_import_task

    job = ImportJob(organization=organization, kind=ImportKind.MEMBERS, created_by=acting_user)
    return imports.start(job, uploaded_file, check_member_import_task.delay)


def _checker_for(job: ImportJob) -> RowChecker:
    return RowChecker(user=job.created_by, default_union=job.organization)


def _open(job: ImportJob):
    gone = _("The uploaded file is no longer stored; upload it again.")
    if not job.file:
        raise FileError.of(gone, "no_file")
    try:
        return job.file.storage.open(job.file.name, "rb")
    except FileNotFoundError:
        raise FileError.of(gone, "no_file") from None


def _too_many_rows() -> FileError:
    message = _(
        "The file has more than %(max)d rows; split it into smaller files, or ask the "
        "platform operator to migrate it."
    ) % {"max": spreadsheets.MAX_ROWS}
    return FileError.of(message, "too_many_rows")


def _count_rows(job: ImportJob) -> int:
    with _open(job) as file:
        table = _read(job, file)
        if table.size_hint is not None:
            count = table.size_hint
        else:
            count = 0
            try:
                for _row in table.rows:
                    count += 1
                    if count > spreadsheets.MAX_ROWS:
                        break
            except spreadsheets.SpreadsheetError as error:  # found part-way through the file
                raise FileError.of(str(error), "unreadable") from None
    if count > spreadsheets.MAX_ROWS:
        raise _too_many_rows()
    return count


def _read(job: ImportJob, file) -> spreadsheets.Table:
    try:
        return spreadsheets.read_table(file, job.original_name)
    except spreadsheets.SpreadsheetError as error:
        raise FileError.of(str(error), "unreadable") from None


@dataclasses.dataclass
class _Scan:
    errors: list = dataclasses.field(default_factory=list)
    rows: int = 0
    to_create: int = 0
    unchanged: int = 0
    unions: set = dataclasses.field(default_factory=set)

    def summary(self) -> dict:
        return {
            "rows": self.rows,
            "to_create": self.to_create,
            "unchanged": self.unchanged,
            "bad_rows": len({e["row"] for e in self.errors}),
            "unions": sorted(self.unions),
        }


def _scan(job: ImportJob, total: int) -> _Scan:
    """Check the whole file, saving progress every PROGRESS_EVERY rows; writes no member."""
    result = _Scan()
    checker = _checker_for(job)
    try:
        with _open(job) as file:
            table = _read(job, file)
            for chunk in checked_chunks(table, checker, PROGRESS_EVERY):
                for row in chunk:
                    result.rows += 1
                    result.errors.extend(row.errors)
                    result.to_create += row.outcome == CREATE
                    result.unchanged += row.outcome == UNCHANGED
                if result.rows > spreadsheets.MAX_ROWS:  # the size the file states was wrong
                    raise _too_many_rows()
                ImportJob.objects.filter(pk=job.pk).update(
                    processed_rows=result.rows, total_rows=max(total, result.rows)
                )
    except FileError as error:
        result.errors = error.errors
    except spreadsheets.SpreadsheetError as error:  # found part-way through the file
        result.errors.append(error_entry(result.rows + 1, "", str(error), "unreadable"))
    if not result.errors and result.rows == 0:
        result.errors = [error_entry(1, "", _("The file has no data rows."), "empty")]
    result.unions = checker.union_ids
    return result


def check_member_import(*, job: ImportJob) -> ImportJob:
    """Check an uploaded file whole; the job ends validated or invalid with every bad row."""
    claimed = ImportJob.objects.filter(
        pk=job.pk,
        kind=ImportKind.MEMBERS,
        status__in=(ImportStatus.UPLOADED, ImportStatus.VALIDATING),
    ).update(status=ImportStatus.VALIDATING, processed_rows=0, errors=[], result={})
    job.refresh_from_db()
    if not claimed:
        return job
    try:
        total = _count_rows(job)
    except FileError as error:
        scan = _Scan(errors=error.errors)
    else:
        ImportJob.objects.filter(pk=job.pk).update(total_rows=total)
        scan = _scan(job, total)
    status = ImportStatus.INVALID if scan.errors else ImportStatus.VALIDATED
    fields = {
        "status": status,
        "errors": scan.errors,
        "result": scan.summary(),
        "total_rows": scan.rows,
        "processed_rows": scan.rows,
    }
    if status == ImportStatus.INVALID:
        fields["finished_at"] = timezone.now()
    # Conditional: a cancel while checking wins.
    updated = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.VALIDATING).update(**fields)
    job.refresh_from_db()
    if updated:
        if status == ImportStatus.INVALID:
            # Nothing more can happen with this file; a corrected one is a new upload.
            imports.discard_file(job)
        _notify(job)
    return job


def confirm_member_import(*, job: ImportJob, acting_user) -> ImportJob:
    """Start writing a checked file; only its union's member administrators may."""
    require_member_admin(acting_user, job.organization)
    for union in Organization.objects.filter(pk__in=(job.result or {}).get("unions", [])):
        require_member_admin(acting_user, union)
    from ..tasks.spreadsheets import run_member_import_task

    with transaction.atomic():
        updated = ImportJob.objects.filter(
            pk=job.pk, kind=ImportKind.MEMBERS, status=ImportStatus.VALIDATED
        ).update(status=ImportStatus.IMPORTING, processed_rows=0)
        if not updated:
            raise ValidationError(
                _("Only a checked file without errors can be imported, and only once."),
                code="not_validated",
            )
        transaction.on_commit(lambda: run_member_import_task.delay(job.pk))
    job.refresh_from_db()
    return job


class _Changed(Exception):
    def __init__(self, errors):
        super().__init__(errors)
        self.errors = errors


def _new_rows(table, checker: RowChecker, outcomes: Counter) -> Iterator[list[CheckedRow]]:
    """The rows to create, a batch at a time, counting the unchanged ones; _Changed when a
    row has become bad since the file was checked."""
    for chunk in checked_chunks(table, checker, WRITE_BATCH):
        errors = [e for row in chunk for e in row.errors]
        if errors:
            raise _Changed(errors)
        outcomes[UNCHANGED] += sum(row.outcome == UNCHANGED for row in chunk)
        yield [row for row in chunk if row.outcome == CREATE]


def run_member_import(*, job: ImportJob) -> ImportJob:
    """Check the file again and write all its new members in one transaction, or none."""
    job.refresh_from_db()
    if job.kind != ImportKind.MEMBERS or job.status != ImportStatus.IMPORTING:
        return job
    # Check first, outside the write transaction, so that progress is visible (and kept).
    scan = _scan(job, job.total_rows)
    if scan.errors:
        return _end(job, ImportStatus.FAILED, errors=scan.errors, result=scan.summary())
    outcomes: Counter = Counter()
    try:
        with transaction.atomic():
            with _open(job) as file:
                created = enrol_checked_rows(
                    batches=_new_rows(_read(job, file), _checker_for(job), outcomes),
                    acting_user=job.created_by,
                    job=job,
                )
            result = {**scan.summary(), "created": created, "unchanged": outcomes[UNCHANGED]}
            _end(job, ImportStatus.DONE, result=result, notify_now=False)
    except _Changed as changed:
        return _end(job, ImportStatus.FAILED, errors=changed.errors, result=scan.summary())
    except FileError as error:
        return _end(job, ImportStatus.FAILED, errors=error.errors, result=scan.summary())
    except IntegrityError:
        message = _(
            "Someone enrolled a person of this file while it was being imported; nothing was "
            "written. Upload the file again to check it."
        )
        return _end(
            job,
            ImportStatus.FAILED,
            errors=[error_entry(1, "", message, "conflict")],
            result=scan.summary(),
        )
    job.refresh_from_db()
    _notify(job)
    return job


def _end(job, status, *, errors=None, result=None, notify_now=True) -> ImportJob:
    job = imports.end(job, status, errors=errors, result=result)
    if notify_now:
        _notify(job)
    return job


def cancel_member_import(*, job: ImportJob, acting_user) -> ImportJob:
    """Drop an upload that has not started importing; its file is deleted."""
    require_member_admin(acting_user, job.organization)
    return imports.cancel(job, queryset=ImportJob.objects.filter(kind=ImportKind.MEMBERS))


def fail_member_import(job_id: int) -> None:
    """Mark a job failed after an unexpected error (its transaction was rolled back)."""
    error = error_entry(1, "", imports.unexpected_error(), "internal")
    job = imports.fail(ImportJob, job_id, error)
    if job is not None:
        _notify(job)


def _notify(job: ImportJob) -> None:
    if not job.created_by_id:
        return
    notify_on_commit(
        [job.created_by_id],
        "members.import_status",
        {"file": job.original_name, "status": str(ImportStatus(job.status).label)},
        link_for("admin:members_importjob_change", job.pk),
        dedupe_key=f"members.import:{job.pk}:{job.status}",
    )


def import_errors_xlsx(*, job: ImportJob) -> bytes:
    """The job's row report (row, column, reason) as a workbook."""
    return imports.errors_xlsx(job.errors)
