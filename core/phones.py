"""Mainland China mobile numbers: validated with phonenumbers, normalized to the 11-digit
national number, masked for display. Members' and officers' numbers follow the same rule."""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

__all__ = ["mask_phone", "normalize_phone"]

_MOBILE_TYPES = (
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
)


def normalize_phone(value: str) -> str:
    """The national significant number (11 digits for a mobile), or ValidationError."""
    raw = str(value or "").strip()
    try:
        number = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        number = None
    if (
        number is None
        or not phonenumbers.is_valid_number_for_region(number, "CN")
        or phonenumbers.number_type(number) not in _MOBILE_TYPES
    ):
        raise ValidationError(
            _("Enter a mainland China mobile number of 11 digits, e.g. 13800138000."),
            code="phone",
        )
    return phonenumbers.national_significant_number(number)


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else "****"
