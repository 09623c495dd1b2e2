"""Validation of members' real-name data: resident ID numbers and mobile phones.

Built on python-stdnum (GB 11643 resident identity numbers: check digit, birth date,
region of registration) and phonenumbers. Messages are written for the person typing.
"""

from __future__ import annotations

import datetime
import functools
import re

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from stdnum import numdb
from stdnum.cn import ric

from core.phones import mask_phone, normalize_phone  # noqa: F401 (part of this module's API)
from core.text import mask_middle

MIN_AGE = 16  # the Labour Law's minimum working age
MAX_AGE = 120

_SPACES = re.compile(r"[\s\u3000-]+")
_ID_FORMAT = re.compile(r"[0-9]{17}[0-9X]")


def normalize_id_number(value: str) -> str:
    # Full-width digits and a lower-case x are common in typed and pasted data.
    value = _SPACES.sub("", str(value or "")).translate(
        {ord(c): ord("0") + i for i, c in enumerate("０１２３４５６７８９")}
        | {ord("ｘ"): "X", ord("Ｘ"): "X"}
    )
    return value.upper()


def validate_id_number(value: str, *, today: datetime.date | None = None) -> str:
    """The normalized 18-character resident ID number, or ValidationError saying what is wrong."""
    number = normalize_id_number(value)
    if len(number) != 18:
        raise ValidationError(
            _("A resident ID number has 18 characters; this one has %(n)d."),
            params={"n": len(number)},
            code="id_length",
        )
    # ASCII only: str.isdigit() also accepts ² or ٣, which int() cannot read.
    if not _ID_FORMAT.fullmatch(number):
        raise ValidationError(
            _("A resident ID number has 17 digits followed by a digit or X."),
            code="id_format",
        )
    if ric.calc_check_digit(number) != number[17]:
        raise ValidationError(
            _("The last character of this ID number does not match; please check every digit."),
            code="id_checksum",
        )
    try:
        born = birth_date_of(number)
    except ValueError:
        raise ValidationError(
            _("The birth date in this ID number (digits 7 to 14) is not a real date."),
            code="id_component",
        ) from None
    # Any code that ever existed: people born before their county got its current code
    # carry it too, which python-stdnum's birth-year check would refuse.
    if not _region_known(number[:6]):
        raise ValidationError(
            _("The first six digits of this ID number are not a known region code."),
            code="id_region",
        )
    today = today or timezone.localdate()
    age = age_on(born, today)
    if born > today or age > MAX_AGE:
        raise ValidationError(
            _("The birth date in this ID number (%(date)s) is impossible."),
            params={"date": born.isoformat()},
            code="id_birth_date",
        )
    if age < MIN_AGE:
        raise ValidationError(
            _("By this ID number the person is %(age)d years old; members must be at least 16."),
            params={"age": age},
            code="id_too_young",
        )
    return number


@functools.lru_cache(maxsize=8192)
def _region_known(code: str) -> bool:
    parts = numdb.get("cn/loc").info(code)
    return len(parts) == 2 and "county" in parts[1][1]


def birth_date_of(number: str) -> datetime.date:
    """Digits 7 to 14 of a well-formed number as a date (ValueError if not a real one).

    Read directly rather than through `ric.get_birth_date`, which cleans the number again on
    every call: a bulk load reads it three times a row."""
    return datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def gender_of(number: str) -> str:
    """'male' or 'female' from the 17th character (odd for men)."""
    return "male" if int(number[16]) % 2 else "female"


def age_on(born: datetime.date, day: datetime.date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def mask_id_number(number: str) -> str:
    """`1101**********123X`: region prefix and the last four only."""
    return f"{number[:4]}{'*' * (len(number) - 8)}{number[-4:]}" if len(number) > 8 else "****"


def mask_membership_number(number: str) -> str:
    """`2024********1234`: the year and the last four only, for readers without access to
    the member's personal data (the full number is also the member's login name)."""
    return mask_middle(number)


def mask_name(name: str) -> str:
    """张*, 张*三, 欧阳**; Latin names keep their first letter."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
