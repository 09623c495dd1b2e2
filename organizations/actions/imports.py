"""Importing a union spreadsheet: a whole province in one bulk write per tree.

`import_unions` re-checks the file's rows inside its transaction (holding the locks of the
trees it writes), then writes every new union at once: the nested-set positions of the new
unions are computed in memory, the existing rows of each affected tree are shifted by one
UPDATE (not one per row) and the new rows go in by COPY (`core.bulk`). Counters of the new
unions go in with one `counters.adjust` call; one audit entry records the import. Changed
rows update their union; a union whose parent changed is moved with `move_organization`
(one shift per moved union; moves are rare). Readers see the whole import or nothing: it is
one transaction, and other provinces' rows are neither rewritten nor locked.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _

from core import bulk
from core.audit import record_audit

from .. import counters, rollups
from ..importing.checker import CREATE, DATA_FIELDS, UPDATE, Plan, UnionRow, resolve
from ..models import Level, Organization
from . import (
    NEW_TREE_KEY,
    _acquire,
    _check_can_change,
    _tree_parent_for,
    move_organization,
)

__all__ = ["ImportRefused", "import_unions"]

# Audit entries keep at most this many created ids (the count is always exact).
AUDIT_IDS = 100_000


class ImportRefused(ValidationError):
    """The rows no longer pass the check inside the writing transaction."""

    def __init__(self, plan: Plan):
        self.plan = plan
        super().__init__(_("The file no longer passes the check; nothing was written."))


def import_unions(*, plan: Plan, acting_user=None) -> dict:
    """Write a checked plan (`importing.checker.check`); returns the counts and created ids.

    The rows are resolved again inside the transaction, under the locks of every tree the
    import writes, so a union that was added, moved or dissolved since the check cannot be
    written over. Refused with `ImportRefused` (the plan then holds the errors).
    """
    _check_can_change(acting_user, plan.under)
    if plan.errors:
        raise ImportRefused(plan)
    with transaction.atomic(durable=True):
        _lock_trees(plan)
        plan.under.refresh_from_db()
        plan.errors.clear()
        resolve(plan, acting_user=acting_user)
        if plan.errors:
            raise ImportRefused(plan)
        created = _create(plan)
        updated = _update(plan, acting_user)
        moved = _move(plan, acting_user)
        counts = {**plan.counts(), "missing": plan.missing}
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
    return {**counts, "created_ids": created}


def _lock_trees(plan: Plan) -> None:
    """The advisory locks of the trees the rows write in (and of new tree ids if needed)."""
    under = plan.under
    keys = set()
    if under.level == Level.NATIONAL:
        keys.add(NEW_TREE_KEY)
        keys.update(Organization.objects.filter(parent=under).values_list("tree_id", flat=True))
    else:
        keys.add(Organization.objects.values_list("tree_id", flat=True).get(pk=under.pk))
    _acquire(keys, set())


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
    orgs: list[Organization] = []
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
                children, children[anchor.pk], anchor, tree_id, start, anchor.depth + 1, orgs, ids
            )
            by_tree[tree_id].append((anchor.rght, count))
            shift += count
    if new_roots:
        national = next(o for o in anchors.values() if o.level == Level.NATIONAL)
        first = _next_tree_id()
        for offset, root in enumerate(new_roots):
            _place(children, [root], national, first + offset, 1, 0, orgs, ids)
    for tree_id, points in by_tree.items():
        _shift(tree_id, points)
    bulk.insert(Organization, orgs)
    for org in orgs:
        org._import_row.pk = org.pk
    changes: Counter = Counter()
    for org in orgs:
        changes.update(counters.organization_keys(org))
    counters.adjust(changes)
    return [org.pk for org in orgs]


def _group(anchors):
    by_tree = defaultdict(list)
    for anchor in anchors:
        by_tree[anchor.tree_id].append(anchor)
    return sorted(by_tree.items())


def _place(children, rows, parent, tree_id, start, depth, orgs, ids) -> int:
    """Number `rows` and their new descendants from `start`, depth first; append the new
    unions to `orgs`; returns how many were placed."""
    position = start
    placed = 0
    # An explicit stack: (row, parent union, depth, entered?).
    stack = [(row, parent, depth, False) for row in reversed(rows)]
    open_orgs = {}
    while stack:
        row, parent_org, level_depth, entered = stack.pop()
        if entered:
            open_orgs.pop(id(row)).rght = position
            position += 1
            continue
        org = Organization(
            **{f: row.data.get(f) for f in DATA_FIELDS},
            pk=next(ids),
            parent_id=parent_org.pk,
            tree_parent_id=_tree_parent_id(parent_org),
            tree_id=tree_id,
            lft=position,
            depth=level_depth,
        )
        org.fill_search_keys()
        org._import_row = row
        position += 1
        placed += 1
        orgs.append(org)
        open_orgs[id(row)] = org
        stack.append((row, org, level_depth, True))
        for child in reversed(children.get(row, ())):
            stack.append((child, org, level_depth + 1, False))
    return placed


def _tree_parent_id(parent: Organization):
    tree_parent = _tree_parent_for(parent)
    return tree_parent.pk if tree_parent is not None else None


def _next_tree_id() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE(MAX(tree_id), 0) + 1 FROM {Organization._meta.db_table}"  # noqa: S608
        )
        return cursor.fetchone()[0]


def _shift(tree_id: int, points: list[tuple[int, int]]) -> None:
    """Make room in one tree: every lft/rght at or after an insertion point moves right by
    twice the unions inserted at or before it. One UPDATE for the whole tree."""
    table = Organization._meta.db_table
    values = ", ".join(["(%s, %s)"] * len(points))
    params = [v for point in points for v in point]
    sql = (
        f"WITH ins(at, n) AS (VALUES {values}) "  # noqa: S608
        f"UPDATE {table} SET "
        "lft = lft + 2 * COALESCE((SELECT SUM(n) FROM ins WHERE ins.at <= lft), 0), "
        "rght = rght + 2 * COALESCE((SELECT SUM(n) FROM ins WHERE ins.at <= rght), 0) "
        "WHERE tree_id = %s AND rght >= %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, tree_id, min(at for at, _n in points)])


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
    moved = []
    for row in plan.rows:
        if not row.moved:
            continue
        parent_pk = (
            row.parent_org.pk
            if row.parent_org is not None
            else (row.parent_row.existing.pk if row.parent_row.existing else row.parent_row.pk)
        )
        move_organization(
            organization=Organization.objects.get(pk=row.existing.pk),
            new_parent=Organization.objects.get(pk=parent_pk),
            acting_user=acting_user,
        )
        moved.append(row.existing.pk)
    return moved
