"""Importing a union spreadsheet: a whole province in one bulk write per tree.

`import_unions` re-checks the file's rows inside its transaction (holding the locks of the
trees it writes), then writes every new union at once: the nested-set positions of the new
unions are computed in memory, the existing rows of each affected tree are shifted by one
UPDATE (not one per row) and the new rows go in by COPY (`core.bulk`). Counters of the new
unions go in with one `counters.adjust` call; one audit entry records the import. Changed
rows update their union; unions whose parent changed get their new parent links, then each
tree is renumbered once (`integrity.renumber_tree`). Readers see the whole import or
nothing: it is one transaction, and other provinces' rows are neither rewritten nor locked.
The further sheets of the workbook (`importing.parts`: the officers) are written last, in
the same transaction. On the embedded SQLite database the same steps run without
PostgreSQL's COPY, arrays and advisory locks (`BEGIN IMMEDIATE` serializes writers).
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _

from core import bulk
from core.audit import record_audit

from .. import counters, integrity, rollups, scope, validators
from ..importing import parts
from ..importing.checker import CREATE, DATA_FIELDS, UPDATE, Plan, UnionRow, resolve
from ..models import Level, Organization
from . import (
    _check_can_change,
    _tree_parent_for,
    move_organization,
    retry_on_tree_race,
    tree_write,
)

__all__ = ["ImportRefused", "import_unions"]

# Audit entries keep at most this many created ids (the count is always exact).
AUDIT_IDS = 100_000


class ImportRefused(ValidationError):
    """The rows no longer pass the check inside the writing transaction."""

    def __init__(self, plan: Plan):
        self.plan = plan
        super().__init__(_("The file no longer passes the check; nothing was written."))


@retry_on_tree_race
def import_unions(*, plan: Plan, acting_user=None, then=None) -> dict:
    """Write a checked plan (`importing.checker.check`); returns the counts and created ids.

    The rows are resolved again inside the transaction, under the locks of every tree the
    import writes, so a union that was added, moved or dissolved since the check cannot be
    written over. Refused with `ImportRefused` (the plan then holds the errors). `then(result)`
    runs last inside the same transaction (an import job records that it is done).
    """
    _check_can_change(acting_user, plan.under)
    if plan.errors:
        raise ImportRefused(plan)
    with (
        bulk.gc_paused(),
        transaction.atomic(durable=True),
        _locked_trees(plan.under) as (under, *_others),
    ):
        plan.under = under
        plan.errors.clear()
        resolve(plan, acting_user=acting_user)
        if plan.errors:
            raise ImportRefused(plan)
        created = _create(plan)
        updated = _update(plan, acting_user)
        moved = _move(plan, acting_user)
        counts = {**plan.counts(), "missing": plan.missing}
        if acting_user is not None:
            scope.forget(acting_user)  # the tree has grown: grants are read again
        for part in parts.parts():
            if part.sheet in plan.parts:
                counts.update(part.write(plan, acting_user))
        record_audit(
            actor=acting_user,
            action="organization.import",
            obj=plan.under,
            organization=plan.under,
            changes={
                **counts,
                "created_ids": created[:AUDIT_IDS],
                "updated_ids": updated[:AUDIT_IDS],
                "moved_ids": moved[:AUDIT_IDS],
            },
        )
        result = {**counts, "created_ids": created}
        if then is not None:
            then(result)
    return result


def _locked_trees(under: Organization):
    """`tree_write` over the trees the rows write in: the tree of the union imported under
    (re-read once locked, so a move of it meanwhile is followed), or below the national
    federation every province's and the allocation of new tree ids."""
    if under.level == Level.NATIONAL:
        return tree_write(under, *Organization.objects.filter(parent=under), new_tree=True)
    return tree_write(under)


# --- New unions: positions in memory, one shift per tree, COPY -------------------------------


def _create(plan: Plan) -> list[int]:
    new = [row for row in plan.rows if row.outcome == CREATE]
    if not new:
        return []
    children: dict[object, list[UnionRow]] = defaultdict(list)
    for row in new:
        key = row.parent_row if row.parent_row is not None else row.parent_org.pk
        if row.parent_row is not None and row.parent_row.existing is not None:
            key = row.parent_row.existing.pk  # an existing union listed in the file
        children[key].append(row)
    anchors = {
        org.pk: org
        for org in Organization.objects.filter(
            pk__in=[k for k in children if isinstance(k, int)]
        ).only("pk", "level", "tree_id", "lft", "rght", "depth")
    }
    rows: list[list] = []  # the new unions' values, in the order of _COLUMNS
    ids = iter(bulk.allocate_ids(Organization, len(new)))
    by_tree: dict[int, list[tuple[int, int]]] = defaultdict(list)
    new_roots = []
    for tree_id, tree_anchors in _group(anchors.values()):
        shift = 0
        for anchor in sorted(tree_anchors, key=lambda o: o.rght):
            if anchor.level == Level.NATIONAL:
                new_roots.extend(children[anchor.pk])
                continue
            start = anchor.rght + 2 * shift
            count = _place(
                children, children[anchor.pk], anchor, tree_id, start, anchor.depth + 1, rows, ids
            )
            by_tree[tree_id].append((anchor.rght, count))
            shift += count
    if new_roots:
        national = next(o for o in anchors.values() if o.level == Level.NATIONAL)
        first = Organization._tree_manager._get_next_tree_id()  # django-mptt's own
        for offset, root in enumerate(new_roots):
            _place(children, [root], national, first + offset, 1, 0, rows, ids)
    for tree_id, points in by_tree.items():
        _shift(tree_id, points)
    bulk.insert_values(Organization, _COLUMNS, rows)
    changes = {}
    for values in rows:
        changes.update(counters.active_union_keys(values[_PK], values[_LEVEL], values[_EMPLOYEES]))
    counters.adjust(changes, new=True)
    return [values[_PK] for values in rows]


# The columns `_place` gives each new union, and the positions of those read again.
_COLUMNS = (
    *DATA_FIELDS,
    "name_pinyin",
    "name_initials",
    "id",
    "parent_id",
    "tree_parent_id",
    "tree_id",
    "lft",
    "rght",
    "depth",
)
_PK, _LEVEL, _EMPLOYEES, _RGHT = (
    _COLUMNS.index(name) for name in ("id", "level", "employees", "rght")
)


def _group(anchors):
    by_tree = defaultdict(list)
    for anchor in anchors:
        by_tree[anchor.tree_id].append(anchor)
    return sorted(by_tree.items())


def _place(children, rows, anchor, tree_id, start, depth, out, ids) -> int:
    """Number `rows` (new children of the union `anchor`, at `depth`) and their new
    descendants from `start`, depth first; append the new unions' values (`_COLUMNS`) to
    `out` and set each row's new id; returns how many were placed."""
    position = start
    placed = 0
    # An explicit stack: (row, parent id, tree parent id, depth, values once entered).
    anchor_ids = anchor.pk, _tree_parent_id(anchor)
    stack = [(row, *anchor_ids, depth, None) for row in reversed(rows)]
    while stack:
        row, parent_id, tree_parent_id, depth, values = stack.pop()
        if values is not None:
            values[_RGHT] = position
            position += 1
            continue
        row.pk = next(ids)
        values = [
            *(row.data.get(f) for f in DATA_FIELDS),
            *validators.search_keys(row.data["name"], row.data["short_name"]),
            row.pk,
            parent_id,
            tree_parent_id,
            tree_id,
            position,
            None,  # rght, once the row's subtree is placed
            depth,
        ]
        position += 1
        placed += 1
        out.append(values)
        stack.append((row, parent_id, tree_parent_id, depth, values))
        for child in reversed(children.get(row, ())):
            stack.append((child, row.pk, row.pk, depth + 1, None))
    return placed


def _tree_parent_id(parent: Organization):
    tree_parent = _tree_parent_for(parent)
    return tree_parent.pk if tree_parent is not None else None


def _shift(tree_id: int, points: list[tuple[int, int]]) -> None:
    """Make room in one tree: every lft/rght at or after an insertion point moves right by
    twice the unions inserted at or before it. One UPDATE for the whole tree."""
    table = Organization._meta.db_table
    points = sorted(points)
    # inserted[k]: the unions inserted at the first k points; width_bucket(v, ats) is how
    # many points are at or before v (a binary search: a province's import into its ~1,000
    # townships shifts 100,000 rows, and a scan of the points for each row took 20 s).
    ats, inserted = [at for at, _n in points], [0]
    for _at, count in points:
        inserted.append(inserted[-1] + count)
    if connection.vendor != "postgresql":
        _shift_rows(tree_id, ats, inserted)
        return
    sql = (
        f"UPDATE {table} SET "  # noqa: S608
        "lft = lft + 2 * (%(inserted)s::integer[])[width_bucket(lft, %(ats)s::integer[]) + 1], "
        "rght = rght + 2 * (%(inserted)s::integer[])[width_bucket(rght, %(ats)s::integer[]) + 1] "
        "WHERE tree_id = %(tree)s AND rght >= %(first)s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"inserted": inserted, "ats": ats, "tree": tree_id, "first": ats[0]})


def _shift_rows(tree_id: int, ats: list[int], inserted: list[int]) -> None:
    """The same shift without PostgreSQL's arrays (the embedded SQLite database): the
    rows are read, moved in Python and written back in batches."""
    rows = list(
        Organization.objects.filter(tree_id=tree_id, rght__gte=ats[0]).only("pk", "lft", "rght")
    )
    for org in rows:
        org.lft += 2 * inserted[bisect.bisect_right(ats, org.lft)]
        org.rght += 2 * inserted[bisect.bisect_right(ats, org.rght)]
    Organization.objects.bulk_update(rows, ["lft", "rght"], batch_size=500)


# --- Changed unions -----------------------------------------------------------------------


def _update(plan: Plan, acting_user) -> list[int]:
    changed = [row for row in plan.rows if row.outcome == UPDATE]
    updated = []
    delta: Counter = Counter()
    for row in changed:
        org = row.existing
        fields = [f for f in DATA_FIELDS if getattr(org, f) != row.data.get(f)]
        if not fields:
            continue
        before = Organization.objects.get(pk=org.pk)
        for field in fields:
            setattr(org, field, row.data.get(field))
        org.fill_search_keys()
        Organization.objects.filter(pk=org.pk).update(
            **{f: getattr(org, f) for f in fields},
            name_pinyin=org.name_pinyin,
            name_initials=org.name_initials,
        )
        delta.update(counters.organization_delta(before, org))
        if before.industry_id != org.industry_id:
            rollups.change_industry(org, before.industry_id)
        updated.append(org.pk)
    counters.adjust(dict(delta))
    return updated


def _move(plan: Plan, acting_user) -> list[int]:
    """Unions whose parent changed: their parent links change one by one (each with its
    roll-up carried to the new ancestors and its audit entry, as `move_organization` does),
    then each affected tree is renumbered once (`integrity.renumber_tree`), instead of one
    nested-set shift of the province per moved union."""
    rows = [row for row in plan.rows if row.moved]
    if not rows:
        return []
    if plan.under.level == Level.NATIONAL:
        # Moves between provinces' trees (and new tree ids): the single-union path.
        return _move_one_by_one(rows, acting_user)
    moved, trees = [], set()
    for row in sorted(rows, key=_final_depth):
        org = Organization.objects.get(pk=row.existing.pk)
        parent = Organization.objects.get(pk=_new_parent_pk(row))
        old_parent_id = org.parent_id
        Organization.objects.filter(pk=org.pk).update(
            parent=parent, tree_parent=_tree_parent_for(parent)
        )
        org.parent_id = parent.pk
        rollups.move_subtree(org, old_parent_id)
        record_audit(
            actor=acting_user,
            action="organization.move",
            obj=org,
            organization=org,
            changes={"parent": [old_parent_id, parent.pk], "import": True},
        )
        moved.append(org.pk)
        trees.add(org.tree_id)
    for tree_id in trees:
        integrity.renumber_tree(tree_id, last=set(moved))
    return moved


def _new_parent_pk(row: UnionRow) -> int:
    if row.parent_org is not None:
        return row.parent_org.pk
    parent = row.parent_row
    return parent.existing.pk if parent.existing is not None else parent.pk


def _final_depth(row: UnionRow) -> int:
    """How deep the row sits in the file's tree once imported (parents move first)."""
    depth = 0
    while row.parent_row is not None and depth < 100:
        row, depth = row.parent_row, depth + 1
    return depth


def _move_one_by_one(rows: list[UnionRow], acting_user) -> list[int]:
    moved = []
    for row in rows:
        move_organization(
            organization=Organization.objects.get(pk=row.existing.pk),
            new_parent=Organization.objects.get(pk=_new_parent_pk(row)),
            acting_user=acting_user,
        )
        moved.append(row.existing.pk)
    return moved
