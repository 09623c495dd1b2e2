"""Plain text that people type: names and other one-line values.

`unsafe_characters` finds what has no place in a name that is printed on cards, reports and
screens: control characters, format characters (bidi overrides, zero-width joiners), private
use, unpaired surrogates and emoji or other pictographs. `validate_plain_text` refuses them
(and values too long) with a message that names the first one.
"""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Cc control, Cf format (bidi, zero width), Co private use, Cs surrogate, Cn unassigned,
# So other symbols (emoji and pictographs), Sk modifiers such as skin tones.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "So", "Sk"})


def unsafe_characters(value: str) -> list[str]:
    """The characters of `value` that a name must not contain, in order, each once."""
    found: list[str] = []
    for char in value:
        if unicodedata.category(char) in _UNSAFE_CATEGORIES and char not in found:
            found.append(char)
    return found


def describe(char: str) -> str:
    """U+202E (RIGHT-TO-LEFT OVERRIDE): how a refused character is named to the user."""
    return f"U+{ord(char):04X}" + (
        f" ({unicodedata.name(char)})" if unicodedata.name(char, "") else ""
    )


def validate_plain_text(value: str, max_length: int | None = None) -> None:
    """Refuse a one-line value with a character `unsafe_characters` finds, or longer than
    `max_length`, with a message that names the character or the lengths."""
    value = value or ""
    bad = unsafe_characters(value)
    if bad:
        raise ValidationError(
            _("Contains a character that is not allowed: %(character)s."),
            params={"character": describe(bad[0])},
            code="unsafe_character",
        )
    if max_length is not None and len(value) > max_length:
        raise ValidationError(
            _("Too long: at most %(limit)d characters (this one has %(count)d)."),
            params={"limit": max_length, "count": len(value)},
            code="too_long",
        )
