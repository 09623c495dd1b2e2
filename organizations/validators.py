"""Validation of codes and phone numbers, built on maintained libraries."""

import re
import unicodedata
from functools import lru_cache

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from pypinyin import Style, lazy_pinyin
from pypinyin.core import Pinyin
from stdnum import numdb
from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum
from stdnum.exceptions import ValidationError as StdnumError

_REGION_CODE = re.compile(r"^\d{6}$")
_BRACKETED_YEARS = re.compile(r"\[[^\]]*\]")


# A credit code already written as stored (the common case), which compact() leaves alone.
_STORED_USCC = re.compile(r"[0-9A-Z]{18}")


def normalize_uscc(value: str) -> str:
    """A credit code as stored: upper case, without spaces or hyphens, full-width → ASCII."""
    value = str(value or "")
    if _STORED_USCC.fullmatch(value):
        return value  # python-stdnum's compact() would return it unchanged, 20 times slower
    return uscc.compact(unicodedata.normalize("NFKC", value))


_USCC_MESSAGES = {
    "uscc_checksum": _("The check character of this credit code is wrong; please check it again."),
    "uscc_format": _("A unified social credit code has 18 digits or capital letters."),
}


def validate_uscc(value: str) -> str:
    """Accept a valid unified social credit code (GB 32100-2015), checksum included;
    returns it normalized (Django ignores the result; `Organization.clean` stores it)."""
    code = normalize_uscc(value)
    problem = _uscc_problem(code)
    if problem:
        raise ValidationError(_USCC_MESSAGES[problem], code=problem)
    return code


@lru_cache(maxsize=65536)
def _uscc_problem(code: str) -> str | None:
    """python-stdnum's verdict on a normalized code, once per code: an import names each
    township's code as the parent of dozens of rows."""
    try:
        uscc.validate(code)
    except InvalidChecksum:
        return "uscc_checksum"
    except StdnumError:
        return "uscc_format"
    return None


@lru_cache(maxsize=4096)
def _region_entry(code: str) -> str | None:
    """The name of a GB/T 2260 code from python-stdnum's division table, or None."""
    parts = numdb.get("cn/loc").info(code)
    if len(parts) != 2 or "county" not in parts[1][1]:
        return None
    # Historical names are listed as "[1983-1989]old,[1990-]new": keep the newest.
    names = [_BRACKETED_YEARS.sub("", n) for n in parts[1][1]["county"].split(",")]
    return names[-1]


def validate_region_code(value: str) -> None:
    if not _REGION_CODE.match(value or "") or _region_entry(value) is None:
        raise ValidationError(
            _("%(code)s is not an administrative division code (GB/T 2260)."),
            params={"code": value},
            code="region_code",
        )


def region_name(code: str) -> str:
    return (_region_entry(code) or "") if code else ""


def validate_contact_phone(value: str) -> None:
    """A mainland China mobile or fixed-line number (fixed lines with their area code)."""
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number_for_region(number, "CN"):
        raise ValidationError(
            _("Enter a mainland China phone number, e.g. 13800138000 or 0571-87654321."),
            code="phone",
        )


# pypinyin's own segmentation of a text into words (the first step of `lazy_pinyin`).
_segment = Pinyin().seg


@lru_cache(maxsize=50_000)
def _word_keys(word: str) -> tuple[str, str]:
    syllables = lazy_pinyin(word, errors=lambda chars: list(chars.lower()))
    initials = lazy_pinyin(word, style=Style.FIRST_LETTER, errors=lambda c: list(c.lower()))
    return "".join(s for s in syllables if s.strip()), "".join(s for s in initials if s.strip())


def pinyin_keys(name: str) -> tuple[str, str]:
    """Full pinyin and initials of a name, lower case, for searching the directory.

    pypinyin converts a name word by word (its own segmentation, which gives a single word
    back whole), so a name's keys are its words' keys joined; words recur in union names
    (place names, 有限公司, 工会) and each is converted once (a whole name costs about 0.3 ms,
    most of a large union import's writing)."""
    words = [_word_keys(word) for word in _segment(name)]
    full = "".join(keys[0] for keys in words)
    short = "".join(keys[1] for keys in words)
    return full[:800], short[:200]


# Between the short name's keys and the full name's in the stored search keys: a query of
# letters and digits never matches across it.
KEY_SEPARATOR = "|"


def search_keys(name: str, short_name: str = "") -> tuple[str, str]:
    """The directory's search keys of a union, (pinyin, initials): its short name's first
    (云帆科技工会 → "yfkjgh"), then its full name's, so that initials typed for either
    match anywhere in them (`selectors.directory`)."""
    full, initials = pinyin_keys(name)
    if short_name and short_name != name:
        short_full, short_initials = pinyin_keys(short_name)
        full = f"{short_full}{KEY_SEPARATOR}{full}"
        initials = f"{short_initials}{KEY_SEPARATOR}{initials}"
    return full[:800], initials[:200]
