"""The union import template: the sheet of unions, the sheet of officers and the instructions.

`template_xlsx` is the empty template; `write_unions_workbook` writes the same layout with
rows in it, which is how `export` writes a subtree that imports back unchanged. There is no
example row in the data sheet (every filled row is imported): the examples are in the
instructions sheet. Drop-down lists (级别, 角色) are data validations with their values
written inline, so they work in any copy of the sheet and need no hidden list sheet.

The workbook is written in openpyxl's write-only mode (rows go to disk as they come, so an
export of 100,000 unions never sits in memory as cells); data validations, column formats,
widths, the frozen header row and header comments all work in that mode.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from core import spreadsheets

from ..models import Level
from .columns import COLUMNS, HEADERS, OFFICER_HEADERS, level_label

__all__ = [
    "INSTRUCTIONS_SHEET",
    "LAST_ROW",
    "OFFICERS_SHEET",
    "OFFICER_ROLES",
    "UNIONS_SHEET",
    "level_choices",
    "template_xlsx",
    "write_unions_workbook",
]

UNIONS_SHEET = "工会"
OFFICERS_SHEET = "工会干部"
INSTRUCTIONS_SHEET = "填写说明"
OFFICER_ROLES = ("管理员", "工作人员", "查看")
# Drop-downs and text formats reach as far as the reader reads (spreadsheets.MAX_ROWS).
LAST_ROW = spreadsheets.MAX_ROWS + 1

# Columns Excel must keep as typed: ids and codes with leading zeros or 18 characters
# (not 9.1330106E+17), telephone numbers, dates as written.
_TEXT_FIELDS = frozenset(
    {"ref", "uscc", "parent_uscc", "parent_ref", "region_code", "founded_on", "contact_phone"}
)
_WIDTHS = {
    "ref": 12,
    "name": 40,
    "short_name": 20,
    "uscc": 24,
    "parent_uscc": 28,
    "parent_ref": 16,
    "level": 20,
    "region_code": 14,
    "industry": 26,
    "employees": 12,
    "founded_on": 14,
    "address": 40,
    "contact_phone": 18,
}
_OFFICER_WIDTHS = {"姓名": 14, "手机号": 16, "工会": 28, "角色": 12}
_OFFICER_TEXT = frozenset({"手机号", "工会"})
_BOLD = Font(bold=True)
_REQUIRED = Font(bold=True, color="C00000")
_WRAP = Alignment(wrap_text=True, vertical="top")


def level_choices() -> list[str]:
    """The 级别 drop-down: the Chinese level names, the national federation left out."""
    return [level_label(level) for level in Level if level != Level.NATIONAL]


def template_xlsx() -> bytes:
    """The empty import template: headers, drop-downs and the instructions sheet."""
    return write_unions_workbook(())


def write_unions_workbook(rows: Iterable[Sequence]) -> bytes:
    """An XLSX in the template's layout with `rows` (values in the order of COLUMNS, text
    already formula-escaped) in the unions sheet; the officers sheet holds its headers only."""
    with translation.override("zh-hans"):  # the headers are Chinese; so are the instructions
        workbook = Workbook(write_only=True)
        unions = workbook.create_sheet(UNIONS_SHEET)
        _prepare_unions(unions)
        for row in rows:
            unions.append(row)
        officers = workbook.create_sheet(OFFICERS_SHEET)
        _prepare_officers(officers)
        _write_instructions(workbook.create_sheet(INSTRUCTIONS_SHEET))
        buffer = io.BytesIO()
        workbook.save(buffer)
    return buffer.getvalue()


def _list_validation(values: Iterable[str], letter: str, message: str) -> DataValidation:
    # An inline list (at most 255 characters): no sheet to keep the values in.
    validation = DataValidation(
        type="list",
        formula1='"{}"'.format(",".join(values)),
        allow_blank=True,
        showErrorMessage=True,
        error=message,
    )
    validation.add(f"{letter}2:{letter}{LAST_ROW}")
    return validation


def _header_cell(sheet, text: str, *, required: bool, note: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=text)
    cell.font = _REQUIRED if required else _BOLD
    if note:
        cell.comment = Comment(note, "UnionHub", width=300, height=120)
    return cell


def _prepare_unions(sheet) -> None:
    """Widths, text formats, the frozen header, drop-downs and the header row (before any
    row is written: a write-only sheet writes its columns first)."""
    for index, column in enumerate(COLUMNS, start=1):
        dimension = sheet.column_dimensions[get_column_letter(index)]
        dimension.width = _WIDTHS.get(column.field, 16)
        if column.field in _TEXT_FIELDS:
            dimension.number_format = "@"
    sheet.freeze_panes = "A2"
    level_letter = get_column_letter(HEADERS.index("级别") + 1)
    sheet.data_validations.append(
        _list_validation(level_choices(), level_letter, _("Choose a level from the list."))
    )
    header = []
    for column in COLUMNS:
        status = _("Required") if column.required else _("Optional")
        note = _("%(status)s. %(hint)s") % {"status": status, "hint": column.hint}
        header.append(_header_cell(sheet, column.header, required=column.required, note=note))
    sheet.append(header)


def _prepare_officers(sheet) -> None:
    for index, header in enumerate(OFFICER_HEADERS, start=1):
        dimension = sheet.column_dimensions[get_column_letter(index)]
        dimension.width = _OFFICER_WIDTHS.get(header, 16)
        if header in _OFFICER_TEXT:
            dimension.number_format = "@"
    sheet.freeze_panes = "A2"
    role_letter = get_column_letter(OFFICER_HEADERS.index("角色") + 1)
    sheet.data_validations.append(
        _list_validation(OFFICER_ROLES, role_letter, _("Choose a role from the list."))
    )
    sheet.append([_header_cell(sheet, h, required=True, note="") for h in OFFICER_HEADERS])


def _write_instructions(sheet) -> None:
    sheet.column_dimensions["A"].width = 26
    sheet.column_dimensions["B"].width = 8
    sheet.column_dimensions["C"].width = 70
    sheet.column_dimensions["D"].width = 32

    def line(*values, font=None):
        cells = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=spreadsheets.safe_cell(str(value)))
            cell.alignment = _WRAP
            if font is not None:
                cell.font = font
            cells.append(cell)
        sheet.append(cells)

    line(_("Column"), _("Required"), _("How to fill it in"), _("Example"), font=_BOLD)
    for column in COLUMNS:
        hint = str(column.hint)
        if column.field == "level":
            hint = f"{hint} {'、'.join(level_choices())}"
        line(column.header, _("yes") if column.required else _("no"), hint, column.example)
    sheet.append([])
    line(_("Rules"), font=_BOLD)
    rules = (
        _(
            "Fill in one union per row of the sheet %(sheet)s, from row 2 on. Row 1 must keep "
            "the headers; columns with red headers are required. Every filled row is imported: "
            "the examples above are only shown here."
        )
        % {"sheet": UNIONS_SHEET},
        _(
            "Name each union's parent in %(code)s by its credit code or, for a parent without "
            "one, in %(number)s by its number. The parent may be a union already in UnionHub or "
            "another row of this file, in any order: a row may come before its parent."
        )
        % {"code": "上级工会统一社会信用代码", "number": "上级工会编号"},
        _(
            "A union without a credit code is named by its %(number)s: give a new union a "
            "label that is not only digits (such as A1; a number is taken as the number of a "
            "union already in UnionHub) and write that label as %(parent)s in the rows of the "
            "unions under it. Exported files carry each union's number in UnionHub; keep it, "
            "so the union is updated rather than created again."
        )
        % {"number": "编号", "parent": "上级工会编号"},
        _(
            "Cells of codes, numbers, telephone numbers and dates are formatted as text, so "
            "leading zeros and 18-character credit codes are kept; paste values only."
        ),
        _(
            "Nothing is written when the file is uploaded: it is checked as a whole first and "
            "every problem is listed with its row and column. The unions are written, all at "
            "once, only after you confirm."
        ),
        _(
            "Unions in UnionHub that the file does not list are reported, never deleted. A "
            "listed union whose cells changed is updated; one whose parent changed is moved."
        ),
        _(
            "The sheet %(sheet)s lists officers: name, mobile number, union (its credit code "
            "or number) and role (%(roles)s). Each new officer receives a first-login link by "
            "text message and sets a password there. Never put passwords in this file."
        )
        % {"sheet": OFFICERS_SHEET, "roles": "、".join(OFFICER_ROLES)},
    )
    for number, rule in enumerate(rules, start=1):
        line(number, "", rule)  # in the wide, wrapped column
