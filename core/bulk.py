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

import datetime
from collections.abc import Callable

from django.db import connection, connections, models

__all__ = ["BATCH_SIZE", "allocate_ids", "insert"]

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


def _copy_values(fields) -> Callable:
    """A function giving one object's column values for COPY, as `get_db_prep_save` would,
    skipping the preparation where it does nothing (a third of a bulk load's time)."""
    plan = []
    for field in fields:
        # A foreign key prepares its value as the field it points to does.
        target = field.target_field if type(field) is models.ForeignKey else field
        kind = _PLAIN_TYPES.get(type(target))
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            kind = None  # pre_save sets the value
        plan.append((field, field.attname, kind))

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


def insert(model, objs: list, *, batch_size: int = BATCH_SIZE) -> None:
    """Insert new rows of `model`, setting the primary keys not set yet (`allocate_ids`):
    with COPY on PostgreSQL, else with `bulk_create` in batches of `batch_size`."""
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs, batch_size=batch_size)
        return
    if not objs:
        return
    meta = model._meta
    quote = connection.ops.quote_name
    fields = meta.concrete_fields
    without_pk = [obj for obj in objs if getattr(obj, meta.pk.attname) is None]
    for obj, pk in zip(without_pk, allocate_ids(model, len(without_pk)), strict=True):
        setattr(obj, meta.pk.attname, pk)
    with connection.wrap_database_errors, connection.cursor() as cursor:
        columns = ", ".join(quote(f.column) for f in fields)
        values = _copy_values(fields)
        with cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row(values(obj))
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
