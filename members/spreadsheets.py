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
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MAX_ROWS = 200_000
# How much of a CSV file is looked at to tell UTF-8 from GB18030 (the header row decides).
_SNIFF_BYTES = 256 * 1024


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


def read_table(file, filename: str) -> Table:
    """Open an uploaded .xlsx or .csv; the first row holds the column names."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        return _read_xlsx(file)
    if name.endswith(".csv"):
        return _read_csv(file)
    raise SpreadsheetError(_("Upload an .xlsx or .csv file."))


def _read_xlsx(file) -> Table:
    try:
        workbook = load_workbook(file, read_only=True, data_only=False)
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise SpreadsheetError(_("This file cannot be opened as an Excel workbook.")) from error
    sheet = workbook.worksheets[0]
    size_hint = sheet.max_row - 1 if sheet.max_row else None
    rows = sheet.iter_rows(values_only=True)
    try:
        headers = [_cell_text(v) for v in next(rows)]
    except StopIteration:
        raise SpreadsheetError(_("The file is empty.")) from None

    def generate():
        for number, values in enumerate(rows, start=2):
            if values is None or all(v is None or str(v).strip() == "" for v in values):
                continue
            yield number, {h: _cell_text(v) for h, v in zip(headers, values, strict=False) if h}
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
        headers = [h.strip() for h in next(reader)]
    except StopIteration:
        raise SpreadsheetError(_("The file is empty.")) from None
    except UnicodeDecodeError:
        raise SpreadsheetError(_("The CSV file is neither UTF-8 nor GB18030 text.")) from None
    except csv.Error as error:
        raise SpreadsheetError(_("This file cannot be read as CSV.")) from error

    def generate():
        number = 1
        try:
            for number, values in enumerate(reader, start=2):
                if not any(v.strip() for v in values):
                    continue
                yield number, {h: v.strip() for h, v in zip(headers, values, strict=False) if h}
        except UnicodeDecodeError:
            raise SpreadsheetError(
                _("The CSV file is neither UTF-8 nor GB18030 text (after row %(row)d).")
                % {"row": number}
            ) from None
        except csv.Error as error:
            raise SpreadsheetError(
                _("This file cannot be read as CSV (after row %(row)d).") % {"row": number}
            ) from error

    return Table(headers=[h for h in headers if h], rows=generate())


def is_formula(text: str) -> bool:
    """Whether a cell's text would be run as a formula by a spreadsheet program."""
    return bool(text) and text.startswith(FORMULA_PREFIXES)


def escape_formula(value):
    """A value safe to put in a cell (OWASP CSV injection): text that looks like a formula
    gets a leading apostrophe; numbers and dates are kept as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def write_xlsx(headers: Iterable[str], rows: Iterable[Iterable], sheet_title: str = "") -> bytes:
    """An XLSX file of `rows` under `headers`, every text cell formula-escaped."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=(sheet_title or "Sheet1")[:31])
    sheet.append(list(headers))
    for row in rows:
        sheet.append([escape_formula(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_csv(headers: Iterable[str], rows: Iterable[Iterable]) -> bytes:
    """CSV in UTF-8 with a BOM (so Excel opens Chinese text correctly), formula-escaped."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(list(headers))
    for row in rows:
        writer.writerow([escape_formula(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
