"""Checking the rows of a member spreadsheet: validation, not an action (it writes nothing).

`RowChecker` maps a file's headers to the columns (`columns.COLUMNS`), checks each row on
its own and against the earlier rows of the file (ID number, phone, choices, dates, the
union and the uploader's scope over it), then classifies the good rows against the
database: a new member (CREATE), already a member of the same union (UNCHANGED) or, for the
legacy migration, already a member anywhere (SKIP). `checked_chunks` does all of it for a
whole table, a chunk at a time. Errors are entries `{"row", "column", "message", "code"}`:
the row report of the import job (`members.actions.spreadsheets`) and of the legacy
migration command (`import_legacy_members`), which share this checker.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Iterable, Iterator

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from core import crypto, spreadsheets
from organizations.models import Level, Organization, OrgStatus
from organizations.validators import normalize_uscc

from .. import validators
from ..actions.permissions import keeps_member_records
from ..models import CURRENT_STATUSES, Member
from ..people import clean_person
from .columns import (
    BY_FIELD,
    COLUMNS,
    EXAMPLE_ID_NUMBER,
    INSTRUCTIONS_SHEET,
    UNION_HEADER,
    normalize_header,
    parse_choice,
    parse_date,
)

__all__ = [
    "CREATE",
    "SKIP",
    "UNCHANGED",
    "CheckedRow",
    "FileError",
    "RowChecker",
    "checked_chunks",
    "error_entry",
]

CREATE, UNCHANGED, SKIP = "create", "unchanged", "skip"

# A phone written in international form, e.g. +86 138 0013 8000, is a number, not a formula.
_PHONE_WITH_PLUS = re.compile(r"\+[\d\s-]+")


@dataclasses.dataclass
class CheckedRow:
    """One row of the file as checked: its errors, or its cleaned data, union and join date."""

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
        return cls([error_entry(1, column, message, code)])


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


def error_entry(row: int, column: str, message, code: str) -> dict:
    """One entry of a row report."""
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
            names[normalize_header(header)] = column.field
            if column.field != "union_code" or self.union_header == UNION_HEADER:
                for alias in column.aliases:
                    names.setdefault(normalize_header(alias), column.field)
        self.columns = {}
        for header in headers:
            field = names.get(normalize_header(header))
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
        return self.union_header if field == "union_code" else BY_FIELD[field].header

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
            row.errors.append(error_entry(row.number, self.header_of(field), message, code))
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
            value = parse_choice(field, text)
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
            dates[field] = parse_date(text)
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
                    error_entry(
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
                    error_entry(
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
