"""Plain text that people type: names and other one-line values.

`unsafe_characters` finds what has no place in a name that is printed on cards, reports and
screens: control characters, format characters (bidi overrides, zero-width joiners), private
use, unpaired surrogates and emoji or other pictographs. `validate_plain_text` refuses them
(and values too long) with a message that names the first one. `validate_real_name` holds a
person's name as on an ID card or a passport to what such a name is made of. `printable`
cleans what was stored before these rules (a generated file must never carry it).
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Cc control, Cf format (bidi, zero width), Co private use, Cs surrogate, Cn unassigned,
# So other symbols (emoji and pictographs), Sk modifiers such as skin tones.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "So", "Sk"})


# What `printable` removes: Cc control, Cf format (bidi overrides, zero width), Cs surrogate.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


def printable(value: str) -> str:
    """`value` without control, format (bidi, zero-width) and surrogate characters: a name
    stored before such characters were refused, as it is written into a generated file."""
    if value.isascii() and value.isprintable():
        return value
    return "".join(c for c in value if unicodedata.category(c) not in _INVISIBLE_CATEGORIES)


def mask_middle(value: str, keep: int = 4) -> str:
    """`2024********1234`: the first and last `keep` characters, stars between; a value too
    short to keep both ends is `****`."""
    if len(value) <= 2 * keep:
        return "****"
    return f"{value[:keep]}{'*' * (len(value) - 2 * keep)}{value[-keep:]}"


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


# A person's name as on an ID card: Han characters, the parts of a name of an ethnic
# minority (买买提·艾力) joined by a middle dot; or, for foreign nationals, Latin letters
# with spaces, hyphens, apostrophes and full stops between the parts.
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_HAN_NAME = re.compile(f"[{_HAN}]+(?:·[{_HAN}]+)*")
_LATIN = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
_LATIN_NAME = re.compile(f"[{_LATIN}]+(?:(?: |-|'|\\. ?)[{_LATIN}]+)*\\.?")
# The dots people type between the parts of a name, all read as the middle dot (U+00B7).
_NAME_DOTS = re.compile(f"(?<=[{_HAN}])\\s*[·•・‧.．]\\s*(?=[{_HAN}])")
_HAN_SPACES = re.compile(f"(?<=[{_HAN}]) (?=[{_HAN}])")
NAME_MAX_LENGTH = 60


def validate_real_name(value: str) -> str:
    """A person's real name, normalized (full-width letters, the dots between the parts of
    a name, runs of spaces), or ValidationError saying what is wrong in words."""
    name = " ".join(unicodedata.normalize("NFKC", value or "").split())
    name = _NAME_DOTS.sub("·", _HAN_SPACES.sub("", name))
    if not name:
        raise ValidationError(_("Enter the name as written on the ID card."), code="required")
    validate_plain_text(name, max_length=NAME_MAX_LENGTH)
    if not (_HAN_NAME.fullmatch(name) or _LATIN_NAME.fullmatch(name)):
        raise ValidationError(
            _(
                "Enter the name in Chinese characters as on the ID card (parts of a name such "
                "as 买买提·艾力 joined by “·”), or for a foreign national in Latin letters as "
                "in the passport."
            ),
            code="name_characters",
        )
    return name
