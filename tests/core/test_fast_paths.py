"""Fast paths in front of libraries (issue 20's import reads 100,000 rows): each must give
exactly the library's answer. Compared on many generated values, valid and broken."""

import datetime
import random
import string

import pytest
from django.core.exceptions import ValidationError
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError as StdnumError

from core import spreadsheets
from organizations import validators

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def stdnum_verdict(text: str) -> tuple[str, str | None]:
    """What python-stdnum alone says: the normalized code and the problem's kind."""
    import unicodedata

    code = uscc.compact(unicodedata.normalize("NFKC", text))
    try:
        uscc.validate(code)
    except StdnumError as error:
        return code, type(error).__name__
    return code, None


def credit_codes(rng: random.Random, count: int):
    for _ in range(count):
        body = "".join(rng.choice(string.digits) for _ in range(8)) + "".join(
            rng.choice(ALPHABET) for _ in range(9)
        )
        code = body + uscc.calc_check_digit(body)
        kind = rng.randrange(6)
        if kind == 0:  # a wrong check character
            code = code[:-1] + rng.choice(ALPHABET.replace(code[-1], ""))
        elif kind == 1:  # lower case, spaces and hyphens
            code = f"{code[:6]} {code[6:12]}-{code[12:].lower()}"
        elif kind == 2:  # full-width
            code = "".join(chr(ord(c) + 0xFEE0) for c in code)
        elif kind == 3:  # a letter stdnum's alphabet lacks, or a short code
            code = code[:10] + rng.choice("IOSVZ") + code[11:] if rng.random() < 0.5 else code[:-2]
        yield code


def test_credit_codes_get_the_verdict_of_python_stdnum():
    rng = random.Random(20)
    seen = set()
    for text in credit_codes(rng, 20_000):
        code, problem = stdnum_verdict(text)
        assert validators.normalize_uscc(text) == code
        try:
            assert validators.validate_uscc(text) == code
            verdict = None
        except ValidationError as error:
            verdict = error.code
        expected = {None: None, "InvalidChecksum": "uscc_checksum"}.get(problem, "uscc_format")
        assert verdict == expected, text
        seen.add(verdict)
    assert seen == {None, "uscc_checksum", "uscc_format"}


def test_dates_read_as_the_formats_read_them():
    rng = random.Random(21)
    day = datetime.date(1900, 1, 1)
    texts = ["2020-02-30", "2021-02-29", "2024-02-29", "0000-01-01", "9999-12-31", "2020-13-01"]
    for _ in range(5_000):
        stamp = day + datetime.timedelta(days=rng.randrange(60_000))
        texts.append(stamp.isoformat())
    for text in texts:
        try:
            expected = datetime.datetime.strptime(text, "%Y-%m-%d").date()
        except ValueError:
            expected = None
        assert spreadsheets.parse_date(text) == expected, text


@pytest.mark.parametrize("header", ["名称", " 名 称* ", "上级工会／编号", "＊级别", None, ""])
def test_headers_normalize_the_same_when_cached(header):
    import re

    expected = re.sub(r"[\s*＊]", "", str(header or "")).replace("／", "/")
    assert spreadsheets.normalize_header(header) == expected
    assert spreadsheets.normalize_header(header) == expected
