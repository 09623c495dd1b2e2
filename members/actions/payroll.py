"""The payroll import (工资表导入): a union's monthly wages, dues and payments from a file.

A payroll file is checked whole first (`check_payroll_file`, nothing written); the user
confirms a file without errors, and `apply_payroll_file` re-checks it and writes wage
bases, the month's dues records and payments in one transaction, or nothing.
"""

from __future__ import annotations

import datetime
import functools
import io
import itertools
import logging
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core import crypto, spreadsheets
from core.audit import record_audit
from organizations import counters
from organizations.models import Organization

from .. import validators
from ..amounts import compute_dues, parse_amount
from ..counters import record_counters
from ..models import (
    DuesRecord,
    ImportJob,
    ImportKind,
    ImportStatus,
    Member,
    MemberStatus,
    PaymentMethod,
)
from ..selectors.dues import check_period
from .dues import check_dues_union, is_user, lock_union
from .permissions import require_wage_admin

logger = logging.getLogger(__name__)

# --- The file --------------------------------------------------------------------------

COL_NUMBER = "会员编号"
COL_ID = "身份证号"
COL_WAGE = "月工资"
COL_PAID = "实缴金额"
COL_DATE = "缴费日期"
COL_METHOD = "缴费方式"
PAYROLL_HEADERS = [COL_NUMBER, COL_ID, COL_WAGE, COL_PAID, COL_DATE, COL_METHOD]
PAYROLL_EXAMPLE_ROW = ["2024000000000001", "", "4321.00", "21.61", "2025-01-15", "工资代扣"]
CHUNK = 500  # rows looked up together; progress is saved after each chunk
MAX_STORED_ERRORS = 10_000
MAX_UPLOAD_BYTES = 20 * 1024 * 1024

# What people write in the 缴费方式 column, besides the codes and the labels.
_METHOD_NAMES = {
    "工资代扣": PaymentMethod.PAYROLL,
    "代扣": PaymentMethod.PAYROLL,
    "工资扣缴": PaymentMethod.PAYROLL,
    "现金": PaymentMethod.CASH,
    "银行转账": PaymentMethod.BANK,
    "转账": PaymentMethod.BANK,
    "微信": PaymentMethod.WECHAT,
    "微信支付": PaymentMethod.WECHAT,
    "支付宝": PaymentMethod.ALIPAY,
}


@functools.cache
def _method_names() -> dict[str, str]:
    names = {k: str(v) for k, v in _METHOD_NAMES.items()}
    for code in PaymentMethod.values:
        names[code] = code
    for language in ("en", "zh-hans"):
        with translation.override(language):
            for code, label in PaymentMethod.choices:
                names[str(label).strip().lower()] = code
    return names


def parse_method(text: str) -> str:
    """A payment method code from its code, label (Chinese or English) or common name."""
    code = _method_names().get(text.strip().lower())
    if code is None:
        raise ValidationError(
            {
                "method": ValidationError(
                    _("Unknown payment method; use one of: %(names)s.")
                    % {"names": "工资代扣, 现金, 银行转账, 微信, 支付宝"},
                    code="unknown_method",
                )
            }
        )
    return code


def _parse_date(text: str) -> datetime.date:
    try:
        return datetime.datetime.strptime(text.strip().replace("/", "-"), "%Y-%m-%d").date()
    except ValueError:
        raise ValidationError(
            {
                "paid_on": ValidationError(
                    _("Give the date as YYYY-MM-DD, e.g. 2025-01-15."), code="bad_date"
                )
            }
        ) from None


def create_payroll_job(
    *, organization: Organization, period: datetime.date, file, acting_user=None
) -> ImportJob:
    """Store an uploaded payroll file for `period` and start checking it (in the background)."""
    require_wage_admin(acting_user, organization)
    period = check_period(period)
    check_dues_union(organization)
    name = (getattr(file, "name", "") or "").rsplit("/", 1)[-1]
    if not name.lower().endswith((".xlsx", ".csv")):
        raise ValidationError(
            {"file": ValidationError(_("Upload an .xlsx or .csv file."), code="file_type")}
        )
    if (getattr(file, "size", 0) or 0) > MAX_UPLOAD_BYTES:
        raise ValidationError(
            {
                "file": ValidationError(
                    _("The file is larger than 20 MB; split it into several files."),
                    code="file_size",
                )
            }
        )
    with transaction.atomic():
        job = ImportJob.objects.create(
            organization=organization,
            kind=ImportKind.PAYROLL,
            file=file,
            original_name=name[:255],
            result={"period": period.isoformat()},
            created_by=acting_user if is_user(acting_user) else None,
        )
        record_audit(
            actor=acting_user,
            action="dues.payroll_uploaded",
            obj=job,
            organization=organization,
            changes={"period": period.strftime("%Y-%m")},
        )
        from ..tasks.dues import check_payroll_task

        transaction.on_commit(lambda: check_payroll_task.delay(job.pk))
    return job


@dataclass
class PayrollRow:
    row: int
    member_id: int
    wage: Decimal
    due: Decimal
    paid: Decimal | None
    paid_on: datetime.date | None
    method: str
    record: DuesRecord | None  # the member's existing record for the period


@dataclass
class _Cells:
    """One row's cells parsed without the database."""

    row: int
    key_column: str
    number: str = ""
    id_hash: str = ""
    wage: Decimal | None = None
    paid: Decimal | None = None
    paid_on: datetime.date | None = None
    method: str = ""
    ok: bool = True


def _codes(error: ValidationError) -> set:
    return (
        {e.code for e in error.error_list}
        if not hasattr(error, "error_dict")
        else {e.code for errors in error.error_dict.values() for e in errors}
    )


def _messages(error: ValidationError) -> str:
    return " ".join(str(m) for m in error.messages)


def _parse_cells(number: int, values: dict, errors: list) -> _Cells:
    """Parse one row's cells and append their errors (`cells.ok` is False if any)."""
    before = len(errors)

    def err(column, message):
        errors.append({"row": number, "column": column, "message": str(message)})

    def text(column):
        value = (values.get(column) or "").strip()
        if value and spreadsheets.is_formula(value):
            err(column, _("Formulas are not accepted; enter the value itself."))
            return None
        return value

    def amount(column):
        value = (values.get(column) or "").strip()
        if not value:
            return None
        try:
            return parse_amount(value, field=column)
        except ValidationError as error:
            if spreadsheets.is_formula(value) and _codes(error) == {"not_a_number"}:
                err(column, _("Formulas are not accepted; enter the value itself."))
            else:
                err(column, _messages(error))
            return None

    membership_number, id_text = text(COL_NUMBER), text(COL_ID)
    cells = _Cells(row=number, key_column=COL_NUMBER if membership_number else COL_ID)
    if membership_number:
        cells.number = membership_number.replace(" ", "")
    elif id_text:
        try:
            cells.id_hash = crypto.id_hash(validators.validate_id_number(id_text))
        except ValidationError as error:
            err(COL_ID, _messages(error))
    elif membership_number is not None and id_text is not None:
        err(COL_NUMBER, _("Give the membership number or the ID number."))
    if not (values.get(COL_WAGE) or "").strip():
        err(COL_WAGE, _("The monthly wage is required."))
    else:
        cells.wage = amount(COL_WAGE)
    cells.paid = amount(COL_PAID)
    date_text = text(COL_DATE)
    if date_text:
        try:
            cells.paid_on = _parse_date(date_text)
        except ValidationError as error:
            err(COL_DATE, _messages(error))
        else:
            if cells.paid_on > timezone.localdate():
                err(COL_DATE, _("A payment date cannot be in the future."))
            elif cells.paid is None and not (values.get(COL_PAID) or "").strip():
                err(COL_PAID, _("Give the amount paid on this date."))
    method_text = text(COL_METHOD)
    if method_text:
        try:
            cells.method = parse_method(method_text)
        except ValidationError as error:
            err(COL_METHOD, _messages(error))
    cells.ok = len(errors) == before
    return cells


class _PayrollCheck:
    """Checks a payroll file chunk by chunk; in `for_update` mode it also locks the rows."""

    def __init__(self, job: ImportJob, *, for_update: bool = False, progress: bool = False):
        self.job = job
        self.period = datetime.date.fromisoformat(job.result["period"])
        self.for_update = for_update
        self.progress = progress
        self.errors: list[dict] = []
        self.rows: list[PayrollRow] = []
        self.seen: dict[int, int] = {}  # member id → first row
        self.total = 0

    def run(self) -> None:
        # At most MAX_UPLOAD_BYTES: read once, parse from memory (twice with progress).
        with self.job.file.open("rb") as stored:
            data = stored.read()
        if self.progress:
            rows = self._table(io.BytesIO(data)).rows
            # Counting stops past the limit: the loop below refuses the file there anyway.
            self.job.total_rows = sum(
                1 for _row in itertools.islice(rows, spreadsheets.MAX_ROWS + 1)
            )
            self.job.processed_rows = 0
            self.job.save(update_fields=["total_rows", "processed_rows"])
        file = io.BytesIO(data)
        table = self._table(file)
        missing = [c for c in (COL_WAGE,) if c not in table.headers]
        if COL_NUMBER not in table.headers and COL_ID not in table.headers:
            missing.insert(0, f"{COL_NUMBER}/{COL_ID}")
        if missing:
            self.errors.append(
                {
                    "row": 1,
                    "column": ", ".join(missing),
                    "message": _("Required column missing: %(columns)s.")
                    % {"columns": ", ".join(missing)},
                }
            )
            return
        chunk = []
        for number, values in table.rows:
            self.total += 1
            if self.total > spreadsheets.MAX_ROWS:
                self.errors.append(
                    {
                        "row": number,
                        "column": "",
                        "message": _("A file has at most %(max)d rows; split it.")
                        % {"max": spreadsheets.MAX_ROWS},
                    }
                )
                return
            chunk.append((number, values))
            if len(chunk) == CHUNK:
                self._check_chunk(chunk)
                chunk = []
        if chunk:
            self._check_chunk(chunk)
        if self.total == 0:
            self.errors.append({"row": 2, "column": "", "message": _("The file has no data rows.")})

    def _table(self, file) -> spreadsheets.Table:
        return spreadsheets.read_table(file, self.job.original_name)

    def _check_chunk(self, chunk) -> None:
        parsed = [_parse_cells(n, v, self.errors) for n, v in chunk]
        numbers = {c.number for c in parsed if c.number}
        hashes = {c.id_hash for c in parsed if c.id_hash}
        members = Member.objects.filter(deleted_at__isnull=True).filter(
            Q(membership_number__in=numbers) | Q(id_hash__in=hashes)
        )
        if self.for_update:
            members = members.select_for_update(of=("self",))
        fetched = list(members.only("pk", "organization", "status", "membership_number", "id_hash"))
        by_number = {m.membership_number: m for m in fetched}
        by_hash = {m.id_hash: m for m in fetched}
        records = DuesRecord.objects.filter(
            member_id__in=[m.pk for m in fetched], period=self.period
        )
        if self.for_update:
            records = records.select_for_update()
        existing = {r.member_id: r for r in records}
        for cells in parsed:
            self._check_row(cells, by_number, by_hash, existing)
        if self.progress:
            self.job.processed_rows = self.total
            ImportJob.objects.filter(pk=self.job.pk).update(processed_rows=self.total)

    def _check_row(self, cells: _Cells, by_number, by_hash, existing) -> None:
        def err(column, message):
            self.errors.append({"row": cells.row, "column": column, "message": str(message)})

        if not (cells.number or cells.id_hash):
            return  # no usable membership number or ID number: already reported
        member = by_number.get(cells.number) if cells.number else by_hash.get(cells.id_hash)
        if member is None or member.organization_id != self.job.organization_id:
            # The same answer whether the person is unknown or a member elsewhere.
            err(cells.key_column, _("Not a member of this union."))
            return
        if member.status != MemberStatus.ACTIVE:
            err(cells.key_column, _("This membership is not active."))
            return
        if member.pk in self.seen:
            err(
                cells.key_column,
                _("This member already appears in row %(row)d.") % {"row": self.seen[member.pk]},
            )
            return
        self.seen[member.pk] = cells.row
        if not cells.ok:
            return  # its cell errors are reported; the amounts cannot be checked
        due = compute_dues(cells.wage)
        record = existing.get(member.pk)
        if record is not None and record.organization_id != self.job.organization_id:
            err(cells.key_column, _("This member's dues for the month are kept by another union."))
            return
        if cells.paid is not None and cells.paid > due:
            err(
                COL_PAID,
                _("More than the %(due)s yuan due for this wage.") % {"due": due},
            )
            return
        already = record.amount_paid if record is not None else Decimal(0)
        if cells.paid is not None and already > cells.paid:
            err(
                COL_PAID,
                _(
                    "%(paid)s yuan is already recorded as paid for this month, more than "
                    "the file says."
                )
                % {"paid": already},
            )
            return
        if cells.paid is None and already > due:
            err(
                COL_WAGE,
                _(
                    "%(paid)s yuan is already recorded as paid for this month, more than the "
                    "%(due)s yuan due for this wage."
                )
                % {"paid": already, "due": due},
            )
            return
        self.rows.append(
            PayrollRow(
                row=cells.row,
                member_id=member.pk,
                wage=cells.wage,
                due=due,
                paid=cells.paid,
                paid_on=cells.paid_on,
                method=cells.method,
                record=record,
            )
        )


def _finish_check(job: ImportJob, check: _PayrollCheck) -> None:
    # Cell errors and member errors of a chunk are found in two passes: list them by row.
    check.errors.sort(key=lambda e: e["row"] or 0)
    job.errors = check.errors[:MAX_STORED_ERRORS]
    job.status = ImportStatus.INVALID if check.errors else ImportStatus.VALIDATED
    job.total_rows = check.total
    job.processed_rows = check.total
    job.result = {**job.result, "rows": check.total, "error_count": len(check.errors)}
    if check.errors:
        job.finished_at = timezone.now()
    job.save(
        update_fields=["errors", "status", "total_rows", "processed_rows", "result", "finished_at"]
    )


def _fail(job: ImportJob, message: str) -> None:
    job.status = ImportStatus.FAILED
    job.errors = [{"row": None, "column": "", "message": message}]
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "errors", "finished_at"])


def _discard_file(job: ImportJob) -> None:
    """Uploads hold plaintext ID numbers: delete the file once the job is over."""
    if job.file:
        job.file.delete(save=False)
        ImportJob.objects.filter(pk=job.pk).update(file="")


def check_payroll_file(*, job: ImportJob) -> None:
    """Check a whole payroll file and store every row error on the job; writes no dues."""
    if job.kind != ImportKind.PAYROLL:
        raise ValueError("not a payroll import")
    started = ImportJob.objects.filter(
        pk=job.pk, status__in=[ImportStatus.UPLOADED, ImportStatus.VALIDATING]
    ).update(status=ImportStatus.VALIDATING, processed_rows=0)
    if not started:
        return  # already checked (a redelivered task)
    job.refresh_from_db()
    check = _PayrollCheck(job, progress=True)
    try:
        check.run()
    except spreadsheets.SpreadsheetError as error:
        check.errors = [{"row": None, "column": "", "message": str(error)}]
    except Exception:
        logger.exception("payroll check failed for import job %s", job.pk)
        _fail(job, _("The file could not be checked. Try again, or contact support."))
        raise
    _finish_check(job, check)
    if job.status == ImportStatus.INVALID:
        _discard_file(job)


def confirm_payroll_file(*, job: ImportJob, acting_user=None) -> ImportJob:
    """The user confirms a checked file without errors: import it in the background."""
    require_wage_admin(acting_user, job.organization)
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.kind != ImportKind.PAYROLL or locked.status != ImportStatus.VALIDATED:
            raise ValidationError(_("Only a checked file without errors can be imported."))
        locked.status = ImportStatus.IMPORTING
        locked.result = {
            **locked.result,
            "confirmed_by": acting_user.pk if is_user(acting_user) else None,
        }
        locked.save(update_fields=["status", "result"])
        record_audit(
            actor=acting_user,
            action="dues.payroll_confirmed",
            obj=locked,
            organization=locked.organization,
        )
        from ..tasks.dues import apply_payroll_task

        transaction.on_commit(lambda: apply_payroll_task.delay(locked.pk))
    return locked


def apply_confirmed_payroll(*, job: ImportJob) -> None:
    """Run a confirmed import as the user who confirmed it (the background task's work)."""
    if job.kind != ImportKind.PAYROLL or job.status != ImportStatus.IMPORTING:
        return  # not confirmed, or already finished (a redelivered task)
    user_id = job.result.get("confirmed_by")
    user = None
    if user_id is not None:
        user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
        if user is None:
            _fail(job, _("The person who confirmed this import can no longer import."))
            return
    try:
        apply_payroll_file(job=job, acting_user=user)
    except (PermissionDenied, ValidationError) as error:
        message = str(error) if isinstance(error, PermissionDenied) else _messages(error)
        _fail(job, message or _("You may not do this."))


def apply_payroll_file(*, job: ImportJob, acting_user=None) -> ImportJob:
    """Re-check a checked payroll file and write it in one transaction: wage bases, the
    period's dues records and payments. All or nothing; errors found now are stored."""
    require_wage_admin(acting_user, job.organization)
    try:
        with transaction.atomic():
            locked = ImportJob.objects.select_for_update().get(pk=job.pk)
            if locked.kind != ImportKind.PAYROLL or locked.status not in (
                ImportStatus.VALIDATED,
                ImportStatus.IMPORTING,
            ):
                if locked.status == ImportStatus.DONE:
                    return locked  # a redelivered task: already imported
                raise ValidationError(_("Only a checked file without errors can be imported."))
            lock_union(locked.organization)
            check = _PayrollCheck(locked, for_update=True)
            try:
                check.run()
            except spreadsheets.SpreadsheetError as error:
                check.errors = [{"row": None, "column": "", "message": str(error)}]
            if check.errors:
                _finish_check(locked, check)
                transaction.on_commit(lambda: _discard_file(locked))
                return locked
            result = _write_payroll(locked, check.rows, acting_user)
            locked.status = ImportStatus.DONE
            locked.errors = []
            locked.total_rows = locked.processed_rows = check.total
            locked.finished_at = timezone.now()
            locked.result = {**locked.result, "rows": check.total, "error_count": 0, **result}
            locked.save()
            record_audit(
                actor=acting_user,
                action="dues.payroll_imported",
                obj=locked,
                organization=locked.organization,
                changes={
                    "fields": ["wage_base", "amount_due", "amount_paid", "paid_on", "method"],
                    **result,
                },
            )
            transaction.on_commit(lambda: _discard_file(locked))
    except ValidationError:
        raise
    except Exception:
        logger.exception("payroll import failed for import job %s", job.pk)
        _fail(job, _("The import failed and nothing was written. Try again, or contact support."))
        raise
    job.refresh_from_db()
    return job


def _write_payroll(job: ImportJob, rows: list[PayrollRow], acting_user) -> dict:
    now = timezone.now()
    today = timezone.localdate()
    user = acting_user if is_user(acting_user) else None
    current = dict(
        Member.objects.filter(pk__in=[r.member_id for r in rows]).values_list("pk", "wage_base")
    )
    changed_members = [
        Member(pk=r.member_id, wage_base=r.wage, updated_at=now)
        for r in rows
        if current.get(r.member_id) != r.wage
    ]
    Member.objects.bulk_update(changed_members, ["wage_base", "updated_at"], batch_size=1000)
    new_records, updated_records, payments = [], [], 0
    delta: Counter = Counter()
    for r in rows:
        if r.record is not None:  # locked by the re-check: its values are current
            delta.subtract(record_counters(r.record))
        record = r.record or DuesRecord(
            member_id=r.member_id,
            organization_id=job.organization_id,
            period=datetime.date.fromisoformat(job.result["period"]),
            amount_paid=Decimal(0),
        )
        record.wage_base = r.wage
        record.amount_due = r.due
        record.recorded_by = user
        record.updated_at = now
        if r.paid is not None and r.paid != record.amount_paid:
            record.amount_paid = r.paid
            if r.paid > 0:
                record.paid_on = r.paid_on or today
                record.method = r.method or PaymentMethod.PAYROLL
            payments += 1
        delta.update(record_counters(record))
        (updated_records if r.record else new_records).append(record)
    DuesRecord.objects.bulk_create(new_records, batch_size=1000)
    DuesRecord.objects.bulk_update(
        updated_records,
        [
            "wage_base",
            "amount_due",
            "amount_paid",
            "paid_on",
            "method",
            "recorded_by",
            "updated_at",
        ],
        batch_size=1000,
    )
    counters.adjust(delta)
    return {
        "wage_bases_changed": len(changed_members),
        "dues_created": len(new_records),
        "dues_updated": len(updated_records),
        "payments": payments,
    }
