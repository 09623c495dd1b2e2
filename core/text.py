"""Plain text that people type: names and other one-line values.

`unsafe_characters` finds what has no place in a name that is printed on cards, reports and
screens: control characters, format characters (bidi overrides, zero-width joiners), private
use, unpaired surrogates and emoji or other pictographs. `validate_plain_name` refuses them
with a message that names the first one.
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


def validate_plain_name(value: str) -> None:
    bad = unsafe_characters(value or "")
    if bad:
        raise ValidationError(
            _(
                "A name may not contain control characters, invisible formatting characters "
                "or emoji; found %(character)s."
            ),
            params={"character": describe(bad[0])},
            code="unsafe_character",
        )
