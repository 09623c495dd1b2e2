"""Exporting a subtree in the import template's layout, so that it imports back unchanged."""

from __future__ import annotations

from collections.abc import Iterator

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from core.spreadsheets import safe_cell

from .. import scope
from ..models import Level, Organization, OrgStatus
from .columns import COLUMNS, level_label
from .template import write_unions_workbook

__all__ = ["export_subtree"]

# Rows fetched from the database per round trip of the server-side cursor.
CHUNK_SIZE = 2000

_FIELDS = (
    "pk",
    "name",
    "short_name",
    "uscc",
    "level",
    "region_code",
    "employees",
    "founded_on",
    "address",
    "contact_phone",
    "parent_id",
    "parent__uscc",
    "industry__uscc",
    "industry__name",
)


def export_subtree(*, root: Organization, acting_user) -> bytes:
    """An XLSX, in the import template's layout, of every active union strictly below `root`.

    `root` itself is not listed: it is the union the file is imported under. Unions come in
    tree order (each after its parent); dissolved ones are left out. 编号 is the union's id;
    the parent is named by its credit code, or by its id (上级工会编号) when it has none, so
    checking the file under `root` finds every row unchanged. The officers sheet keeps its
    headers only: officers' mobile numbers are personal data, kept by the accounts app, and
    do not leave it through a union export.

    Refused with PermissionDenied when `acting_user` may not see `root`; `None` is the
    system (a management command), as in the actions.
    """
    if acting_user is not None and not scope.can(acting_user, scope.Access.VIEW, root):
        raise PermissionDenied(_("This organization is outside your area of responsibility."))
    # Fresh tree positions: the caller's object may predate an import that shifted them.
    root = Organization.objects.only("pk", "level", "tree_id", "lft", "rght").get(pk=root.pk)
    return write_unions_workbook(_rows(root))


def _rows(root: Organization) -> Iterator[list]:
    labels = {level.value: level_label(level) for level in Level}
    # One statement, streamed through a server-side cursor: one snapshot of the tree even
    # while another import writes it, and plain tuples (no model instances) for 100,000 rows.
    unions = (
        Organization.objects.filter(scope.subtree_q(root), status=OrgStatus.ACTIVE)
        .exclude(pk=root.pk)
        # (tree, lft) is pre-order: parents first. Under the national federation every other
        # tree's root hangs from the federation itself, the file's anchor.
        .order_by("tree_id", "lft")
        .values_list(*_FIELDS, named=True)
        .iterator(chunk_size=CHUNK_SIZE)
    )
    for union in unions:
        cells = {
            "ref": str(union.pk),
            "name": union.name,
            "short_name": union.short_name,
            "uscc": union.uscc,
            "parent_uscc": union.parent__uscc,
            "parent_ref": "" if union.parent__uscc else str(union.parent_id),
            "level": labels[union.level],
            "region_code": union.region_code,
            # The checker finds an industry union by credit code, name or short name; the
            # code is the unambiguous one.
            "industry": union.industry__uscc or union.industry__name or "",
            "employees": union.employees,
            "founded_on": union.founded_on.isoformat() if union.founded_on else "",
            "address": union.address,
            "contact_phone": union.contact_phone,
        }
        yield [_cell(cells[column.field]) for column in COLUMNS]


def _cell(value):
    if value == "":
        return None  # no cell at all: smaller files
    return safe_cell(value)
