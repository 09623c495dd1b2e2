"""Bulk inserts of new model instances: COPY on PostgreSQL, `bulk_create` elsewhere.

`insert(model, objs)` writes exactly the rows the ORM would write (each value prepared by
its field's `get_db_prep_save`, `auto_now` fields set) and sets the primary keys, but on
PostgreSQL streams them with COPY: the ORM's multi-row INSERT spends more time in Python
building parameters than the database takes to store them. It works below the ORM (it reads
`_meta`, prepares values itself and marks the instances saved). Like `bulk_create` it calls
no `save()` and sends no signal; it is for models without multi-table inheritance whose
primary key is a database sequence (an `AutoField`), which is where the keys come from.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import json
from collections.abc import Callable, Iterable, Sequence

from django.db import connection, connections, models
from django.db.models.expressions import RawSQL

__all__ = ["BATCH_SIZE", "allocate_ids", "among", "gc_paused", "insert", "insert_values"]

# Rows per INSERT of the fallback on other databases.
BATCH_SIZE = 2000

# Field classes whose value goes to PostgreSQL unchanged when it already has this Python type
# (their get_db_prep_save is then the identity). Exact classes and exact value types only: a
# subclass (the encrypted fields) may prepare its value, and so may a choices enum member.
_PLAIN_TYPES = {
    models.AutoField: int,
    models.BigAutoField: int,
    models.IntegerField: int,
    models.BigIntegerField: int,
    models.SmallIntegerField: int,
    models.PositiveIntegerField: int,
    models.PositiveSmallIntegerField: int,
    models.PositiveBigIntegerField: int,
    models.BooleanField: bool,
    models.CharField: str,
    models.TextField: str,
    models.EmailField: str,
    models.SlugField: str,
    models.DateField: datetime.date,
}


def _plain_type(field) -> type | None:
    """The Python type whose values `field` sends unprepared, or None."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return None  # pre_save sets the value
    # A foreign key prepares its value as the field it points to does.
    target = field.target_field if type(field) is models.ForeignKey else field
    return _PLAIN_TYPES.get(type(target))


def _copy_values(fields) -> Callable:
    """A function giving one object's column values for COPY, as `get_db_prep_save` would,
    skipping the preparation where it does nothing (a third of a bulk load's time)."""
    plan = [(field, field.attname, _plain_type(field)) for field in fields]

    db = connections[connection.alias]  # the wrapper itself, not the per-access proxy

    def values(obj) -> list:
        row = []
        state = obj.__dict__
        for field, attname, kind in plan:
            value = state.get(attname)
            if kind is None or not (value is None or type(value) is kind):
                value = field.get_db_prep_save(field.pre_save(obj, True), db)
            row.append(value)
        return row

    return values


def among(field: str, values: Iterable) -> models.Q:
    """`Q(field__in=values)` for a collection of any size (ints or strings): the values go as
    one parameter, an array (PostgreSQL) or JSON text (SQLite), instead of a placeholder each.
    100,000 placeholders take a third of a second to compose, and SQLite refuses more than
    32,766."""
    values = list(values)
    if len(values) <= 1000:
        return models.Q(**{f"{field}__in": values})
    # The values are a parameter; the SQL text is one of these literals.
    if connection.vendor == "postgresql":
        kind = "bigint" if all(type(v) is int for v in values) else "text"
        subquery = RawSQL(f"SELECT unnest(%s::{kind}[])", (values,))  # noqa: S611  # nosec B611
    else:
        subquery = RawSQL("SELECT value FROM json_each(%s)", (json.dumps(values),))
    return models.Q(**{f"{field}__in": subquery})


@contextlib.contextmanager
def gc_paused():
    """Python's cyclic garbage collector paused while a bulk job builds objects that live
    until it ends (a row each of a 100,000-row file): each full collection would walk all of
    them again, a tenth of such a job's time. Reference counting still frees everything
    else; the collector runs again as it did once the outermost pause ends."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def allocate_ids(model, count: int) -> list[int]:
    """`count` new primary keys from `model`'s sequence (PostgreSQL), for rows that refer to
    each other before they are inserted; `insert` keeps the keys already set."""
    if not count:
        return []
    meta = model._meta
    if connection.vendor != "postgresql":
        # SQLite: one writer at a time (the caller's transaction holds the write lock).
        last = model.objects.aggregate(last=models.Max(meta.pk.attname))["last"] or 0
        return list(range(last + 1, last + 1 + count))
    with connection.wrap_database_errors, connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, count],
        )
        return [pk for (pk,) in cursor.fetchall()]


@contextlib.contextmanager
def _copy(model, fields):
    """A COPY into `model`'s table of the columns of `fields`, database errors as Django's."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    sql = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
    with connection.wrap_database_errors, connection.cursor() as cursor, cursor.copy(sql) as copy:
        yield copy


def insert(model, objs: list, *, batch_size: int = BATCH_SIZE) -> None:
    """Insert new rows of `model`, setting the primary keys not set yet (`allocate_ids`):
    with COPY on PostgreSQL, else with `bulk_create` in batches of `batch_size`."""
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=batch_size)
        return
    if not objs:
        return
    meta = model._meta
    fields = meta.concrete_fields
    without_pk = [obj for obj in objs if getattr(obj, meta.pk.attname) is None]
    for obj, pk in zip(without_pk, allocate_ids(model, len(without_pk)), strict=True):
        setattr(obj, meta.pk.attname, pk)
    values = _copy_values(fields)
    with _copy(model, fields) as copy:
        for obj in objs:
            copy.write_row(values(obj))
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def insert_values(model, names: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert new rows given as the values of the fields `names` (attribute names; left out,
    an auto primary key takes the next numbers of its sequence), without building model
    instances, which for a 100,000-row import costs as long as the COPY. Every other field is
    what a new instance holds, worked out once: its default (a callable default is called
    once, so a unique field cannot be left out) and one time for every `auto_now` field, as
    one statement would set it. Values are prepared as the ORM prepares them. With COPY on
    PostgreSQL, else `bulk_create`.
    Returns how many rows were written."""
    meta = model._meta
    fields = meta.concrete_fields
    if meta.pk.attname not in names and isinstance(meta.pk, models.AutoField):
        fields = [f for f in fields if f is not meta.pk]  # the database's sequence numbers
    attnames = [field.attname for field in fields]
    unknown = [name for name in names if name not in attnames]
    left_out = [f.attname for f in fields if f.unique and f.attname not in names]
    if unknown or left_out:
        raise ValueError(f"insert_values({meta.label}): unknown {unknown}, left out {left_out}")
    if connection.vendor != "postgresql":
        objs = [model(**dict(zip(names, row, strict=True))) for row in rows]
        model.objects.bulk_create(objs, batch_size=BATCH_SIZE)
        return len(objs)
    template = _copy_values(fields)(model())
    named = []  # (column slot, field, plain type) of each value given
    for name in names:
        slot = attnames.index(name)
        named.append((slot, fields[slot], _plain_type(fields[slot])))
    db = connections[connection.alias]
    count = 0
    with _copy(model, fields) as copy:
        for values in rows:
            row = template.copy()
            for (slot, field, kind), value in zip(named, values, strict=True):
                if kind is None or not (value is None or type(value) is kind):
                    value = field.get_db_prep_save(value, db)
                row[slot] = value
            copy.write_row(row)
            count += 1
    return count
