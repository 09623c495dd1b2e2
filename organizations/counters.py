"""Per-organization statistics counters: the small API other apps feed the tree through.

`organizations` never imports the apps that count things. They call `adjust()` inside the
transaction of the change they count, and register a ground-truth source with
`register_source()` so that `verify()` (the `check_counters` command and its nightly job)
can compare every stored counter with a COUNT over the underlying rows and repair drift.
"""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal

from django.db import connection, transaction

from core import bulk, stats

from . import rollups, statkeys
from .models import CounterDelta, Level, Organization, OrgCounter, OrgStatus
from .rollups import Drift

# A source returns the true value of every non-zero counter it owns, keyed by
# (organization id, counter key). Keys it owns start with its prefix.
Source = Callable[[], Mapping[tuple[int, str], int]]
SOURCES: dict[str, Source] = {}

# From this many changes on, `adjust` writes the counters and the journal with a statement
# per _CHUNK rows instead of one a row (an import of a province adds 200,000 counters: 13 s a
# row at a time). Same rows, same order, same upsert as `rollups.increment` and `journal`.
_MANY = 1000
_CHUNK = 20_000


def register_source(prefix: str, source: Source) -> None:
    """Declare that counter keys starting with `prefix` are computed by `source`."""
    SOURCES[prefix] = source


# What the records say happened day by day in a few organizations (a grassroots union and
# its groups): source(org_ids, since) returns {(local date, key): change} for what was
# recorded from `since` on, each change attributed as the counters attribute it. Counted
# from the rows, so only for small subtrees; a federation's days are its daily snapshots.
DatedSource = Callable[[list[int], datetime.datetime], Mapping[tuple[datetime.date, str], int]]
DATED_SOURCES: list[DatedSource] = []


def register_dated_source(source: DatedSource) -> None:
    if source not in DATED_SOURCES:
        DATED_SOURCES.append(source)


def recorded_by_day(
    org_ids: Iterable[int], since: datetime.datetime
) -> dict[datetime.date, Counter]:
    """{day: {key: change}} of everything recorded in `org_ids` from `since` on."""
    ids = sorted(set(org_ids))
    days: dict[datetime.date, Counter] = defaultdict(Counter)
    for source in DATED_SOURCES:
        for (day, key), change in source(ids, since).items():
            if change:
                days[day][key] += change
    return dict(days)


def adjust(changes: Mapping[tuple[int, str], int], *, new: bool = False) -> None:
    """Add each delta to the counter (organization id, key); call inside the change's transaction.

    Every key must be declared (core.stats). The counters are incremented by the database
    (`rollups.increment`), and the same rows go to the roll-up journal. With `new`, the
    organizations were created in this transaction and have no counters yet: theirs are
    inserted, not incremented (a counter that exists is then an error, not a lost count).
    """
    stats.check_all(key for _, key in changes)
    with transaction.atomic():
        if len(changes) >= _MANY and connection.vendor == "postgresql":
            rows = sorted((org, key, d) for (org, key), d in changes.items() if d)
            names = ("organization_id", "key")
            if new:
                bulk.insert_values(OrgCounter, (*names, "value"), rows)
            else:
                table = OrgCounter._meta.db_table
                _insert_rows(
                    OrgCounter,
                    ("organization", "key", "value"),
                    rows,
                    f"ON CONFLICT (organization_id, key) DO UPDATE SET value = {table}.value "
                    "+ EXCLUDED.value",
                )
            bulk.insert_values(CounterDelta, (*names, "delta"), rows)
            if rows:
                transaction.on_commit(rollups.request_fold)
            return
        rows = rollups.increment(OrgCounter, changes)
        if rows:
            rollups.journal(rows)


def _insert_rows(model, names: tuple[str, ...], rows: list[tuple], conflict: str = "") -> None:
    """INSERT `rows` (values of the fields `names`) in their order, `_CHUNK` rows a statement,
    each column sent as one array parameter."""
    fields = [model._meta.get_field(name) for name in names]
    aliases = ", ".join(f"c{n}" for n in range(len(fields)))
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
    sql = (
        f"INSERT INTO {model._meta.db_table} ({', '.join(f.column for f in fields)}) "  # noqa: S608
        f"SELECT {aliases} FROM unnest({arrays}) WITH ORDINALITY AS r({aliases}, n) "
        f"ORDER BY n {conflict}"
    )
    with connection.cursor() as cursor:
        for at in range(0, len(rows), _CHUNK):
            chunk = rows[at : at + _CHUNK]
            cursor.execute(sql, [list(column) for column in zip(*chunk, strict=True)])


def fen(amount) -> int:
    """Money is counted in fen (integers): yuan × 100, rounded half to even."""
    return int((Decimal(amount) * 100).to_integral_value())


def yuan(fen_value: int) -> Decimal:
    """A fen counter back in yuan, two decimals."""
    return (Decimal(fen_value) / 100).quantize(Decimal("0.01"))


def adjust_counter(org: Organization | int, key: str, delta: int) -> None:
    adjust({(getattr(org, "pk", org), key): delta})


def values(org: Organization, keys: Iterable[str] | None = None) -> dict[str, int]:
    """The organization's own counters (not its subtree's)."""
    qs = OrgCounter.objects.filter(organization=org)
    if keys is not None:
        qs = qs.filter(key__in=list(keys))
    return dict(qs.values_list("key", "value"))


def verify(prefixes: Iterable[str] | None = None) -> Drift:
    """Compare the stored counters of each registered source with its ground truth."""
    drift = Drift()
    for prefix in prefixes or sorted(SOURCES):
        truth = {k: v for k, v in SOURCES[prefix]().items() if v}
        stats.check_all(key for _, key in truth)
        stored = defaultdict(int)
        for org_id, key, value in OrgCounter.objects.filter(key__startswith=prefix).values_list(
            "organization_id", "key", "value"
        ):
            if value:
                stored[(org_id, key)] = value
        for counter in set(truth) | set(stored):
            drift.checked += 1
            if truth.get(counter, 0) != stored.get(counter, 0):
                drift.wrong[counter] = (stored.get(counter, 0), truth.get(counter, 0))
    return drift


def repair(drift: Drift) -> int:
    """Set every drifted counter to its true value; returns how many were fixed."""
    with transaction.atomic():
        adjust({counter: true - stored for counter, (stored, true) in drift.wrong.items()})
    return len(drift.wrong)


# --- The tree's own figures (keys in statkeys) ----------------------------------------------


def organization_keys(org: Organization | None) -> Counter:
    keys: Counter = Counter()
    if org is None or org.status != OrgStatus.ACTIVE:
        return keys
    keys.update(active_union_keys(org.pk, org.level, org.employees))
    return keys


def active_union_keys(pk: int, level: str, employees: int | None) -> dict[tuple[int, str], int]:
    """The counters of an active union (one unit of its level; a grassroots union's
    employees), from its values (the bulk import has no model instances)."""
    keys = {(pk, statkeys.UNITS(level)): 1}
    if level == Level.GRASSROOTS and employees:
        keys[(pk, statkeys.EMPLOYEES)] = employees
    return keys


def organization_delta(before: Organization | None, after: Organization | None) -> Counter:
    delta = organization_keys(after)
    delta.subtract(organization_keys(before))
    return delta


def count_organization_counters() -> dict[tuple[int, str], int]:
    truth: Counter = Counter()
    rows = Organization.objects.filter(status=OrgStatus.ACTIVE).values_list(
        "pk", "level", "employees"
    )
    for pk, level, employees in rows.iterator(chunk_size=10_000):
        truth[(pk, statkeys.UNITS(level))] += 1
        if level == Level.GRASSROOTS and employees:
            truth[(pk, statkeys.EMPLOYEES)] += employees
    return dict(truth)


register_source("organizations.", count_organization_counters)
