"""Verify the stored MPTT fields against the parent links, and repair a broken tree."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection

from .actions import tree_write
from .models import Level, Organization


@dataclass
class TreeReport:
    tree_id: int
    nodes: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _expected_positions(rows):
    """Recompute (lft, rght, depth) by walking the parent links, keeping sibling order."""
    children = defaultdict(list)
    roots = []
    for pk, tree_parent_id, lft, *_rest in rows:
        (children[tree_parent_id] if tree_parent_id else roots).append((lft, pk))
    expected = {}
    counter = 0
    for _lft, root in sorted(roots):
        # Iterative depth-first walk: deep trees must not hit Python's recursion limit.
        stack = [(root, 0, False)]
        while stack:
            pk, depth, closing = stack.pop()
            counter += 1
            if closing:
                expected[pk] = (expected[pk][0], counter, depth)
                continue
            expected[pk] = (counter, None, depth)
            stack.append((pk, depth, True))
            for _c_lft, child in sorted(children.get(pk, ()), reverse=True):
                stack.append((child, depth + 1, False))
        counter = 0
    return expected, roots


def renumber_tree(tree_id: int, *, last: frozenset[int] | set[int] = frozenset()) -> int:
    """Recompute one tree's nested sets from its MPTT parent links and write the rows whose
    values changed in one statement; returns how many. Call holding the tree's lock.

    The bulk path of several moves at once (the union import): their parent links are
    changed first, then the tree is renumbered once instead of shifted once per move.
    Siblings keep their order; the unions in `last` come after their new siblings, where
    django-mptt puts a moved node (last child).
    """
    rows = list(
        Organization.objects.filter(tree_id=tree_id).values_list(
            "pk", "tree_parent_id", "lft", "rght", "depth"
        )
    )
    if not rows:
        return 0
    tail = max(row[3] for row in rows) + 1
    keyed = [(pk, parent, lft + tail if pk in last else lft) for pk, parent, lft, *_r in rows]
    expected, _roots = _expected_positions(keyed)
    changed = [
        (pk, *expected[pk])
        for pk, _p, lft, rght, depth in rows
        if expected[pk] != (lft, rght, depth)
    ]
    if not changed:
        return 0
    if connection.vendor == "postgresql":
        table = Organization._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS o SET lft = n.lft, rght = n.rght, depth = n.depth "  # noqa: S608
                "FROM unnest(%s::integer[], %s::integer[], %s::integer[], %s::integer[]) "
                "AS n(id, lft, rght, depth) WHERE o.id = n.id",
                [list(column) for column in zip(*changed, strict=True)],
            )
    else:
        objs = [
            Organization(pk=pk, lft=lft, rght=rght, depth=depth) for pk, lft, rght, depth in changed
        ]
        Organization.objects.bulk_update(objs, ["lft", "rght", "depth"], batch_size=500)
    return len(changed)


def verify_tree(tree_id: int) -> TreeReport:
    rows = list(
        Organization.objects.filter(tree_id=tree_id)
        .order_by("lft")
        .values_list("pk", "tree_parent_id", "lft", "rght", "depth", "parent_id", "parent__level")
    )
    report = TreeReport(tree_id=tree_id, nodes=len(rows))
    expected, roots = _expected_positions(rows)
    if len(roots) != 1:
        report.problems.append(f"tree {tree_id} has {len(roots)} roots")
    ids = {row[0] for row in rows}
    for pk, tree_parent_id, lft, rght, depth, parent_id, parent_level in rows:
        if tree_parent_id and tree_parent_id not in ids:
            report.problems.append(f"#{pk}: MPTT parent #{tree_parent_id} is in another tree")
            continue
        want = expected.get(pk)
        if want is None:
            report.problems.append(f"#{pk}: not reachable from the tree's root")
        elif want != (lft, rght, depth):
            report.problems.append(
                f"#{pk}: lft/rght/depth {lft}/{rght}/{depth}, "
                f"expected {want[0]}/{want[1]}/{want[2]}"
            )
        # The MPTT parent equals the logical parent, except below the national federation.
        wanted_tree_parent = None if parent_level in (None, Level.NATIONAL) else parent_id
        if tree_parent_id != wanted_tree_parent:
            report.problems.append(
                f"#{pk}: MPTT parent #{tree_parent_id} differs from parent #{parent_id}"
            )
    return report


def verify_all() -> list[TreeReport]:
    tree_ids = Organization.objects.order_by().values_list("tree_id", flat=True).distinct()
    return [verify_tree(t) for t in sorted(tree_ids)]


def repair_tree(tree_id: int) -> TreeReport:
    """Rebuild one tree's MPTT fields from the parent links, holding the tree's lock."""
    root = Organization.objects.filter(tree_id=tree_id).order_by("lft").first()
    if root is None:
        return TreeReport(tree_id=tree_id)
    with tree_write(root):
        # Align the MPTT parent with the logical parent first, then renumber.
        for org in Organization.objects.filter(tree_id=tree_id).select_related("parent"):
            wanted = (
                None if org.parent is None or org.parent.level == Level.NATIONAL else org.parent
            )
            if org.tree_parent_id != (wanted.pk if wanted else None):
                Organization.objects.filter(pk=org.pk).update(tree_parent=wanted)
        Organization.objects.partial_rebuild(tree_id)
    return verify_tree(tree_id)
