"""Checking a union spreadsheet: validation only, it writes nothing.

`read_rows` reads the file a row at a time into `UnionRow`s, checking each cell on its own.
`resolve` then checks the rows against each other and the database: duplicates, parents
(another row, in any order, or a union in the importer's subtree), cycles of parents, levels
under their parents, and whether a row is a new union, an update of one already in
UnionHub, or unchanged. Both add errors `{"row", "column", "message"}` to a `Plan`; the
import action (`organizations.actions.imports`) writes a plan only when it has none, and
resolves the rows again inside its transaction.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
from collections import defaultdict

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from core import bulk, spreadsheets
from core.text import validate_plain_text

from .. import scope, selectors, validators
from ..models import LEVEL_RANK, Level, Organization, OrgStatus
from . import parts
from .columns import BY_FIELD, COLUMNS, level_words

__all__ = ["CREATE", "UNCHANGED", "UPDATE", "Plan", "UnionRow", "check", "read_rows", "resolve"]

CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"

# The fields a row sets on its union (the rest of a row names its place in the tree).
DATA_FIELDS = (
    "name",
    "short_name",
    "uscc",
    "level",
    "region_code",
    "industry_id",
    "employees",
    "founded_on",
    "address",
    "contact_phone",
)
_MAX_LENGTH = {"name": 200, "short_name": 60, "address": 255, "ref": 40}
_PLAIN_TEXT = {
    field: functools.partial(validate_plain_text, max_length=length)
    for field, length in _MAX_LENGTH.items()
}


@dataclasses.dataclass(slots=True, eq=False)
class UnionRow:
    number: int  # the row number the user sees
    ref: str = ""
    parent_uscc: str = ""
    parent_ref: str = ""
    data: dict = dataclasses.field(default_factory=dict)
    ok: bool = True
    # Filled by resolve():
    existing: Organization | None = None
    parent_row: UnionRow | None = None
    parent_org: Organization | None = None
    outcome: str = CREATE
    moved: bool = False
    # Filled by the writer: the new union's id and nested-set position.
    pk: int | None = None

    @property
    def parent_level(self) -> str | None:
        if self.parent_row is not None:
            return self.parent_row.data.get("level")
        return self.parent_org.level if self.parent_org is not None else None


@dataclasses.dataclass
class Plan:
    under: Organization
    rows: list[UnionRow] = dataclasses.field(default_factory=list)
    errors: list[dict] = dataclasses.field(default_factory=list)
    # Unions in the importer's subtree that the file does not list (reported, never deleted).
    missing: int = 0
    # What the further sheets (`importing.parts`) read, by sheet name.
    parts: dict = dataclasses.field(default_factory=dict)
    # The national industry unions by name, short name and code (read at the first row
    # that names one).
    industries: dict | None = None

    def error(self, row: int | None, column: str, message: str, *, sheet: str = "") -> None:
        entry = {"row": row, "column": column, "message": str(message)}
        if sheet:
            entry["sheet"] = sheet
        self.errors.append(entry)

    def counts(self) -> dict[str, int]:
        counts = {CREATE: 0, UPDATE: 0, UNCHANGED: 0, "moved": 0}
        for row in self.rows:
            counts[row.outcome] += 1
            counts["moved"] += row.moved
        return counts


# --- Reading ---------------------------------------------------------------------------------


# The sheet of the workbook that holds the unions (the first one if no sheet has this name).
SHEET = "工会"
PROGRESS_EVERY = 1000


def check(
    file,
    filename: str,
    *,
    under: Organization,
    acting_user=None,
    progress=None,
    max_rows: int | None = None,
) -> Plan:
    """Read and resolve a whole file, then the further sheets other apps read (officers);
    the plan's errors say what is wrong with it. `progress(rows read)` is called now and
    then while the union sheet is read."""
    with bulk.gc_paused():
        plan = read_rows(file, filename, under=under, progress=progress, max_rows=max_rows)
        if plan.rows and not any(e["row"] is None for e in plan.errors):
            resolve(plan, acting_user=acting_user)
        if all(e["row"] is not None for e in plan.errors):  # the file itself could be read
            _check_parts(plan, file, filename)
    return plan


def _check_parts(plan: Plan, file, filename: str) -> None:
    for part in parts.parts():
        file.seek(0)
        try:
            table = spreadsheets.read_table(
                file, filename, sheet=part.sheet, first_if_missing=False
            )
        except spreadsheets.MissingSheet:
            continue
        except spreadsheets.SpreadsheetError as error:
            plan.error(None, "", str(error), sheet=part.sheet)
            continue
        try:
            part.check(plan, table)
        except spreadsheets.SpreadsheetError as error:
            plan.error(None, "", str(error), sheet=part.sheet)


def read_rows(
    file, filename: str, *, under: Organization, progress=None, max_rows: int | None = None
) -> Plan:
    """The union sheet's rows, each cell checked on its own. With `max_rows`, a file with
    more rows is refused as a whole (the admin's uploads; the command reads any size)."""
    plan = Plan(under=under)
    try:
        table = spreadsheets.read_table(file, filename, sheet=SHEET)
    except spreadsheets.SpreadsheetError as error:
        plan.error(None, "", str(error))
        return plan
    present = {spreadsheets.normalize_header(h) for h in table.headers}
    missing = [c.header for c in COLUMNS if c.required and c.header not in present]
    if "上级工会统一社会信用代码" not in present and "上级工会编号" not in present:
        missing.append("上级工会统一社会信用代码")
    if missing:
        plan.error(
            1,
            "、".join(missing),
            _("The file lacks the column(s) %(columns)s; download the template and use it.")
            % {"columns": "、".join(missing)},
        )
        return plan
    try:
        for number, raw in table.rows:
            cells = spreadsheets.row_cells(raw)
            if not any(cells.get(c.header) for c in COLUMNS):
                continue  # a blank line
            plan.rows.append(_read_row(plan, number, cells))
            if max_rows is not None and len(plan.rows) > max_rows:
                plan.rows.clear()
                plan.errors.clear()
                plan.error(
                    None,
                    "",
                    _(
                        "The file has more than %(max)d rows; split it into smaller files, or "
                        "ask the platform operator to import it with the import_unions command."
                    )
                    % {"max": max_rows},
                )
                return plan
            if progress is not None and len(plan.rows) % PROGRESS_EVERY == 0:
                progress(len(plan.rows))
    except spreadsheets.SpreadsheetError as error:
        plan.error(None, "", str(error))
    if not plan.rows and not plan.errors:
        plan.error(None, "", _("The file has no union rows."))
    return plan


def _read_row(plan: Plan, number: int, cells: dict[str, str]) -> UnionRow:
    row = UnionRow(number=number)
    errors_before = len(plan.errors)

    def cell(field: str) -> str:
        return cells.get(BY_FIELD[field].header, "")

    def fail(field: str, message) -> None:
        plan.error(number, BY_FIELD[field].header, message)

    def validated(field: str, validate, normalized: bool = False) -> str:
        """The cell as the validator accepts it (as it returns it, with `normalized`), or ""
        with the error noted."""
        text = cell(field)
        if text:
            try:
                value = validate(text)
                return value if normalized else text
            except ValidationError as error:
                fail(field, error.messages[0])
        return ""

    for field in ("ref", "name", "short_name", "address"):
        text = validated(field, _PLAIN_TEXT[field])
        if field == "ref":
            row.ref = text
        else:
            row.data[field] = text
    if not cell("name"):
        fail("name", _("Enter the union's name."))

    row.data["uscc"] = validated("uscc", validators.validate_uscc, normalized=True)
    row.parent_uscc = validated("parent_uscc", validators.validate_uscc, normalized=True)
    row.parent_ref = cell("parent_ref")
    if not cell("parent_uscc") and not row.parent_ref:
        fail("parent_uscc", _("Name the parent union by its credit code or its number."))

    level = level_words().get(cell("level").lower())
    if level is None:
        fail(
            "level",
            _("Unknown level %(value)s; choose one of: %(choices)s.")
            % {
                "value": cell("level") or "—",
                "choices": "、".join(w for w in level_words() if not w.isascii()),
            },
        )
    row.data["level"] = level

    row.data["region_code"] = validated("region_code", validators.validate_region_code)

    employees = cell("employees").replace(",", "")
    row.data["employees"] = None
    if employees:
        if not employees.isdigit() or int(employees) > 10_000_000:
            fail("employees", _("Enter the number of employees as a whole number."))
        elif level != Level.GRASSROOTS:
            fail("employees", _("Employee numbers are kept by grassroots unions."))
        else:
            row.data["employees"] = int(employees)

    founded = cell("founded_on")
    row.data["founded_on"] = None
    if founded:
        day = spreadsheets.parse_date(founded)
        if day is None or not datetime.date(1900, 1, 1) <= day <= timezone.localdate():
            fail("founded_on", _("Enter a past date such as 2020-05-01."))
        else:
            row.data["founded_on"] = day

    row.data["contact_phone"] = validated("contact_phone", validators.validate_contact_phone)

    row.data["industry_id"] = None
    industry = cell("industry")
    if industry:
        if level != Level.GRASSROOTS:
            fail("industry", _("Only a grassroots union can join an industry union."))
        else:
            if plan.industries is None:
                plan.industries = _industry_unions()
            found = plan.industries.get(validators.normalize_uscc(industry)) or (
                plan.industries.get(industry)
            )
            if found is None:
                fail(
                    "industry",
                    _("No national industry union is called %(value)s.") % {"value": industry},
                )
            else:
                row.data["industry_id"] = found
    row.ok = len(plan.errors) == errors_before
    return row


def _industry_unions() -> dict[str, int]:
    """{name, short name or credit code: id} of the national industry unions (read once a
    file)."""
    found = {}
    for pk, name, short, code in selectors.industry_unions().values_list(
        "pk", "name", "short_name", "uscc"
    ):
        for key in (name, short, code):
            if key:
                found[key] = pk
    return found


# --- Resolving against each other and the database ----------------------------------------


def within(under: Organization, org: Organization) -> bool:
    """Whether `org` is `under` or below it: in its tree's nested set, or anywhere for the
    national federation (whose provinces root trees of their own)."""
    if under.level == Level.NATIONAL:
        return True
    return org.tree_id == under.tree_id and under.lft <= org.lft < under.rght


def resolve(plan: Plan, *, acting_user=None) -> None:
    """Check the rows against each other and the database (read fresh), set their outcome."""
    under = plan.under
    under.refresh_from_db(fields=["tree_id", "lft", "rght", "level", "status"])
    if acting_user is not None and not scope.can(acting_user, scope.Access.CHANGE, under):
        plan.error(None, "", _("This organization is outside your area of responsibility."))
        return
    rows = plan.rows
    for row in rows:
        row.existing = row.parent_row = row.parent_org = None
        row.outcome, row.moved = CREATE, False
    header = {f: BY_FIELD[f].header for f in BY_FIELD}

    by_code: dict[str, UnionRow] = {}
    by_ref: dict[str, UnionRow] = {}
    for row in rows:
        code = row.data.get("uscc")
        if code:
            if code in by_code:
                plan.error(
                    row.number,
                    header["uscc"],
                    _("The same credit code as row %(row)d.") % {"row": by_code[code].number},
                )
                row.ok = False
            else:
                by_code[code] = row
        if row.ref:
            if row.ref in by_ref:
                plan.error(
                    row.number,
                    header["ref"],
                    _("The same number as row %(row)d.") % {"row": by_ref[row.ref].number},
                )
                row.ok = False
            else:
                by_ref[row.ref] = row

    # The unions of the database that the file names: by credit code and by id.
    codes = set(by_code) | {r.parent_uscc for r in rows if r.parent_uscc}
    ids = {int(r) for r in set(by_ref) | {r.parent_ref for r in rows} if r.isdigit()}
    known = Organization.objects.filter(bulk.among("uscc", codes) | bulk.among("pk", ids))
    known = list(known.only(*_ORG_FIELDS))
    db_by_code = {o.uscc: o for o in known if o.uscc}
    db_by_id = {o.pk: o for o in known}

    # Which union each row is: already in UnionHub (by number, then credit code) or new.
    claimed: dict[int, UnionRow] = {}
    for row in rows:
        match = None
        code = row.data.get("uscc")
        if row.ref.isdigit() and int(row.ref) in db_by_id:
            match = db_by_id[int(row.ref)]
            if match.uscc and code != match.uscc:
                # A number is a union's id: a new union labelled "12" must not silently
                # rewrite union 12, which has another (or no) credit code in this row.
                plan.error(
                    row.number,
                    header["ref"],
                    _(
                        "Number %(ref)s is %(name)s in UnionHub, whose credit code differs "
                        "from this row's. For a new union use a label with a letter, e.g. A1."
                    )
                    % {"ref": row.ref, "name": match.name},
                )
                row.ok = False
                continue
        if code and code in db_by_code:
            other = db_by_code[code]
            if match is not None and other.pk != match.pk:
                plan.error(
                    row.number,
                    header["uscc"],
                    _("Another union in UnionHub already uses this credit code: %(name)s.")
                    % {"name": other.name},
                )
                row.ok = False
                continue
            match = other
        if match is None:
            continue
        if not within(under, match) or match.pk == under.pk:
            plan.error(
                row.number,
                header["uscc"] if code else header["ref"],
                _("%(name)s is already in UnionHub outside the subtree you import into.")
                % {"name": match.name},
            )
            row.ok = False
            continue
        if match.pk in claimed:
            plan.error(
                row.number,
                header["ref"],
                _("Row %(row)d is the same union.") % {"row": claimed[match.pk].number},
            )
            row.ok = False
            continue
        claimed[match.pk] = row
        row.existing = match

    # Each row's parent: another row or a union of the database within scope.
    for row in rows:
        column = header["parent_uscc"] if row.parent_uscc else header["parent_ref"]
        target_row = by_code.get(row.parent_uscc) if row.parent_uscc else by_ref.get(row.parent_ref)
        target_org = None
        if target_row is None:
            if row.parent_uscc:
                target_org = db_by_code.get(row.parent_uscc)
            elif row.parent_ref.isdigit():
                target_org = db_by_id.get(int(row.parent_ref))
            if target_org is not None and target_org.pk in claimed:
                target_row, target_org = claimed[target_org.pk], None
        if target_row is None and target_org is None:
            if row.parent_uscc or row.parent_ref:
                plan.error(
                    row.number,
                    column,
                    _("No union with this credit code or number, in UnionHub or in this file."),
                )
            row.ok = False
            continue
        if target_row is row:
            plan.error(row.number, column, _("A union cannot be its own parent."))
            row.ok = False
            continue
        if target_org is not None and not within(under, target_org):
            plan.error(
                row.number,
                column,
                _("%(name)s is outside your area of responsibility.") % {"name": target_org.name},
            )
            row.ok = False
            continue
        row.parent_row, row.parent_org = target_row, target_org

    _check_cycles(plan, header["parent_uscc"])
    _match_by_name(plan, claimed)
    for row in rows:
        if row.ok and (row.parent_row is not None or row.parent_org is not None):
            _check_placement(plan, row, header)
    if plan.errors:
        return
    _classify(plan)


_ORG_FIELDS = (
    "pk",
    "name",
    "level",
    "status",
    "uscc",
    "tree_id",
    "lft",
    "rght",
    "depth",
    "parent_id",
    "tree_parent_id",
    *(f for f in DATA_FIELDS if f not in ("uscc", "level", "name")),
)


def _match_by_name(plan: Plan, claimed: dict[int, UnionRow]) -> None:
    """A row without a credit code or a UnionHub number is the active union of the same name
    under the same parent, where there is one, so that importing a file again creates
    nothing. Parents first: a level at a time, one query each."""
    tried: set[int] = set()
    while True:
        wanted: dict[tuple[int, str], UnionRow] = {}
        for row in plan.rows:
            if (
                id(row) in tried
                or not row.ok
                or row.existing is not None
                or row.data.get("uscc")
                or row.ref.isdigit()
            ):
                continue
            parent = row.parent_org
            if parent is None and row.parent_row is not None:
                parent = row.parent_row.existing
            if parent is not None:
                tried.add(id(row))
                wanted.setdefault((parent.pk, row.data["name"]), row)
        if not wanted:
            return
        found = Organization.objects.filter(
            bulk.among("parent_id", {pk for pk, _name in wanted}),
            bulk.among("name", {name for _pk, name in wanted}),
            status=OrgStatus.ACTIVE,
        ).only(*_ORG_FIELDS)
        for org in found:
            row = wanted.get((org.parent_id, org.name))
            if row is not None and row.existing is None and org.pk not in claimed:
                row.existing = org
                claimed[org.pk] = row


def _check_cycles(plan: Plan, column: str) -> None:
    """Rows whose chain of parents inside the file comes back to themselves."""
    state: dict[int, int] = {}  # id(row) -> 1 on the current path, 2 done
    for start in plan.rows:
        path = []
        row = start
        while row is not None and state.get(id(row)) is None:
            state[id(row)] = 1
            path.append(row)
            row = row.parent_row
        if row is not None and state.get(id(row)) == 1:
            cycle = path[path.index(row) :]
            numbers = "、".join(str(r.number) for r in cycle)
            for member in cycle:
                plan.error(
                    member.number,
                    column,
                    _("The parents of rows %(rows)s form a circle.") % {"rows": numbers},
                )
                member.ok = False
        for member in path:
            state[id(member)] = 2
    # A row below a refused row cannot be placed either; it is not reported twice.


def _check_placement(plan: Plan, row: UnionRow, header: dict[str, str]) -> None:
    level = row.data.get("level")
    parent_level = row.parent_level
    if level is None or parent_level is None:
        return
    parent_name = row.parent_row.data["name"] if row.parent_row else row.parent_org.name
    if row.parent_org is not None and row.parent_org.status != OrgStatus.ACTIVE:
        plan.error(
            row.number,
            header["parent_uscc"],
            _("%(parent)s is dissolved; nothing can be placed under it.") % {"parent": parent_name},
        )
        row.ok = False
    elif parent_level == Level.GRASSROOTS and level != Level.GROUP:
        plan.error(
            row.number,
            header["level"],
            _("Only union groups can be placed under a grassroots union."),
        )
        row.ok = False
    elif LEVEL_RANK[level] <= LEVEL_RANK[parent_level]:
        plan.error(
            row.number,
            header["level"],
            _(
                "A %(child)s cannot be placed under a %(parent)s: an organization must be at a "
                "lower level than its parent."
            )
            % {"child": Level(level).label, "parent": Level(parent_level).label},
        )
        row.ok = False
    elif row.existing is not None and row.parent_org is not None:
        org, parent = row.existing, row.parent_org
        if parent.tree_id == org.tree_id and org.lft <= parent.lft <= org.rght:
            plan.error(
                row.number,
                header["parent_uscc"],
                _("An organization cannot be moved into its own subtree."),
            )
            row.ok = False


def _classify(plan: Plan) -> None:
    """New, changed or unchanged; and which existing unions the file does not list."""
    for row in plan.rows:
        org = row.existing
        if org is None:
            row.outcome = CREATE
            continue
        if row.parent_row is not None:
            parent_id = row.parent_row.existing.pk if row.parent_row.existing else None
        else:
            parent_id = row.parent_org.pk
        row.moved = parent_id != org.parent_id
        changed = any(getattr(org, f) != row.data.get(f) for f in DATA_FIELDS)
        row.outcome = UPDATE if (changed or row.moved) else UNCHANGED
    under = plan.under
    # Active unions below the importer's union that no row names (dissolved ones are not
    # expected in a file); counted, not listed by id, so that 100,000 rows need no IN list.
    listed = {
        row.existing.pk
        for row in plan.rows
        if row.existing is not None and row.existing.status == OrgStatus.ACTIVE
    }
    below = Organization.objects.filter(
        tree_id=under.tree_id, lft__gt=under.lft, rght__lt=under.rght
    )
    if under.level == Level.NATIONAL:
        below = Organization.objects.exclude(pk=under.pk)
    active = below.filter(status=OrgStatus.ACTIVE).count() if listed else 0
    plan.missing = max(0, active - len(listed))


def errors_by_row(plan: Plan) -> dict[int | None, list[dict]]:
    grouped = defaultdict(list)
    for error in plan.errors:
        grouped[error["row"]].append(error)
    return dict(grouped)
