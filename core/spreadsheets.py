"""Reading and writing spreadsheets (XLSX and CSV) for imports and exports.

Reading streams rows (openpyxl read-only mode; CSV decoded as it is read, in UTF-8 with or
without BOM, or GB18030 as saved by Chinese Excel), so a file of 100,000 rows never sits in
memory as objects. Writing escapes formulas: a cell starting with = + - @ tab or CR is prefixed
with an apostrophe, so a spreadsheet program shows it as text instead of running it.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import decimal
import functools
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MAX_ROWS = 200_000
# A workbook is a zip archive: what it unpacks to is limited, not only the upload's size (a
# 200,000-row member file unpacks to about 150 MB; a "zip bomb" to gigabytes).
MAX_UNPACKED_BYTES = 512 * 1024 * 1024
# Cells to the right of this are ignored (a row's width is what its last cell claims).
MAX_COLUMNS = 1000
# How much of a CSV file is looked at to tell UTF-8 from GB18030 (the header row decides).
_SNIFF_BYTES = 256 * 1024


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
_EXCEL_EPOCH = datetime.date(1899, 12, 30)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_HEADER_NOISE = re.compile(r"[\s*＊]")


class SpreadsheetError(ValueError):
    """The file as a whole cannot be read; the message is for the user."""


@dataclass
class Table:
    headers: list[str]
    rows: Iterator[tuple[int, dict[str, str]]]  # (row number as the user sees it, values)
    # The number of data rows when the file states it cheaply (an XLSX dimension), else None.
    size_hint: int | None = None


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        # Excel stores typed numbers as floats; 13800138000.0 must read as 13800138000.
        return str(int(value))
    if isinstance(value, (float, decimal.Decimal)):
        return str(value)
    return str(value).strip()


@functools.lru_cache(maxsize=1024)
def normalize_header(text: str) -> str:
    """A header as compared with the template's: without spaces, asterisks, full-width slash.
    (Cached: every cell of a file is read under one of a few headers.)"""
    return _HEADER_NOISE.sub("", str(text or "")).replace("／", "/")


def parse_date(text: str) -> datetime.date | None:
    """A date as people write it in a cell (several formats, an Excel day number), or None."""
    text = text.strip()
    if _ISO_DATE.fullmatch(text):  # the common spelling, at C speed
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            pass  # 2020-02-30: the formats below refuse it too
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


class MissingSheet(SpreadsheetError):
    """The workbook has no sheet of the name asked for (and no fallback was allowed)."""


def read_table(file, filename: str, *, sheet: str = "", first_if_missing: bool = True) -> Table:
    """Open an uploaded .xlsx or .csv; the first row holds the column names.

    `sheet` names the worksheet to read in a workbook; without it, or when the workbook has
    no such sheet and `first_if_missing`, the first one is read, else MissingSheet is raised.
    A CSV file is one sheet: asked for a sheet by name without the fallback, it has none.
    """
    name = filename.lower()
    if name.endswith(".xlsx"):
        return _read_xlsx(file, sheet, first_if_missing)
    if name.endswith(".csv"):
        if sheet and not first_if_missing:
            raise MissingSheet(sheet)
        return _read_csv(file)
    raise SpreadsheetError(_("Upload an .xlsx or .csv file."))


def _check_unpacked_size(file) -> None:
    try:
        with zipfile.ZipFile(file) as archive:
            # Sizes as declared: zipfile never unpacks an entry to more than its own.
            unpacked = sum(info.file_size for info in archive.infolist())
    except Exception as error:  # not a zip archive, or a damaged one
        raise SpreadsheetError(_("This file cannot be opened as an Excel workbook.")) from error
    finally:
        file.seek(0)
    if unpacked > MAX_UNPACKED_BYTES:
        raise SpreadsheetError(
            _("This workbook unpacks to more than %(max)d MB; split it into smaller files.")
            % {"max": MAX_UNPACKED_BYTES // (1024 * 1024)}
        )


def _read_xlsx(file, sheet_name: str = "", first_if_missing: bool = True) -> Table:
    _check_unpacked_size(file)
    unreadable = _("This file cannot be opened as an Excel workbook.")
    try:
        workbook = load_workbook(file, read_only=True, data_only=False)
        names = [normalize_header(n) for n in workbook.sheetnames]
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise SpreadsheetError(unreadable) from error
    if sheet_name and sheet_name in names:
        sheet = workbook.worksheets[names.index(sheet_name)]
    elif sheet_name and not first_if_missing:
        workbook.close()
        raise MissingSheet(sheet_name)
    elif workbook.worksheets:
        sheet = workbook.worksheets[0]
    else:
        raise SpreadsheetError(unreadable)
    size_hint = sheet.max_row - 1 if sheet.max_row else None
    # The size a file states may be wrong: openpyxl would silently drop every row below it
    # and pad every row to the stated width. Read the rows that are there instead.
    sheet.reset_dimensions()
    rows = sheet.iter_rows(values_only=True)
    try:
        headers = [_cell_text(v) for v in next(rows)[:MAX_COLUMNS]]
    except StopIteration:
        raise SpreadsheetError(_("The file is empty.")) from None
    except Exception as error:  # a damaged sheet is found while it is read
        raise SpreadsheetError(unreadable) from error

    def generate():
        number = 1
        try:
            for number, values in enumerate(rows, start=2):
                values = (values or ())[:MAX_COLUMNS]
                if all(v is None or str(v).strip() == "" for v in values):
                    continue
                yield number, {h: _cell_text(v) for h, v in zip(headers, values, strict=False) if h}
        except Exception as error:
            raise SpreadsheetError(
                _("This file cannot be opened as an Excel workbook (after row %(row)d).")
                % {"row": number}
            ) from error
        workbook.close()

    return Table(headers=[h for h in headers if h], rows=generate(), size_hint=size_hint)


def _decode(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SpreadsheetError(_("The CSV file is neither UTF-8 nor GB18030 text."))


class _Borrowed(io.RawIOBase):
    """Reads the caller's file without ever closing it (the text wrapper closes its buffer
    when it is garbage-collected; the caller may still want the file)."""

    def __init__(self, file):
        self._file = file

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._file.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _text_stream(file):
    """`file` as text, decoded while it is read; the encoding is told from its beginning."""
    sample = file.read(_SNIFF_BYTES)
    if isinstance(sample, str):  # already a text stream
        file.seek(0)
        return file
    seekable = getattr(file, "seekable", lambda: False)()
    if not seekable:  # cannot rewind: decide on the whole content (it is read anyway)
        return io.StringIO(_decode(sample + file.read()), newline="")
    encoding = "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=len(sample) < _SNIFF_BYTES)
    except UnicodeDecodeError:
        encoding = "gb18030"
        try:
            codecs.getincrementaldecoder("gb18030")().decode(sample, final=False)
        except UnicodeDecodeError:
            raise SpreadsheetError(_("The CSV file is neither UTF-8 nor GB18030 text.")) from None
    file.seek(0)
    return io.TextIOWrapper(io.BufferedReader(_Borrowed(file)), encoding=encoding, newline="")


def _read_csv(file) -> Table:
    reader = csv.reader(_text_stream(file))
    try:
        headers = [h.strip() for h in next(reader)[:MAX_COLUMNS]]
    except StopIteration:
        raise SpreadsheetError(_("The file is empty.")) from None
    except UnicodeDecodeError:
        raise SpreadsheetError(_("The CSV file is neither UTF-8 nor GB18030 text.")) from None
    except csv.Error as error:
        raise SpreadsheetError(_("This file cannot be read as CSV.")) from error
    if _has_nul(headers):
        raise SpreadsheetError(_("The CSV file is neither UTF-8 nor GB18030 text."))

    def not_text(row: int) -> SpreadsheetError:
        return SpreadsheetError(
            _("The CSV file is neither UTF-8 nor GB18030 text (after row %(row)d).") % {"row": row}
        )

    def generate():
        number = 1
        try:
            for number, values in enumerate(reader, start=2):
                if _has_nul(values):
                    raise not_text(number - 1)
                values = values[:MAX_COLUMNS]
                if not any(v.strip() for v in values):
                    continue
                yield number, {h: v.strip() for h, v in zip(headers, values, strict=False) if h}
        except UnicodeDecodeError:
            raise not_text(number) from None
        except csv.Error as error:
            raise SpreadsheetError(
                _("This file cannot be read as CSV (after row %(row)d).") % {"row": number}
            ) from error

    return Table(headers=[h for h in headers if h], rows=generate())


def _has_nul(values: list[str]) -> bool:
    # Text has no NUL characters (nor can the database store them): this is UTF-16, or a
    # binary file that happened to decode.
    return any("\x00" in v for v in values)


def is_formula(text: str) -> bool:
    """Whether a cell's text would be run as a formula by a spreadsheet program."""
    return bool(text) and text.startswith(FORMULA_PREFIXES)


def row_cells(raw: dict) -> dict[str, str]:
    """A row as read, by normalized header, each cell stripped; a cell this module wrote
    escaped ('=…, see `escape_formula`) reads back as it was, so an export imports back."""
    cells = {normalize_header(k): (v or "").strip() for k, v in raw.items()}
    return {k: v[1:] if v[:1] == "'" and is_formula(v[1:]) else v for k, v in cells.items()}


def escape_formula(value):
    """A value safe to put in a cell (OWASP CSV injection): text that looks like a formula
    gets a leading apostrophe; numbers and dates are kept as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def write_xlsx(headers: Iterable[str], rows: Iterable[Iterable], sheet_title: str = "") -> bytes:
    """An XLSX file of `rows` under `headers`, every text cell formula-escaped."""
    return write_workbook([(sheet_title, headers, rows)])


# Characters a sheet title may not contain (Excel refuses the workbook otherwise).
_SHEET_TITLE_FORBIDDEN = str.maketrans(dict.fromkeys("[]:*?/\\", " "))


def write_workbook(sheets: Iterable[tuple[str, Iterable[str], Iterable[Iterable]]]) -> bytes:
    """An XLSX file with one sheet per (title, headers, rows), every cell formula-escaped."""
    workbook = Workbook(write_only=True)
    for number, (title, headers, rows) in enumerate(sheets, start=1):
        title = str(title or f"Sheet{number}").translate(_SHEET_TITLE_FORBIDDEN).strip()
        sheet = workbook.create_sheet(title=title[:31] or f"Sheet{number}")
        sheet.append([safe_cell(str(h)) for h in headers])
        for row in rows:
            sheet.append([safe_cell(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xml_safe(value):
    # Control characters cannot be written into a workbook (openpyxl refuses the whole file).
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def safe_cell(value):
    """A value as every generated workbook cell holds it: text without the control
    characters a workbook cannot hold, formula-escaped; numbers and dates unchanged."""
    return escape_formula(_xml_safe(value))


def write_csv(headers: Iterable[str], rows: Iterable[Iterable]) -> bytes:
    """CSV in UTF-8 with a BOM (so Excel opens Chinese text correctly), every cell (the
    headers too) formula-escaped. Text is kept as it is otherwise: CSV can hold any
    character, and an import must see what the file says."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([escape_formula(str(h)) for h in headers])
    for row in rows:
        writer.writerow([escape_formula(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
