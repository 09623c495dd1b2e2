"""Yuan amounts (元) and the dues rule, without the database.

`parse_amount` reads an amount typed into a form or read from a spreadsheet cell;
`compute_dues` gives the monthly dues of a wage base: 0.5 % of the wage (union
constitution), rounded as configured in `MEMBERS_DUES_RATE`, `MEMBERS_DUES_QUANTUM` and
`MEMBERS_DUES_ROUNDING` (docs/dues.md).
"""

from __future__ import annotations

import decimal
import re
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils.translation import gettext as _

CENT = Decimal("0.01")
# A number as written: commas only between groups of three digits, so that a decimal comma
# (4321,50) is refused instead of read as 432150.
_AMOUNT_TEXT = re.compile(r"[+-]?(\d+|\d{1,3}(,\d{3})+)(\.\d*)?([eE][+-]?\d+)?|[+-]?\.\d+")
_DIGITS_AND_COMMAS = re.compile(r"[+-]?[\d,]*,[\d,]*(\.\d*)?")
# A monthly wage above this is a typing mistake (an extra digit or two), not a wage.
MAX_WAGE_BASE = Decimal("10000000")
ROUNDING_MODES = frozenset(
    {
        decimal.ROUND_UP,
        decimal.ROUND_DOWN,
        decimal.ROUND_CEILING,
        decimal.ROUND_FLOOR,
        decimal.ROUND_HALF_UP,
        decimal.ROUND_HALF_DOWN,
        decimal.ROUND_HALF_EVEN,
        decimal.ROUND_05UP,
    }
)


# --- The rule ---------------------------------------------------------------------------


def dues_settings() -> tuple[Decimal, Decimal, str]:
    """(rate, quantum, rounding) from the settings, checked; a wrong value fails loudly."""
    rounding = settings.MEMBERS_DUES_ROUNDING
    if rounding not in ROUNDING_MODES:
        raise ImproperlyConfigured(
            f"MEMBERS_DUES_ROUNDING={rounding!r} is not a decimal rounding mode; use one of "
            f"{', '.join(sorted(ROUNDING_MODES))}."
        )
    try:
        rate = Decimal(str(settings.MEMBERS_DUES_RATE))
        quantum = Decimal(str(settings.MEMBERS_DUES_QUANTUM))
    except InvalidOperation:
        raise ImproperlyConfigured(
            "MEMBERS_DUES_RATE and MEMBERS_DUES_QUANTUM are decimals."
        ) from None
    if not (rate.is_finite() and 0 <= rate <= 1):
        raise ImproperlyConfigured("MEMBERS_DUES_RATE must be between 0 and 1 (0.005 = 0.5 %).")
    if not (quantum.is_finite() and quantum > 0):
        raise ImproperlyConfigured("MEMBERS_DUES_QUANTUM must be positive (0.01 = one fen).")
    return rate, quantum, rounding


def _not_a_number(field: str) -> ValidationError:
    return ValidationError(
        {field: ValidationError(_("This is not a number."), code="not_a_number")}
    )


def _to_decimal(value, field: str) -> Decimal:
    """A finite, non-negative Decimal from a number or its text; errors keyed on `field`."""
    if isinstance(value, float):
        value = str(value)
    if isinstance(value, str):
        value = value.replace("，", ",").replace(" ", "").strip()
        if _DIGITS_AND_COMMAS.fullmatch(value) and not _AMOUNT_TEXT.fullmatch(value):
            message = _("Write the amount like 4321.50: commas only between thousands.")
            raise ValidationError({field: ValidationError(message, code="separator")})
        if not _AMOUNT_TEXT.fullmatch(value):  # Decimal() itself would take 1_000 or NaN
            raise _not_a_number(field)
        value = value.replace(",", "")
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise _not_a_number(field) from None
    if not amount.is_finite():
        raise _not_a_number(field)
    if amount < 0:
        raise ValidationError(
            {field: ValidationError(_("An amount cannot be negative."), code="negative")}
        )
    return amount.copy_abs()  # -0 is 0


def parse_amount(value, *, field: str = "amount", maximum: Decimal = MAX_WAGE_BASE) -> Decimal:
    """A yuan amount typed or read from a cell: a number, not negative, at most two decimals.

    Thousands separators and spaces are allowed. Errors are keyed on `field`.
    """
    amount = _to_decimal(value, field)
    if amount > maximum:
        raise ValidationError(
            {
                field: ValidationError(
                    _("This amount is too large; at most %(max)s yuan.") % {"max": maximum},
                    code="too_large",
                )
            }
        )
    if amount != amount.quantize(CENT):
        raise ValidationError(
            {
                field: ValidationError(
                    _("Give the amount in yuan with at most two decimal places."),
                    code="decimal_places",
                )
            }
        )
    return amount.quantize(CENT)


def compute_dues(wage_base) -> Decimal:
    """The monthly dues for a wage base: wage × rate, quantized with the rounding setting."""
    wage = _to_decimal(wage_base, "wage_base")
    rate, quantum, rounding = dues_settings()
    return (wage * rate).quantize(quantum, rounding=rounding)
