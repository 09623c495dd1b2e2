"""Subtree roll-ups: every counter summed over every organization's subtree, exact at once.

`counters.adjust()` writes each change twice in the caller's transaction: into the
organization's own `OrgCounter` and into the insert-only `CounterDelta` journal. `fold()`
(a Celery job queued on commit, and every minute from beat) adds the journal to the
`OrgRollup` row of the organization and of each of its ancestors, up to the national
federation, then deletes what it added, in one transaction. A reader takes the stored
roll-up and adds the journal rows still waiting in the subtree, so

    roll-up(org, key) == SUM of OrgCounter(key) over org's subtree

holds for every reader at every moment, while a write never waits on a province-wide row.

Two more dimensions are kept for dual affiliation (a grassroots union that also belongs to
a national industry union, `Organization.industry`):

- ``industry.<id>.<key>`` on every regional ancestor, for the keys declared ``by_industry``
  (`core.stats.by_industry_keys()`: active members, joins, grassroots unions, employees):
  the part of the subtree that belongs to that industry (affiliated, or inside the industry
  union's own tree);
- ``affiliated.<key>`` on the national industry union: the affiliated grassroots unions of
  every region. Its whole figure is its own tree's roll-up plus that.

`verify()` recomputes every roll-up from the counters in one SQL statement (one snapshot,
so it is right while writers go on) and `repair()` adds the differences.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections, router, transaction
from django.db.models import F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from core import stats

from . import scope, statkeys
from .models import CounterDelta, Level, Organization, OrgCounter, OrgRollup

INDUSTRY_PREFIX = statkeys.INDUSTRY_PREFIX
AFFILIATED_PREFIX = statkeys.AFFILIATED_PREFIX

# pg_advisory_xact_lock key: one folder at a time, and tree moves wait for it.
FOLD_LOCK = (20_260_002, 0)
FOLD_BATCH = 20_000
_FOLD_FLAG = "organizations:rollup-fold-queued"


@dataclass(frozen=True)
class _Node:
    parent_id: int | None
    level: str
    industry_id: int | None


class _Chains:
    """Parent links of a set of organizations and all their ancestors (one query a level)."""

    def __init__(self, org_ids: Iterable[int]):
        self.nodes: dict[int, _Node] = {}
        wanted = set(org_ids)
        while wanted:
            rows = (
                Organization.objects.filter(pk__in=wanted)
                .order_by()
                .values_list("pk", "parent_id", "level", "industry_id")
            )
            for pk, parent_id, level, industry_id in rows:
                self.nodes[pk] = _Node(parent_id, level, industry_id)
            wanted = {
                n.parent_id
                for n in self.nodes.values()
                if n.parent_id is not None and n.parent_id not in self.nodes
            }

    def up(self, org_id: int) -> list[int]:
        """The organization and its ancestors, nearest first."""
        chain = []
        node_id = org_id
        while node_id is not None and node_id in self.nodes:
            chain.append(node_id)
            node_id = self.nodes[node_id].parent_id
        return chain

    def affiliated_industry(self, org_id: int) -> int | None:
        node = self.nodes[org_id]
        if node.industry_id:
            return node.industry_id
        if node.level == Level.GROUP and node.parent_id in self.nodes:
            return self.nodes[node.parent_id].industry_id
        return None

    def own_industry(self, chain: list[int]) -> int | None:
        """The national industry union at the top of the chain, if it is in one's tree."""
        for node_id, parent_id in itertools.pairwise(chain):
            node = self.nodes[node_id]
            if node.level == Level.INDUSTRY and self.nodes[parent_id].level == Level.NATIONAL:
                return node_id
        return None


def spread(sums: Mapping[tuple[int, str], int], chains: _Chains | None = None) -> Counter:
    """The roll-up changes that the counter changes `sums` make, on every ancestor."""
    chains = chains or _Chains({org for org, _ in sums})
    out: Counter = Counter()
    for (org_id, key), delta in sums.items():
        if not delta or org_id not in chains.nodes:
            continue
        chain = chains.up(org_id)
        affiliated = chains.affiliated_industry(org_id)
        industry = affiliated or chains.own_industry(chain)
        for node in chain:
            out[(node, key)] += delta
            if industry and key in stats.by_industry_keys():
                out[(node, f"{INDUSTRY_PREFIX}{industry}.{key}")] += delta
        if affiliated:
            out[(affiliated, AFFILIATED_PREFIX + key)] += delta
    return out


def increment(model, changes: Mapping[tuple[int, str], int]) -> list[tuple[int, str, int]]:
    """Add each delta to `model`'s (organization, key) value; returns the rows written.

    One upsert per row with the addition done by the database, so concurrent writers never
    lose an update; rows are sorted so that two transactions lock them in the same order.
    Used for the counters (`counters.adjust`) and the roll-ups alike.
    """
    rows = sorted((org, key, d) for (org, key), d in changes.items() if d)
    if not rows:
        return rows
    table = model._meta.db_table
    sql = (
        f"INSERT INTO {table} (organization_id, key, value) VALUES (%s, %s, %s) "  # noqa: S608
        f"ON CONFLICT (organization_id, key) DO UPDATE SET value = {table}.value + EXCLUDED.value"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    return rows


def _add(changes: Mapping[tuple[int, str], int]) -> None:
    increment(OrgRollup, changes)


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", list(FOLD_LOCK))


# --- Writing -------------------------------------------------------------------------------


def journal(rows: list[tuple[int, str, int]]) -> None:
    """Record counter changes for folding; `counters.adjust` calls this in its transaction."""
    table = CounterDelta._meta.db_table
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (organization_id, key, delta) VALUES (%s, %s, %s)",  # noqa: S608
            rows,
        )
    transaction.on_commit(request_fold)


def request_fold() -> None:
    """Queue one fold soon; at most one is queued per two seconds and process."""
    from .tasks import fold_rollups_task

    if settings.CELERY_TASK_ALWAYS_EAGER or cache.add(_FOLD_FLAG, 1, timeout=2):
        fold_rollups_task.delay()


def fold(batch: int = FOLD_BATCH) -> int:
    """Add the waiting journal rows to the roll-ups; returns how many rows were folded."""
    folded = 0
    while True:
        with transaction.atomic():
            _lock()
            rows = list(
                CounterDelta.objects.order_by("id").values_list(
                    "id", "organization_id", "key", "delta"
                )[:batch]
            )
            if not rows:
                return folded
            sums: Counter = Counter()
            for _, org_id, key, delta in rows:
                sums[(org_id, key)] += delta
            _add(spread(sums))
            CounterDelta.objects.filter(id__in=[r[0] for r in rows]).delete()
        folded += len(rows)
        if len(rows) < batch:
            return folded


def move_subtree(org: Organization, old_parent_id: int) -> None:
    """After `org` moved from under `old_parent_id`: carry its roll-up to the new ancestors.

    Call in the move's transaction. Journal rows still waiting are folded later along the
    new chain, as readers already count them.
    """
    _lock()
    carried = {
        key: value
        for key, value in OrgRollup.objects.filter(organization=org).values_list("key", "value")
        if value and not key.startswith(AFFILIATED_PREFIX)
    }
    chains = _Chains({org.pk, old_parent_id, org.parent_id})
    changes: Counter = Counter()
    for node in chains.up(old_parent_id):
        for key, value in carried.items():
            changes[(node, key)] -= value
    for node in chains.up(org.parent_id):
        for key, value in carried.items():
            changes[(node, key)] += value
    # Moving into or out of a national industry union's tree relabels the industry part of
    # the unions below that have no affiliation of their own: only the moved union's link
    # changed, so they all change together.
    old_tree = chains.own_industry([org.pk, *chains.up(old_parent_id)])
    new_tree = chains.own_industry(chains.up(org.pk))
    if old_tree != new_tree:
        rows = list(_folded_industry_counters(Organization.objects.get(pk=org.pk)))
        below = _Chains({m for m, _, _ in rows})
        for member_org, key, value in rows:
            if not value or below.affiliated_industry(member_org):
                continue
            for node in below.up(member_org):
                if old_tree:
                    changes[(node, f"{INDUSTRY_PREFIX}{old_tree}.{key}")] -= value
                if new_tree:
                    changes[(node, f"{INDUSTRY_PREFIX}{new_tree}.{key}")] += value
    _add(changes)


def _folded_industry_counters(org: Organization):
    """(org id, key, value already folded) of the industry-broken-down counters in `org`'s
    subtree: counter minus waiting journal, in one statement (one snapshot)."""
    waiting = (
        CounterDelta.objects.filter(organization=OuterRef("organization"), key=OuterRef("key"))
        .order_by()
        .values("organization")
        .annotate(s=Sum("delta"))
        .values("s")
    )
    return (
        OrgCounter.objects.filter(
            scope.subtree_q(org, "organization__"), key__in=stats.by_industry_keys()
        )
        .annotate(waiting=Coalesce(Subquery(waiting), 0))
        .values_list("organization_id", "key", F("value") - F("waiting"))
    )


def change_industry(org: Organization, old_industry_id: int | None) -> None:
    """After a grassroots union's industry affiliation changed: move its figures across."""
    _lock()
    own = {
        key: value
        for key, value in OrgRollup.objects.filter(organization=org).values_list("key", "value")
        if value and not key.startswith((INDUSTRY_PREFIX, AFFILIATED_PREFIX))
    }
    chains = _Chains({org.pk})
    # Without an affiliation, a union in a national industry union's tree counts for it.
    tree_industry = chains.own_industry(chains.up(org.pk))
    # The unions below (its groups) hold the industry part of their own figures too.
    below = OrgRollup.objects.filter(
        scope.subtree_q(org, "organization__"), key__in=stats.by_industry_keys()
    ).exclude(organization=org)
    changes: Counter = Counter()
    for industry, sign in ((old_industry_id, -1), (org.industry_id, 1)):
        if industry:
            for key, value in own.items():
                changes[(industry, AFFILIATED_PREFIX + key)] += sign * value
        label = industry or tree_industry
        if not label:
            continue
        for node in chains.up(org.pk):
            for key in stats.by_industry_keys():
                if own.get(key):
                    changes[(node, f"{INDUSTRY_PREFIX}{label}.{key}")] += sign * own[key]
        for node, key, value in below.values_list("organization_id", "key", "value"):
            changes[(node, f"{INDUSTRY_PREFIX}{label}.{key}")] += sign * value
    _add(changes)


def forget_leaf(org: Organization) -> None:
    """Before deleting `org` (nothing under it): take its counters out of its ancestors."""
    _lock()
    fold()
    own = OrgCounter.objects.filter(organization=org).values_list("key", "value")
    _add(spread({(org.pk, key): -value for key, value in own}))


# --- Reading -------------------------------------------------------------------------------


def _key_q(keys: Iterable[str] | None, prefix: str | None) -> Q:
    q = Q()
    if keys is not None:
        q &= Q(key__in=list(keys))
    if prefix:
        q &= Q(key__startswith=prefix)
    return q


def _pending(orgs: list[Organization]) -> Counter:
    """What the waiting journal rows add to the roll-ups of `orgs`, grouped in SQL.

    The same attribution as `spread()` (which folds them later): a row counts for every
    reader whose subtree holds its organization (the readers' positions are read here, not
    taken from the objects); its industry is the union's own affiliation, a group's
    grassroots union's, or the national industry union whose tree it is in.
    """
    org = Organization._meta.db_table
    delta = CounterDelta._meta.db_table
    ids = [o.pk for o in orgs]
    marks = ", ".join(["%s"] * len(ids))
    by_industry = stats.by_industry_keys()
    industry_keys = ", ".join(["%s"] * len(by_industry))
    industry = "COALESCE(o.industry_id, p.industry_id, t.id)"
    sql = f"""
        SELECT r.id, d.key,
               CASE WHEN d.key IN ({industry_keys}) THEN {industry} END AS industry,
               SUM(d.delta)
        FROM {delta} d
        JOIN {org} o ON o.id = d.organization_id
        JOIN {org} r ON r.id IN ({marks}) AND (
            r.level = 'national'
            OR (r.tree_id = o.tree_id AND o.lft BETWEEN r.lft AND r.rght))
        LEFT JOIN {org} p ON o.level = 'group' AND p.id = o.parent_id
        LEFT JOIN {org} t ON t.tree_id = o.tree_id AND t.lft = 1
            AND t.tree_parent_id IS NULL AND t.level = 'industry'
        GROUP BY r.id, d.key, 3
    """  # noqa: S608
    out: Counter = Counter()
    # A read: where the routers send reads of the journal (a replica, for the dashboards).
    with connections[router.db_for_read(CounterDelta)].cursor() as cursor:
        cursor.execute(sql, [*by_industry, *ids])
        for reader, key, industry_id, total in cursor.fetchall():
            out[(reader, key)] += total
            if industry_id:
                out[(reader, f"{INDUSTRY_PREFIX}{industry_id}.{key}")] += total
        industries = [o.pk for o in orgs if o.level == Level.INDUSTRY]
        if industries:
            marks = ", ".join(["%s"] * len(industries))
            cursor.execute(
                f"""
                SELECT COALESCE(o.industry_id, p.industry_id), d.key, SUM(d.delta)
                FROM {delta} d
                JOIN {org} o ON o.id = d.organization_id
                LEFT JOIN {org} p ON o.level = 'group' AND p.id = o.parent_id
                WHERE COALESCE(o.industry_id, p.industry_id) IN ({marks})
                GROUP BY 1, d.key
                """,  # noqa: S608
                industries,
            )
            for reader, key, total in cursor.fetchall():
                out[(reader, AFFILIATED_PREFIX + key)] += total
    return Counter({k: int(v) for k, v in out.items() if v})


def totals(
    org: Organization, keys: Iterable[str] | None = None, prefix: str | None = None
) -> dict[str, int]:
    """The organization's subtree figures: {key: value}, exact (waiting changes included)."""
    return many_totals([org], keys, prefix)[org.pk]


def many_totals(
    orgs: list[Organization], keys: Iterable[str] | None = None, prefix: str | None = None
) -> dict[int, dict[str, int]]:
    """`totals` of several organizations at once (e.g. the children of one), by org id.

    Every key and the prefix must be declared (core.stats): a misspelt one raises instead
    of reading as zero."""
    keys = list(keys) if keys is not None else None
    if keys is not None:
        stats.check_all(keys)
    if prefix:
        stats.check_prefix(prefix)
    result: dict[int, Counter] = {org.pk: Counter() for org in orgs}
    if not orgs:
        return {}
    stored = OrgRollup.objects.filter(
        _key_q(keys, prefix), organization__in=[org.pk for org in orgs]
    ).values_list("organization_id", "key", "value")
    for org_id, key, value in stored:
        result[org_id][key] += value
    for (org_id, key), delta in _pending(orgs).items():
        if (keys is None or key in keys) and (not prefix or key.startswith(prefix)):
            result[org_id][key] += delta
    return {org_id: {k: v for k, v in c.items() if v} for org_id, c in result.items()}


# --- Verifying ------------------------------------------------------------------------------


def _expected_sql() -> str:
    org = Organization._meta.db_table
    counter = OrgCounter._meta.db_table
    delta = CounterDelta._meta.db_table
    # Declared key names (checked by core.stats: letters, digits, dots and underscores).
    by_industry = ", ".join(f"'{k}'" for k in stats.by_industry_keys())
    return f"""
    WITH RECURSIVE up(org_id, anc_id) AS (
        SELECT id, id FROM {org}
        UNION ALL
        SELECT up.org_id, o.parent_id FROM up JOIN {org} o ON o.id = up.anc_id
        WHERE o.parent_id IS NOT NULL
    ),
    src AS (
        SELECT organization_id, key, SUM(v) AS value FROM (
            SELECT organization_id, key, value AS v FROM {counter}
            UNION ALL
            SELECT organization_id, key, -delta AS v FROM {delta}
        ) s GROUP BY organization_id, key
    ),
    affiliated AS (
        SELECT o.id, COALESCE(o.industry_id, CASE WHEN o.level = 'group'
                                                 THEN p.industry_id END) AS industry_id
        FROM {org} o LEFT JOIN {org} p ON p.id = o.parent_id
    ),
    own AS (
        SELECT up.org_id, a.id AS industry_id FROM up
        JOIN {org} a ON a.id = up.anc_id JOIN {org} n ON n.id = a.parent_id
        WHERE a.level = 'industry' AND n.level = 'national'
    ),
    expected AS (
        SELECT up.anc_id AS organization_id, src.key AS key, SUM(src.value) AS value
        FROM src JOIN up ON up.org_id = src.organization_id
        GROUP BY up.anc_id, src.key
        UNION ALL
        SELECT up.anc_id,
               'industry.' || CAST(COALESCE(af.industry_id, own.industry_id) AS TEXT)
                   || '.' || src.key,
               SUM(src.value)
        FROM src JOIN up ON up.org_id = src.organization_id
        JOIN affiliated af ON af.id = src.organization_id
        LEFT JOIN own ON own.org_id = src.organization_id
        WHERE src.key IN ({by_industry})
          AND COALESCE(af.industry_id, own.industry_id) IS NOT NULL
        GROUP BY up.anc_id, COALESCE(af.industry_id, own.industry_id), src.key
        UNION ALL
        SELECT af.industry_id, 'affiliated.' || src.key, SUM(src.value)
        FROM src JOIN affiliated af ON af.id = src.organization_id
        WHERE af.industry_id IS NOT NULL
        GROUP BY af.industry_id, src.key
    )"""  # noqa: S608


def _big_query(cursor) -> None:
    """For the one-statement checks over every counter: memory to aggregate in, and no JIT
    (the recursive CTE's estimates are far off; compiling costs more than it saves)."""
    if connection.vendor == "postgresql":
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL jit = off")


@dataclass
class Drift:
    checked: int = 0
    wrong: dict[tuple[int, str], tuple[int, int]] = field(default_factory=dict)  # stored, true

    @property
    def ok(self) -> bool:
        return not self.wrong


def verify() -> Drift:
    """Compare every stored roll-up with the sum of the counters below it (one statement)."""
    rollup = OrgRollup._meta.db_table
    sql = f"""{_expected_sql()}
    SELECT e.organization_id, e.key, COALESCE(r.value, 0), e.value, 0
    FROM expected e
    LEFT JOIN {rollup} r ON r.organization_id = e.organization_id AND r.key = e.key
    WHERE COALESCE(r.value, 0) <> e.value
    UNION ALL
    SELECT r.organization_id, r.key, r.value, 0, 0 FROM {rollup} r
    WHERE r.value <> 0 AND NOT EXISTS (
        SELECT 1 FROM expected e WHERE e.organization_id = r.organization_id AND e.key = r.key)
    UNION ALL
    SELECT NULL, NULL, 0, 0, COUNT(*) FROM expected
    """  # noqa: S608
    drift = Drift()
    with transaction.atomic(), connection.cursor() as cursor:
        _big_query(cursor)
        cursor.execute(sql)
        for org_id, key, stored, true, n in cursor.fetchall():
            if org_id is None:
                drift.checked = int(n)
            else:
                drift.wrong[(org_id, key)] = (int(stored), int(true))
    return drift


def repair(drift: Drift) -> int:
    """Add each difference found by `verify` (increments commute with concurrent folds)."""
    with transaction.atomic():
        _add({counter: true - stored for counter, (stored, true) in drift.wrong.items()})
    return len(drift.wrong)


def rebuild() -> int:
    """Recompute every roll-up from the counters (after a bulk load); returns rows written."""
    rollup = OrgRollup._meta.db_table
    with transaction.atomic():
        _lock()
        fold()
        with connection.cursor() as cursor:
            _big_query(cursor)
            if connection.vendor == "postgresql":
                cursor.execute(f"TRUNCATE {rollup}")
            else:
                OrgRollup.objects.all().delete()
            cursor.execute(
                f"""{_expected_sql()}
                INSERT INTO {rollup} (organization_id, key, value)
                SELECT organization_id, key, value FROM expected WHERE value <> 0
                """  # noqa: S608
            )
            return cursor.rowcount
