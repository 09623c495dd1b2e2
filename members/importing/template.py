"""The member import template: an XLSX workbook with the headers, an example row and a sheet
explaining each column, whose allowed values feed drop-down lists in the data sheet."""

import io

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.datavalidation import DataValidation

from core import spreadsheets

from .columns import (
    COLUMNS,
    EDUCATION_NAMES,
    EMPLOYMENT_NAMES,
    ETHNICITY_NAMES,
    EXAMPLE_ID_NUMBER,
    GENDER_NAMES,
    HEADERS,
    INSTRUCTIONS_SHEET,
)

__all__ = ["template_xlsx"]


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
