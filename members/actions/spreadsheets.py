"""Member spreadsheets: the import template, import jobs (check, confirm, run) and export.

An import is a job (`ImportJob`, kind "members"): the uploaded file is checked whole in
the background, every bad row reported with its row number, column and reason, and nothing
is written until an administrator confirms. The run checks the file again (the database may
have changed in between) and writes all rows in one transaction, or nothing. Rows whose
person is already a member of the same union are left unchanged, so importing a file twice
creates no duplicates. The uploaded file holds personal data: it is deleted from storage
as soon as the job can go no further.

`RowChecker`, `checked_chunks` and `bulk_enrol` are shared with the legacy migration
command (`import_legacy_members`).
"""

from __future__ import annotations

import dataclasses
import datetime
import io
import re
import types
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation
from stdnum.cn import ric

from core import bulk
from core.audit import record_audit
from notifications import kinds
from notifications.actions import link_for, notify_on_commit
from organizations import counters, scope
from organizations.models import Level, Organization, OrgStatus
from organizations.validators import normalize_uscc

from .. import crypto, spreadsheets, validators
from ..models import (
    CURRENT_STATUSES,
    Education,
    EmploymentType,
    EventKind,
    ImportJob,
    ImportKind,
    ImportStatus,
    Member,
    MembershipEvent,
    MemberStatus,
)
from . import (
    apply_person,
    check_member_union,
    clean_person,
    counter_delta,
    event_counter_keys,
    keeps_member_records,
    new_card_numbers,
    new_membership_numbers,
    require_member_admin,
)

__all__ = [
    "COLUMNS",
    "EXPORT_HEADERS",
    "RowChecker",
    "bulk_enrol",
    "cancel_member_import",
    "check_member_import",
    "checked_chunks",
    "confirm_member_import",
    "export_members",
    "fail_member_import",
    "import_errors_xlsx",
    "run_member_import",
    "start_member_import",
    "template_xlsx",
]

kinds.register(
    "members.import_status",
    gettext_lazy("Member import “%(file)s”: %(status)s"),
    gettext_lazy("Open the import to see the row report."),
)

# --- Values as people write them in Chinese spreadsheets ---------------------------------

# GB 3304 names of the ethnic groups, in the order (and with the codes) of models.ETHNICITIES.
ETHNICITY_NAMES = {
    "01": "汉族", "02": "蒙古族", "03": "回族", "04": "藏族", "05": "维吾尔族", "06": "苗族",
    "07": "彝族", "08": "壮族", "09": "布依族", "10": "朝鲜族", "11": "满族", "12": "侗族",
    "13": "瑶族", "14": "白族", "15": "土家族", "16": "哈尼族", "17": "哈萨克族", "18": "傣族",
    "19": "黎族", "20": "傈僳族", "21": "佤族", "22": "畲族", "23": "高山族", "24": "拉祜族",
    "25": "水族", "26": "东乡族", "27": "纳西族", "28": "景颇族", "29": "柯尔克孜族",
    "30": "土族", "31": "达斡尔族", "32": "仫佬族", "33": "羌族", "34": "布朗族",
    "35": "撒拉族", "36": "毛南族", "37": "仡佬族", "38": "锡伯族", "39": "阿昌族",
    "40": "普米族", "41": "塔吉克族", "42": "怒族", "43": "乌孜别克族", "44": "俄罗斯族",
    "45": "鄂温克族", "46": "德昂族", "47": "保安族", "48": "裕固族", "49": "京族",
    "50": "塔塔尔族", "51": "独龙族", "52": "鄂伦春族", "53": "赫哲族", "54": "门巴族",
    "55": "珞巴族", "56": "基诺族", "97": "其他", "98": "外国血统中国籍人士",
}  # fmt: skip
EDUCATION_NAMES = {
    Education.JUNIOR_HIGH: "初中及以下",
    Education.SENIOR_HIGH: "高中中专",
    Education.COLLEGE: "大专",
    Education.BACHELOR: "本科",
    Education.MASTER: "硕士",
    Education.DOCTORATE: "博士",
}
EMPLOYMENT_NAMES = {
    EmploymentType.FULL_TIME: "全日制",
    EmploymentType.PART_TIME: "非全日制",
    EmploymentType.DISPATCHED: "劳务派遣",
    EmploymentType.FLEXIBLE: "灵活就业",
    EmploymentType.DELIVERY_RIDER: "外卖骑手",
    EmploymentType.RIDE_HAILING: "网约车司机",
    EmploymentType.COURIER: "快递员",
    EmploymentType.TRUCK_DRIVER: "货车司机",
    EmploymentType.DOMESTIC: "家政服务员",
    EmploymentType.OTHER_NEW_FORM: "其他新就业形态",
}
GENDER_NAMES = {"male": "男", "female": "女"}
STATUS_NAMES = {
    MemberStatus.ACTIVE: "在会",
    MemberStatus.RETAINED: "保留会籍",
    MemberStatus.WITHDRAWN: "退会",
    MemberStatus.EXPELLED: "除名",
    MemberStatus.DECEASED: "已故",
}


def _lookup(names: dict, aliases: dict | None = None) -> dict[str, str]:
    """Accepted spellings (the Chinese name, the code, a few common variants) → code."""
    table = {str(code).lower(): str(code) for code in names}
    table |= {name: str(code) for code, name in names.items()}
    table |= aliases or {}
    return table


_CHOICE_LOOKUP = {
    "ethnicity": _lookup(
        ETHNICITY_NAMES,
        {name.removesuffix("族"): code for code, name in ETHNICITY_NAMES.items() if code < "97"}
        | {"其它": "97"},
    ),
    "education": _lookup(
        EDUCATION_NAMES,
        {
            "初中": "junior_high",
            "小学": "junior_high",
            "初中以下": "junior_high",
            "高中": "senior_high",
            "中专": "senior_high",
            "高中/中专": "senior_high",
            "高中、中专": "senior_high",
            "职高": "senior_high",
            "技校": "senior_high",
            "专科": "college",
            "大学本科": "bachelor",
            "研究生": "master",
            "硕士研究生": "master",
            "博士研究生": "doctorate",
        },
    ),
    "employment_type": _lookup(EMPLOYMENT_NAMES),
    "gender": _lookup(GENDER_NAMES, {"男性": "male", "女性": "female"}),
}


def _choice(field: str, text: str) -> str | None:
    text = re.sub(r"\s+", "", text)
    if field == "ethnicity" and text.isdigit():
        text = text.zfill(2)
    return _CHOICE_LOOKUP[field].get(text) or _CHOICE_LOOKUP[field].get(text.lower())


# --- Columns ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Column:
    header: str  # as in the template; the file format is Chinese whatever the UI language
    field: str
    required: bool
    help: str
    aliases: tuple[str, ...] = ()


UNION_HEADER = "所属工会代码"
INSTRUCTIONS_SHEET = "填写说明"
DATE_HELP = gettext_lazy("A date as YYYY-MM-DD, e.g. 2024-03-01.")

COLUMNS: tuple[Column, ...] = (
    Column("姓名", "name", True, gettext_lazy("As written on the resident ID card.")),
    Column(
        "身份证号",
        "id_number",
        True,
        gettext_lazy("The 18-character resident ID number. Format the column as text."),
        ("身份证号码", "公民身份号码", "身份证"),
    ),
    Column(
        "手机号",
        "phone",
        True,
        gettext_lazy("A mainland China mobile number of 11 digits."),
        ("手机号码", "手机", "联系电话"),
    ),
    Column(
        "民族",
        "ethnicity",
        False,
        gettext_lazy("One of the values listed on the right, or its two-digit code; empty: 汉族."),
    ),
    Column(
        "学历",
        "education",
        False,
        gettext_lazy("One of the values listed on the right."),
        ("文化程度",),
    ),
    Column("工作单位", "employer", True, gettext_lazy("The employer (work unit)."), ("单位名称",)),
    Column("职务/岗位", "job", False, gettext_lazy("Job title or position."), ("职务", "岗位")),
    Column(
        "用工形式",
        "employment_type",
        False,
        gettext_lazy("One of the values listed on the right; empty: 全日制."),
    ),
    Column(
        "入会日期",
        "join_date",
        False,
        gettext_lazy("A date as YYYY-MM-DD, not in the future; empty: the day of the import."),
        ("入会时间",),
    ),
    Column(
        "性别",
        "gender",
        False,
        gettext_lazy("男 or 女; optional, checked against the ID number."),
    ),
    Column(
        "出生日期",
        "birth_date",
        False,
        gettext_lazy("A date as YYYY-MM-DD; optional, checked against the ID number."),
    ),
    Column(
        UNION_HEADER,
        "union_code",
        False,
        gettext_lazy(
            "The unified social credit code of the grassroots union the member belongs to; "
            "empty: the union chosen when uploading."
        ),
        ("工会代码", "工会统一社会信用代码"),
    ),
)
HEADERS = [c.header for c in COLUMNS]
_BY_FIELD = {c.field: c for c in COLUMNS}
EXPORT_HEADERS = [*HEADERS, "会员编号", "会籍状态", "所属工会"]

# A valid-looking, fictitious person for the template's example row (北京市朝阳区, 1990-03-07).
_EXAMPLE_ID_BODY = "11010519900307123"
EXAMPLE_ID_NUMBER = _EXAMPLE_ID_BODY + ric.calc_check_digit(_EXAMPLE_ID_BODY + "0")

# A phone written in international form, e.g. +86 138 0013 8000, is a number, not a formula.
_PHONE_WITH_PLUS = re.compile(r"\+[\d\s-]+")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
_EXCEL_EPOCH = datetime.date(1899, 12, 30)

# Rows per progress update while checking, and per bulk insert while writing.
PROGRESS_EVERY = 500
WRITE_BATCH = 2000
# Errors shown on the job page; the downloadable report has all of them.
ERRORS_SHOWN = 1000


def _normalize_header(text: str) -> str:
    return re.sub(r"[\s*＊]", "", str(text or "")).replace("／", "/")


def _parse_date(text: str) -> datetime.date | None:
    text = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}T[\d:.]+", text):  # a date cell read with a time
        text = text[:10]
    if re.fullmatch(r"\d{5}", text):  # an Excel serial day number in a General cell
        return _EXCEL_EPOCH + datetime.timedelta(days=int(text))
    for fmt in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


# --- Checking rows --------------------------------------------------------------------------

CREATE, UNCHANGED, SKIP = "create", "unchanged", "skip"


@dataclasses.dataclass
class CheckedRow:
    number: int
    errors: list[dict]
    data: dict | None = None  # clean_person's result
    union: Organization | None = None
    join_date: datetime.date | None = None
    id_hash: str = ""
    outcome: str = ""  # CREATE, UNCHANGED or SKIP once classified; "" while bad

    @property
    def ok(self) -> bool:
        return not self.errors


class FileError(Exception):
    """The file as a whole cannot be imported; carries the file-level error entries."""

    def __init__(self, errors: list[dict]):
        super().__init__(errors)
        self.errors = errors

    @classmethod
    def of(cls, message, code: str, column: str = "") -> FileError:
        return cls([_error(1, column, message, code)])


# Error codes (for programs reading the report) of clean_person's errors, by field.
_ERROR_CODES = {
    "name": "bad_name",
    "phone": "bad_phone",
    "gender": "gender_mismatch",
    "birth_date": "birth_date_mismatch",
}


def _id_error_code(text: str) -> str:
    try:
        validators.validate_id_number(text)
    except ValidationError as error:
        return error.code or "bad_id_number"
    return "bad_id_number"


def _valid_id_number(text: str) -> str:
    try:
        return validators.validate_id_number(text)
    except ValidationError:
        return ""


def _error(row: int, column: str, message, code: str) -> dict:
    return {"row": row, "column": column, "message": str(message), "code": code}


class RowChecker:
    """Checks rows of a member spreadsheet, one file at a time.

    `user` is the uploader, whose scope limits the unions rows may name; `system=True` (the
    migration command) allows any active grassroots union. `on_existing` decides what a
    person who is already a member becomes: "report" (the import: unchanged in the same
    union, an error elsewhere) or "skip" (the migration: skipped wherever they are).
    """

    def __init__(
        self,
        *,
        user=None,
        default_union: Organization | None = None,
        system: bool = False,
        on_existing: str = "report",
        union_header: str = UNION_HEADER,
        today: datetime.date | None = None,
    ):
        self.user = user
        self.system = system
        self.default_union = default_union
        self.on_existing = on_existing
        self.union_header = union_header
        self.today = today or timezone.localdate()
        self.columns: dict[str, str] = {}  # field → the header used in the file
        self.union_ids: set[int] = set()
        self._unions: dict[str, Organization | ValidationError] = {}
        # First row of each ID number seen, keyed by 64 bits of its HMAC (memory stays
        # small for millions of rows; a collision would only report a false duplicate).
        self._first_row: dict[int, int] = {}

    # Headers -----------------------------------------------------------------------------

    def bind(self, headers: Iterable[str]) -> None:
        """Map the file's headers to fields; FileError when a required column is missing."""
        names = {}
        for column in COLUMNS:
            header = self.union_header if column.field == "union_code" else column.header
            names[_normalize_header(header)] = column.field
            if column.field != "union_code" or self.union_header == UNION_HEADER:
                for alias in column.aliases:
                    names.setdefault(_normalize_header(alias), column.field)
        self.columns = {}
        for header in headers:
            field = names.get(_normalize_header(header))
            if field is None:
                continue  # columns we do not know are ignored
            if field in self.columns:
                message = _("The column “%(column)s” appears twice.") % {"column": header}
                raise FileError.of(message, "duplicate_column", header)
            self.columns[field] = header
        missing = [c.header for c in COLUMNS if c.required and c.field not in self.columns]
        if "union_code" not in self.columns and self.default_union is None:
            missing.append(self.union_header)
        if missing:
            columns = "、".join(missing)
            message = _(
                "Required columns are missing: %(columns)s. Use the headers of the template."
            ) % {"columns": columns}
            raise FileError.of(message, "missing_column", columns)

    def header_of(self, field: str) -> str:
        if field in self.columns:
            return self.columns[field]
        return self.union_header if field == "union_code" else _BY_FIELD[field].header

    # Unions ------------------------------------------------------------------------------

    def union_for(self, code: str) -> Organization:
        """The row's union (by credit code, else the default), or ValidationError."""
        key = normalize_uscc(re.sub(r"\s+", "", code))  # as Organization stores it
        cached = self._unions.get(key)
        if cached is None:
            try:
                cached = self._find_union(key)
            except ValidationError as error:
                cached = error
            self._unions[key] = cached
        if isinstance(cached, ValidationError):
            raise cached
        return cached

    def _find_union(self, code: str) -> Organization:
        if not code:
            if self.default_union is None:
                raise ValidationError(_("Enter the union's credit code."), code="required")
            union = Organization.objects.get(pk=self.default_union.pk)
        else:
            union = Organization.objects.filter(uscc=code).first()
            if union is None or union.level != Level.GRASSROOTS:
                raise ValidationError(
                    _("No grassroots union has the credit code %(code)s.") % {"code": code[:18]},
                    code="unknown_union",
                )
        if union.status != OrgStatus.ACTIVE or union.level != Level.GRASSROOTS:
            raise ValidationError(
                _("%(union)s is not an active grassroots union.") % {"union": union.name},
                code="unknown_union",
            )
        if not self.system and not keeps_member_records(self.user, union):
            raise ValidationError(
                _("You do not keep the member records of %(union)s.") % {"union": union.name},
                code="union_out_of_scope",
            )
        return union

    # Rows --------------------------------------------------------------------------------

    def check_row(self, number: int, values: dict[str, str]) -> CheckedRow:
        """Check one row on its own (and against earlier rows of the file)."""
        row = CheckedRow(number=number, errors=[])
        bad: set[str] = set()

        def add(field, message, code):
            row.errors.append(_error(row.number, self.header_of(field), message, code))
            bad.add(field)

        raw = {field: (values.get(header) or "").strip() for field, header in self.columns.items()}
        for field, text in raw.items():
            if spreadsheets.is_formula(text) and not (
                field == "phone" and _PHONE_WITH_PLUS.fullmatch(text)
            ):
                add(
                    field, _("Formulas are not accepted; enter the value as plain text."), "formula"
                )
        for column in COLUMNS:
            if column.required and column.field not in bad and not raw.get(column.field):
                add(column.field, _("This column is required; the cell is empty."), "required")

        person: dict = {
            f: raw.get(f, "") for f in ("name", "id_number", "phone", "employer", "job")
        }
        for field in ("ethnicity", "education", "employment_type", "gender"):
            text = raw.get(field, "")
            if not text or field in bad:
                continue
            value = _choice(field, text)
            if value is None:
                add(
                    field,
                    _("“%(value)s” is not one of the allowed values (see the sheet %(sheet)s).")
                    % {"value": text[:20], "sheet": INSTRUCTIONS_SHEET},
                    "unknown_choice",
                )
            else:
                person[field] = value
        dates = {}
        for field in ("join_date", "birth_date"):
            text = raw.get(field, "")
            if not text or field in bad:
                continue
            dates[field] = _parse_date(text)
            if dates[field] is None:
                add(field, _("Enter the date as YYYY-MM-DD, e.g. 2024-03-01."), "bad_date")
        if dates.get("birth_date"):
            person["birth_date"] = dates["birth_date"]

        try:
            row.data = clean_person(person)
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                if field not in bad:
                    code = _ERROR_CODES.get(field, "invalid")
                    if field == "id_number":
                        code = _id_error_code(person["id_number"])
                    for message in messages:
                        add(field, message, code)
            row.data = None

        if row.data is not None and row.data["id_number"] == EXAMPLE_ID_NUMBER:
            add(
                "id_number",
                _("This is the template's example row; delete it before uploading."),
                "example_row",
            )
        if "union_code" not in bad:
            try:
                row.union = self.union_for(raw.get("union_code", ""))
            except ValidationError as error:
                add("union_code", error.messages[0], error.code or "invalid")
        if "join_date" not in bad:
            row.join_date = dates.get("join_date") or self.today
            if row.join_date > self.today:
                add("join_date", _("The join date cannot be in the future."), "future_date")
            elif row.data is not None and row.join_date < validators.birth_date_of(
                row.data["id_number"]
            ):
                add("join_date", _("The join date is before the birth date."), "before_birth")

        if "id_number" not in bad:
            id_number = row.data["id_number"] if row.data else _valid_id_number(person["id_number"])
            if id_number:
                self._check_duplicate(row, id_number, add)
        return row

    def _check_duplicate(self, row: CheckedRow, id_number: str, add) -> None:
        row.id_hash = crypto.id_hash(id_number)
        key = int(row.id_hash[:16], 16)
        first = self._first_row.setdefault(key, row.number)
        if first != row.number:
            add(
                "id_number",
                _("The same ID number is already in row %(row)d.") % {"row": first},
                "duplicate_row",
            )

    def classify(self, rows: list[CheckedRow]) -> None:
        """Decide create / unchanged / skip for the good rows: one query per chunk."""
        good = [r for r in rows if r.ok]
        existing = {
            id_hash: (org_id, status)
            for id_hash, org_id, status in Member.objects.filter(
                id_hash__in=[r.id_hash for r in good], deleted_at__isnull=True
            ).values_list("id_hash", "organization_id", "status")
        }
        for row in good:
            found = existing.get(row.id_hash)
            if found is None:
                row.outcome = CREATE
                self.union_ids.add(row.union.pk)
            elif self.on_existing == "skip":
                row.outcome = SKIP
            elif found[0] == row.union.pk:
                row.outcome = UNCHANGED
            elif found[1] in CURRENT_STATUSES:
                row.errors.append(
                    _error(
                        row.number,
                        self.header_of("id_number"),
                        _(
                            "This person is a member of another union; start a transfer "
                            "instead of importing them."
                        ),
                        "member_elsewhere",
                    )
                )
            else:
                row.errors.append(
                    _error(
                        row.number,
                        self.header_of("id_number"),
                        _(
                            "This person's earlier membership in another union has ended; "
                            "they rejoin through a join application."
                        ),
                        "former_member",
                    )
                )


def checked_chunks(table: spreadsheets.Table, checker: RowChecker, size: int) -> Iterator[list]:
    """The table's rows, checked and classified, in chunks of `size` (FileError first)."""
    checker.bind(table.headers)
    chunk: list[CheckedRow] = []
    for number, values in table.rows:
        chunk.append(checker.check_row(number, values))
        if len(chunk) >= size:
            checker.classify(chunk)
            yield chunk
            chunk = []
    if chunk:
        checker.classify(chunk)
        yield chunk


# --- Writing --------------------------------------------------------------------------------


def bulk_enrol(rows: list[CheckedRow], *, actor=None) -> tuple[list[Member], Counter]:
    """Insert members for checked rows with their JOINED events; returns the counter delta.

    Call inside a transaction, which must also apply the delta (`counters.adjust`).
    """
    now = timezone.now()
    members = []
    by_year: dict[int, list[Member]] = defaultdict(list)
    for row in rows:
        member = Member(
            organization=row.union,
            join_date=row.join_date,
            status=MemberStatus.ACTIVE,
            card_issued_at=now,
        )
        apply_person(member, row.data)
        members.append(member)
        by_year[member.join_date.year].append(member)
    for year, group in by_year.items():
        for member, number in zip(group, new_membership_numbers(len(group), year), strict=True):
            member.membership_number = number
    for member, number in zip(members, new_card_numbers(len(members)), strict=True):
        member.card_number = number
    bulk.insert(Member, members)
    actor = actor if getattr(actor, "is_authenticated", False) else None
    events = [
        MembershipEvent(
            member=member,
            kind=EventKind.JOINED,
            actor=actor,
            to_status=MemberStatus.ACTIVE,
            to_organization_id=member.organization_id,
            effective_on=member.join_date,
        )
        for member in members
    ]
    bulk.insert(MembershipEvent, events)
    delta = counter_delta([], members)
    for event in events:
        for key in event_counter_keys(event):
            delta[key] += 1
    return members, delta


# --- Import jobs ----------------------------------------------------------------------------

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
ACTIVE_STATUSES = (ImportStatus.UPLOADED, ImportStatus.VALIDATING, ImportStatus.VALIDATED)


def start_member_import(*, organization: Organization, uploaded_file, acting_user) -> ImportJob:
    """Store an uploaded member spreadsheet and check it in the background."""
    require_member_admin(acting_user, organization)
    check_member_union(organization)
    original = str(getattr(uploaded_file, "name", "") or "").replace("\\", "/").rsplit("/", 1)[-1]
    extension = original.rsplit(".", 1)[-1].lower() if "." in original else ""
    if extension not in ("xlsx", "csv"):
        raise ValidationError({"file": [_("Upload an .xlsx or .csv file.")]})
    if getattr(uploaded_file, "size", 0) > MAX_UPLOAD_BYTES:
        raise ValidationError({"file": [_("The file is larger than 50 MB; split it.")]})
    from ..tasks.spreadsheets import check_member_import_task

    with transaction.atomic():
        job = ImportJob(
            organization=organization,
            kind=ImportKind.MEMBERS,
            original_name=original[:255],
            created_by=acting_user,
        )
        # A random stored name: the original may carry personal data.
        job.file.save(f"{uuid.uuid4().hex}.{extension}", uploaded_file, save=False)
        job.save()
        transaction.on_commit(lambda: check_member_import_task.delay(job.pk))
    return job


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
        result.errors.append(_error(result.rows + 1, "", str(error), "unreadable"))
    if not result.errors and result.rows == 0:
        result.errors = [_error(1, "", _("The file has no data rows."), "empty")]
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
            _discard_file(job)
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


def run_member_import(*, job: ImportJob) -> ImportJob:
    """Check the file again and write all its new members in one transaction, or none."""
    job.refresh_from_db()
    if job.kind != ImportKind.MEMBERS or job.status != ImportStatus.IMPORTING:
        return job
    # Check first, outside the write transaction, so that progress is visible (and kept).
    scan = _scan(job, job.total_rows)
    if scan.errors:
        return _end(job, ImportStatus.FAILED, errors=scan.errors, result=scan.summary())
    created = unchanged = 0
    try:
        with transaction.atomic():
            checker = _checker_for(job)
            delta: Counter = Counter()
            with _open(job) as file:
                for chunk in checked_chunks(_read(job, file), checker, WRITE_BATCH):
                    errors = [e for row in chunk for e in row.errors]
                    if errors:
                        raise _Changed(errors)
                    new = [row for row in chunk if row.outcome == CREATE]
                    unchanged += sum(row.outcome == UNCHANGED for row in chunk)
                    if new:
                        _members, batch_delta = bulk_enrol(new, actor=job.created_by)
                        delta.update(batch_delta)
                        created += len(new)
            counters.adjust(delta)
            record_audit(
                actor=job.created_by,
                action="member.imported",
                obj=job,
                organization=job.organization,
                changes={"created": created},
            )
            result = {**scan.summary(), "created": created, "unchanged": unchanged}
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
            errors=[_error(1, "", message, "conflict")],
            result=scan.summary(),
        )
    job.refresh_from_db()
    _notify(job)
    return job


def _end(job, status, *, errors=None, result=None, notify_now=True) -> ImportJob:
    fields = {"status": status, "finished_at": timezone.now()}
    if errors is not None:
        fields["errors"] = errors
    if result is not None:
        fields["result"] = result
    if status == ImportStatus.DONE:
        fields["processed_rows"] = job.total_rows
    ImportJob.objects.filter(pk=job.pk).update(**fields)
    job.refresh_from_db()
    _discard_file(job)
    if notify_now:
        _notify(job)
    return job


def cancel_member_import(*, job: ImportJob, acting_user) -> ImportJob:
    """Drop an upload that has not started importing; its file is deleted."""
    require_member_admin(acting_user, job.organization)
    updated = ImportJob.objects.filter(
        pk=job.pk, kind=ImportKind.MEMBERS, status__in=ACTIVE_STATUSES
    ).update(status=ImportStatus.CANCELLED, finished_at=timezone.now())
    if not updated:
        raise ValidationError(_("This import can no longer be cancelled."), code="not_cancellable")
    job.refresh_from_db()
    _discard_file(job)
    return job


def fail_member_import(job_id: int) -> None:
    """Mark a job failed after an unexpected error (its transaction was rolled back)."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None or job.status in (
        ImportStatus.DONE,
        ImportStatus.CANCELLED,
        ImportStatus.INVALID,
    ):
        return
    message = _(
        "The import stopped because of an unexpected error; nothing was written. Try again "
        "later or contact the platform operator."
    )
    _end(job, ImportStatus.FAILED, errors=[_error(1, "", message, "internal")])


def _discard_file(job: ImportJob) -> None:
    """Delete the uploaded file (personal data) once the state change is committed."""
    if not job.file:
        return
    name, storage, pk = job.file.name, job.file.storage, job.pk

    def delete():
        storage.delete(name)
        ImportJob.objects.filter(pk=pk, file=name).update(file="")

    transaction.on_commit(delete)


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
    return spreadsheets.write_xlsx(
        [_("Row"), _("Column"), _("Reason")],
        ((e.get("row"), e.get("column", ""), e.get("message", "")) for e in job.errors or []),
        sheet_title=str(_("Errors")),
    )


# --- Template -------------------------------------------------------------------------------


def template_xlsx() -> bytes:
    """The import template: headers, an example row, and the sheet of allowed values."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "会员信息"
    sheet.append(HEADERS)
    today = timezone.localdate()
    sheet.append(
        [
            "张三",
            EXAMPLE_ID_NUMBER,
            "13800138000",
            "汉族",
            "本科",
            "示例科技有限公司",
            "工程师",
            "全日制",
            today.replace(day=1).isoformat(),
            "男",
            "1990-03-07",
            "",
        ]
    )
    bold = Font(bold=True)
    for index, column in enumerate(COLUMNS, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = bold
        letter = cell.column_letter
        sheet.column_dimensions[letter].width = 22 if column.field != "union_code" else 26
        # Text columns: Excel must not turn an ID number into 1.10105E+17 or drop zeros.
        sheet.column_dimensions[letter].number_format = "@"
    sheet.freeze_panes = "A2"

    notes = workbook.create_sheet(INSTRUCTIONS_SHEET)
    notes.append([str(_("Column")), str(_("Required")), str(_("How to fill it in"))])
    for column in COLUMNS:
        notes.append(
            [column.header, str(_("yes") if column.required else _("no")), str(column.help)]
        )
    notes.append([])
    notes.append([str(_("Delete the example row before uploading. Row 1 must keep the headers."))])
    lists = {
        "民族": list(ETHNICITY_NAMES.values()),
        "学历": list(EDUCATION_NAMES.values()),
        "用工形式": list(EMPLOYMENT_NAMES.values()),
        "性别": list(GENDER_NAMES.values()),
    }
    for offset, (header, values) in enumerate(lists.items()):
        col = 5 + offset
        notes.cell(row=1, column=col, value=header).font = bold
        for row, value in enumerate(values, start=2):
            notes.cell(row=row, column=col, value=value)
        letter = notes.cell(row=1, column=col).column_letter
        notes.column_dimensions[letter].width = 20
        # A drop-down list in the data sheet, fed from this column.
        target = sheet.cell(row=1, column=HEADERS.index(header) + 1).column_letter
        validation = DataValidation(
            type="list",
            formula1=f"'{INSTRUCTIONS_SHEET}'!${letter}$2:${letter}${len(values) + 1}",
            allow_blank=True,
        )
        sheet.add_data_validation(validation)
        validation.add(f"{target}2:{target}{spreadsheets.MAX_ROWS + 1}")
    for header_cell in notes[1]:
        header_cell.font = bold
    notes.column_dimensions["A"].width = 16
    notes.column_dimensions["C"].width = 80
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- Export ---------------------------------------------------------------------------------


def _export_row(member: Member) -> list:
    org = member.organization
    return [
        member.name,
        member.id_masked,
        member.phone_masked,
        ETHNICITY_NAMES.get(member.ethnicity, member.ethnicity),
        EDUCATION_NAMES.get(member.education, member.education),
        member.employer,
        member.job,
        EMPLOYMENT_NAMES.get(member.employment_type, member.employment_type),
        member.join_date.isoformat(),
        GENDER_NAMES.get(member.gender, member.gender),
        member.birth_date.isoformat(),
        org.uscc,
        member.membership_number,
        STATUS_NAMES.get(member.status, member.status),
        org.name,
    ]


def export_members(*, queryset, acting_user, fmt: str = "xlsx") -> bytes:
    """The members of an already scoped queryset as XLSX or CSV: identifiers masked, every
    text cell formula-escaped; writes an audit entry with the count."""
    if fmt not in ("xlsx", "csv"):
        raise ValueError(fmt)
    if acting_user is not None:
        # Callers scope the queryset; this keeps a slip from leaking another union's rows.
        queryset = scope.filter_queryset(acting_user, queryset, scope.Access.PERSONAL)
    queryset = queryset.filter(deleted_at__isnull=True).select_related("organization")
    seen = {"count": 0, "organization": None}

    def rows():
        for member in queryset.iterator(chunk_size=2000):
            if seen["count"] == 0:
                seen["organization"] = member.organization
            seen["count"] += 1
            yield _export_row(member)

    if fmt == "xlsx":
        content = spreadsheets.write_xlsx(EXPORT_HEADERS, rows(), sheet_title="会员信息")
    else:
        content = spreadsheets.write_csv(EXPORT_HEADERS, rows())
    # The entry concerns a set of members, not one row: object type "member", no id.
    subject = types.SimpleNamespace(_meta=Member._meta, pk="")
    record_audit(
        actor=acting_user,
        action="member.exported",
        obj=subject,
        organization=seen["organization"],
        changes={"count": seen["count"], "format": fmt},
    )
    return content
