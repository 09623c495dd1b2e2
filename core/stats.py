"""Statistics keys, typed: every counter key is declared by the app that owns it.

A key is a dotted string (``members.status.active``) stored in the counter and roll-up
tables. Apps declare their keys once, in their ``statkeys`` module, either one by one
(`key`) or as a family whose last part is one of a set of values or matches a pattern
(`family`, e.g. ``members.status.<status>``), and use the returned names when they write
and when they read. Every write (`organizations.counters.adjust`) and every read of the
roll-ups checks its keys here: a key nobody declared raises `UnknownKey`, so a renamed or
misspelt key fails in the tests instead of showing zero on a dashboard.

Dimensions (`dimension`) are prefixes that the roll-ups put in front of a declared key to
break it down (``industry.<id>.members.status.active``); a key may be broken down by
industry only if it was declared with ``by_industry=True``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


class UnknownKey(LookupError):
    """A statistics key that no app declared."""


@dataclass(frozen=True)
class Family:
    """Keys ``<prefix>.<value>`` for the values of a choice list or a pattern."""

    prefix: str
    values: frozenset[str] | None = None
    pattern: re.Pattern | None = None

    def __call__(self, value) -> str:
        """The key of one value, checked."""
        name = f"{self.prefix}.{value}"
        if not self.matches(str(value)):
            raise UnknownKey(f"{name!r}: {value!r} is not a value of {self.prefix}.*")
        return name

    def matches(self, last: str) -> bool:
        if self.values is not None:
            return last in self.values
        return bool(self.pattern and self.pattern.fullmatch(last))

    def names(self) -> list[str]:
        """Every key of a family with listed values (none for a pattern family)."""
        return [f"{self.prefix}.{v}" for v in sorted(self.values or ())]


# Key names go into SQL text (the roll-up check), so they are plain words and dots only.
_NAME = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)*")

_KEYS: set[str] = set()
_FAMILIES: dict[str, Family] = {}
_BY_INDUSTRY: list[str] = []
_DIMENSIONS: list[re.Pattern] = []


def key(name: str, *, by_industry: bool = False) -> str:
    """Declare one key; returns it, for the declaring module's constant."""
    _check_name(name)
    _KEYS.add(name)
    if by_industry and name not in _BY_INDUSTRY:
        _BY_INDUSTRY.append(name)
    return name


def family(prefix: str, *, values: Iterable[str] | None = None, pattern: str = "") -> Family:
    """Declare the keys ``<prefix>.<value>``: `values` lists them, or `pattern` (a regular
    expression for the last part) describes them."""
    _check_name(prefix)
    if (values is None) == (not pattern):
        raise ValueError("A family has either values or a pattern.")
    fam = Family(
        prefix,
        frozenset(str(v) for v in values) if values is not None else None,
        re.compile(pattern) if pattern else None,
    )
    _FAMILIES[prefix] = fam
    return fam


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a statistics key name (lower-case words and dots).")


def dimension(pattern: str) -> None:
    """Declare a prefix (a regular expression) that breaks a declared key down."""
    _DIMENSIONS.append(re.compile(pattern))


def by_industry_keys() -> tuple[str, ...]:
    """The keys that the roll-ups also break down by national industry union."""
    return tuple(_BY_INDUSTRY)


def is_known(name: str) -> bool:
    if name in _KEYS:
        return True
    prefix, _, last = name.rpartition(".")
    fam = _FAMILIES.get(prefix)
    if fam is not None and fam.matches(last):
        return True
    for dim in _DIMENSIONS:
        match = dim.match(name)
        if match and match.end() < len(name):
            return is_known(name[match.end() :])
    return False


def check(name: str) -> str:
    """`name` if some app declared it; otherwise UnknownKey."""
    if not is_known(name):
        raise UnknownKey(f"{name!r} is not a declared statistics key (see core.stats).")
    return name


def check_all(names: Iterable[str]) -> None:
    for name in set(names):
        check(name)


def check_prefix(prefix: str) -> str:
    """`prefix` if it begins at least one declared key (for reads of a whole family)."""
    for dim in _DIMENSIONS:
        match = dim.match(prefix)
        if match and match.end() < len(prefix):
            prefix_rest = prefix[match.end() :]
            check_prefix(prefix_rest)
            return prefix
    if any(k.startswith(prefix) for k in _KEYS) or any(
        f"{p}.".startswith(prefix) or prefix.startswith(f"{p}.") for p in _FAMILIES
    ):
        return prefix
    raise UnknownKey(f"{prefix!r} begins no declared statistics key (see core.stats).")
