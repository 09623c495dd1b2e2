"""Other sheets of the union workbook, read and written by the apps that own their data.

The union sheet (工会) is this app's. A higher app registers a further sheet with
`register_sheet`: the accounts app reads the officers (工会干部), creates or matches their
accounts and grants their roles. A part's `check(plan, table)` reads its rows, adds errors
to the plan (row, column, reason) and keeps what it read in `plan.parts[sheet]`; it runs
after the unions are resolved, so `union_finder(plan)` can tell which union a cell names.
Its `write(plan, acting_user)` runs inside the import's transaction after the unions are
written (every row then has its union's id) and returns counts for the job's result and
the audit entry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from django.utils.translation import gettext as _

from .. import validators
from ..models import Organization, OrgStatus
from . import checker

__all__ = ["SheetPart", "parts", "register_sheet", "union_finder"]


@dataclasses.dataclass(frozen=True)
class SheetPart:
    sheet: str
    check: Callable  # (plan, table) -> None
    write: Callable  # (plan, acting_user) -> dict
    order: int = 100


_PARTS: dict[str, SheetPart] = {}


def register_sheet(part: SheetPart) -> None:
    _PARTS[part.sheet] = part


def parts() -> list[SheetPart]:
    return sorted(_PARTS.values(), key=lambda p: (p.order, p.sheet))


def union_finder(plan) -> Callable[[str], tuple[object | None, str]]:
    """A lookup of the union a cell names: a row of the file (by its credit code or 编号)
    or a union in the importer's subtree (by credit code or number). Returns (row or
    Organization, "") or (None, the reason in the user's language)."""
    by_code, by_ref = {}, {}
    for row in plan.rows:
        if row.data.get("uscc"):
            by_code.setdefault(row.data["uscc"], row)
        if row.ref:
            by_ref.setdefault(row.ref, row)
    under = plan.under

    def find(text: str):
        text = (text or "").strip()
        if not text:
            return None, _("Name the union by its credit code or its number.")
        code = validators.normalize_uscc(text)
        row = by_code.get(code) or by_ref.get(text)
        if row is not None:
            return (row, "") if row.ok else (None, _("That union's row has errors."))
        query = Organization.objects.filter(uscc=code) if len(code) == 18 else None
        if query is None and text.isdigit():
            query = Organization.objects.filter(pk=int(text))
        org = query.first() if query is not None else None
        if org is None:
            return None, _("No union in the file or in UnionHub has this code or number.")
        if not checker.within(under, org):
            return None, _("This union is outside the part of the tree you import into.")
        if org.status != OrgStatus.ACTIVE:
            return None, _("This union is dissolved.")
        return org, ""

    return find
