"""A person's rights over their own data (PIPL): the registries every app takes part through.

Each app that holds personal data registers its own parts when it starts, and reads or
deletes only its own tables:

- export sections (`register_section`): what the person may see of their data, as rows of
  labelled columns; `register_fields` adds columns to another app's one-record section (the
  login account carries the message settings);
- erasure guards (`register_erasure_guard`): a reason to refuse the erasure now;
- erasers (`register_eraser`): the app's part of an erasure, in the erasure's transaction.

They all receive a `Subject`: the person's login account and, when the person is a member,
their member record. Apps that know only accounts (notifications, accounts) read
`subject.user`; members and the apps above read `subject.member`.

`order` places a part among the other apps' parts (equal orders keep registration order,
and apps start in INSTALLED_APPS order, which is not the copy's): the copy reads as the
person's record, their login (100-400), then their membership (500-), messages (600), then
the services (700). Erasers take the member's parts first (100: they may still write to
the person, e.g. when cancelling an order), then the account's (200-300).

This module imports no domain app (see the README).
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model, QuerySet
from django.db.models.fields.files import FieldFile
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext as _

FORMAT = "unionhub-personal-data/1"

# What replaces an identifier in the free text that is kept.
MASK = "***"


@dataclass(frozen=True)
class Subject:
    """Whose data: their login account (None if they have none), their member record
    (None for a person who is not a member), and the contact references they were written
    to under before they had an account (`notifications.channels.contact_ref`: their join
    applications)."""

    user: Any
    member: Any = None
    contacts: tuple[str, ...] = ()


def contact_ref(obj) -> str:
    """How a person without an account is referred to where they are written to: the record
    that holds their address, as "<app_label>.<model>:<pk>" (`notifications.channels`)."""
    return f"{obj._meta.label_lower}:{obj.pk}"


def in_site_language(text) -> str:
    """Text stored in a record: in the site's language, not the requester's."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(text)


# --- Export sections ------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """One part of the copy: rows of `columns` (key, label) read for a subject.

    A `single` section is one record (the member, the account) rather than a list.
    """

    key: str
    title: Promise | str
    columns: Sequence[tuple[str, Promise | str]]
    rows: Callable[[Subject], Iterable[Mapping]]
    single: bool = False


@dataclass(frozen=True)
class Fields:
    """Columns another app adds to a single section's record: `values(subject)` gives them,
    read only when the record exists."""

    columns: Sequence[tuple[str, Promise | str]]
    values: Callable[[Subject], Mapping]


_SECTIONS: dict[str, tuple[int, Section]] = {}
_FIELDS: dict[str, list[Fields]] = {}


def register_section(section: Section, *, order: int) -> None:
    """Add a section to every person's copy, at `order` (see the module's docstring)."""
    _SECTIONS[section.key] = (order, section)


def register_fields(key: str, fields: Fields) -> None:
    """Add columns to the single section `key`, after its own (in registration order)."""
    _FIELDS.setdefault(key, []).append(fields)


def sections() -> list[Section]:
    """Every registered section in the copy's order, with the fields other apps add."""
    ordered = sorted(_SECTIONS.values(), key=lambda entry: entry[0])  # stable
    return [_with_fields(section) for _order, section in ordered]


def _with_fields(section: Section) -> Section:
    extensions = _FIELDS.get(section.key, [])
    if not extensions:
        return section

    def rows(subject: Subject) -> Iterable[Mapping]:
        for row in section.rows(subject):
            record = dict(row)
            for extension in extensions:
                record.update(extension.values(subject))
            yield record

    columns = [*section.columns, *(c for extension in extensions for c in extension.columns)]
    return Section(
        key=section.key, title=section.title, columns=columns, rows=rows, single=section.single
    )


# --- Helpers for sections built from model fields ---------------------------------------


def plain(value):
    """A value as it goes into JSON and a spreadsheet cell: text, numbers, booleans, None."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, FieldFile):
        return value.name.rsplit("/", 1)[-1] if value else None
    return str(value)


def columns_of(model: type[Model], names: Sequence[str]) -> list[tuple[str, Promise]]:
    """(field, verbose name) for each field, as the column labels of a section."""
    return [(name, capfirst(model._meta.get_field(name).verbose_name)) for name in names]


def values_of(obj: Model, names: Sequence[str]) -> dict:
    """The fields' values as the person reads them: choices by label, relations by name."""
    row = {}
    for name in names:
        model_field = obj._meta.get_field(name)
        if model_field.choices:
            value = getattr(obj, f"get_{name}_display")()
        elif model_field.is_relation:
            value = getattr(obj, name)
            value = None if value is None else str(value)
        else:
            value = getattr(obj, name)
        row[name] = plain(value)
    return row


def model_section(
    key: str,
    title,
    model: type[Model],
    fields: Sequence[str],
    queryset: Callable[[Subject], Iterable[Model]],
    *,
    extra: Sequence[tuple[str, Promise | str, Callable[[Model], object]]] = (),
    single: bool = False,
) -> Section:
    """A section of model rows: `fields` by their verbose names, then `extra` columns
    (key, label, function of the row) for values that are not plain fields."""
    columns = [*columns_of(model, fields), *((k, label) for k, label, _f in extra)]

    def rows(subject: Subject) -> Iterable[Mapping]:
        for obj in queryset(subject):
            yield {**values_of(obj, fields), **{k: plain(f(obj)) for k, _l, f in extra}}

    return Section(key=key, title=title, columns=columns, rows=rows, single=single)


# --- The copy ---------------------------------------------------------------------------


def export_personal_data(subject: Subject) -> dict:
    """Everything the platform holds about the subject that they may see, JSON-ready:
    {"format", "generated_at", <section key>: a record or a list of records, …}."""
    data: dict = {
        "format": FORMAT,
        "generated_at": plain(timezone.now()),
    }
    for section in sections():
        rows = [dict(row) for row in section.rows(subject)]
        data[section.key] = (rows[0] if rows else {}) if section.single else rows
    return data


def personal_data_json(data: Mapping) -> bytes:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode("utf-8")


def personal_data_sheets(data: Mapping) -> list[tuple[Any, list, list[list]]]:
    """The copy as (title, headers, rows) sheets: an "About" sheet, then one per section
    (a record as field–value rows), ready for a workbook writer."""
    sheets = [
        (_("About"), [_("Item"), _("Value")], [[_("Generated at"), data.get("generated_at")]])
    ]
    for section in sections():
        value = data.get(section.key)
        if section.single:
            record = value or {}
            rows = [[str(label), record.get(key)] for key, label in section.columns]
            sheets.append((section.title, [_("Item"), _("Value")], rows))
        else:
            headers = [label for _key, label in section.columns]
            rows = [[row.get(key) for key, _label in section.columns] for row in value or []]
            sheets.append((section.title, headers, rows))
    return sheets


# --- Erasure ------------------------------------------------------------------------------

# guard(subject) -> a reason to refuse the erasure now, or None.
Guard = Callable[[Subject], "str | None"]
# eraser(subject=…, redact=…): called inside the erasure's transaction, after the member
# record is anonymised and unlinked from the account (`subject.user`, None if it had none).
Eraser = Callable[..., None]

_GUARDS: dict[str, Guard] = {}
_ERASERS: dict[str, tuple[int, Eraser]] = {}


def _name(func) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def register_erasure_guard(guard: Guard) -> None:
    _GUARDS[_name(guard)] = guard


def register_eraser(eraser: Eraser, *, order: int) -> None:
    """Take part in every erasure, at `order` (see the module's docstring)."""
    _ERASERS[_name(eraser)] = (order, eraser)


def guard_refusals(subject: Subject) -> list[str]:
    """The registered guards' reasons to refuse erasing the subject now."""
    reasons = []
    for guard in _GUARDS.values():
        reason = guard(subject)
        if reason:
            reasons.append(str(reason))
    return reasons


def erasers() -> list[Eraser]:
    """Every registered eraser, in order."""
    return [eraser for _order, eraser in sorted(_ERASERS.values(), key=lambda e: e[0])]


def run_erasers(*, subject: Subject, redact: Redactor) -> None:
    """Every app's part of erasing the subject; call it inside the erasure's transaction."""
    for eraser in erasers():
        eraser(subject=subject, redact=redact)


# --- Redaction of the free text that is kept --------------------------------------------------


class Redactor:
    """Replaces a person's identifiers in free text by ***: the texts (a name, an email) as
    typed in any case, and the numbers with their digits spaced or hyphenated.

    It cannot find what only describes them; kept texts are records written about a case
    (a concern, an aid case, a transfer), which without these identifiers name nobody.
    """

    def __init__(self, *, texts: Iterable[str] = (), numbers: Iterable[str] = ()):
        patterns = {re.escape(t) for t in texts if t and len(t.strip()) >= 2}
        for number in numbers:
            if number and len(number) >= 5:
                patterns.add(r"[\s-]?".join(re.escape(c) for c in number))
        ordered = sorted(patterns, key=len, reverse=True)
        self._pattern = re.compile("|".join(ordered), re.IGNORECASE) if ordered else None

    def __call__(self, text: str) -> str:
        if not text or self._pattern is None:
            return text
        return self._pattern.sub(MASK, text)

    def rows(self, queryset: QuerySet, fields: Iterable[str]) -> int:
        """Redact `fields` of every row of `queryset`; returns how many rows changed."""
        fields = list(fields)
        changed: list[Model] = []
        for obj in queryset.only("pk", *fields).order_by():
            dirty = False
            for name in fields:
                old = getattr(obj, name)
                new = self(old)
                if new != old:
                    setattr(obj, name, new)
                    dirty = True
            if dirty:
                changed.append(obj)
        if changed:
            queryset.model.objects.bulk_update(changed, fields)
        return len(changed)
