"""The officers sheet (工会干部) of the union import: accounts and roles for a province's
officers, registered as a part of the union workbook (`organizations.importing.parts`).

Columns 姓名, 手机号, 工会 (the union's credit code or number: a row of the union sheet or a
union in UnionHub), 角色 (管理员, 工作人员, 查看, 帮扶专员). An officer's account is found by
their own mobile number, or made for them without a password: they get a first-login link
by SMS (`accounts.first_login`). Roles are granted through `grant_role`, audited there.
"""

from __future__ import annotations

import dataclasses
import functools
import secrets

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext as _

from core import spreadsheets
from core.phones import normalize_phone
from core.text import validate_plain_text
from organizations.actions import grant_role
from organizations.importing.columns import OFFICER_HEADERS
from organizations.importing.parts import SheetPart, register_sheet, union_finder
from organizations.models import Organization, Role

from .first_login import send_first_login_link
from .phones import account_for_phone, set_account_phone

SHEET = "工会干部"
NAME, PHONE, UNION, ROLE = OFFICER_HEADERS


@dataclasses.dataclass(slots=True)
class OfficerRow:
    number: int
    name: str
    phone: str
    union: object  # a UnionRow of the file or an Organization
    role: str


@functools.cache
def role_words() -> dict[str, str]:
    """Every spelling of a role the sheet may use: the Chinese label, English label or code."""
    words = {"查看": Role.VIEWER, "查看员": Role.VIEWER, "困难帮扶专员": Role.AID}
    for role in Role:
        words[role.value] = role.value
        for language in ("zh-hans", "en"):
            with translation.override(language):
                words[str(role.label).lower()] = role.value
    return words


def check_officers(plan, table: spreadsheets.Table) -> None:
    """Read the officers sheet into `plan.parts[SHEET]`, every bad cell as an error."""
    present = {spreadsheets.normalize_header(h) for h in table.headers}
    missing = [h for h in OFFICER_HEADERS if h not in present]
    if missing:
        plan.error(
            1,
            "、".join(missing),
            _("The officers sheet lacks the column(s) %(columns)s.")
            % {"columns": "、".join(missing)},
            sheet=SHEET,
        )
        return
    find = union_finder(plan)
    rows: list[OfficerRow] = []
    names_by_phone: dict[str, tuple[str, int]] = {}
    seen: dict[tuple, int] = {}
    for number, raw in table.rows:
        cells = spreadsheets.row_cells(raw)
        if not any(cells.get(h) for h in OFFICER_HEADERS):
            continue

        def fail(column, message, number=number):
            plan.error(number, column, message, sheet=SHEET)

        errors = len(plan.errors)
        name = cells.get(NAME, "")
        try:
            if not name:
                raise ValidationError(_("Enter the officer's name."))
            validate_plain_text(name, max_length=150)
        except ValidationError as error:
            fail(NAME, error.messages[0])
        phone = ""
        try:
            phone = normalize_phone(cells.get(PHONE, ""))
        except ValidationError as error:
            fail(PHONE, error.messages[0])
        union, reason = find(cells.get(UNION, ""))
        if union is None:
            fail(UNION, reason)
        role = role_words().get(cells.get(ROLE, "").lower())
        if role is None:
            fail(
                ROLE,
                _("Unknown role %(value)s; choose one of: 管理员、工作人员、查看、帮扶专员.")
                % {"value": cells.get(ROLE) or "—"},
            )
        if len(plan.errors) > errors:
            continue
        if phone in names_by_phone and names_by_phone[phone][0] != name:
            fail(
                PHONE,
                _("Row %(row)d gives this mobile number to another name.")
                % {"row": names_by_phone[phone][1]},
            )
            continue
        names_by_phone.setdefault(phone, (name, number))
        key = (phone, id(union), role)
        if key in seen:
            fail(ROLE, _("The same officer and role as row %(row)d.") % {"row": seen[key]})
            continue
        seen[key] = number
        rows.append(OfficerRow(number, name, phone, union, role))
    plan.parts[SHEET] = rows


def _union_id(union) -> int:
    if isinstance(union, Organization):
        return union.pk
    return union.existing.pk if union.existing is not None else union.pk


def write_officers(plan, acting_user) -> dict:
    """Inside the import's transaction, after the unions: accounts, roles, first-login links."""
    rows: list[OfficerRow] = plan.parts.get(SHEET, [])
    unions = Organization.objects.in_bulk({_union_id(r.union) for r in rows})
    User = get_user_model()
    accounts: dict[str, object] = {}
    created = granted = 0
    for row in rows:
        user = accounts.get(row.phone) or account_for_phone(row.phone)
        new_account = user is None
        if new_account:
            user = User(username=f"officer-{secrets.token_hex(5)}", first_name=row.name)
            user.set_unusable_password()
            user.save()
            set_account_phone(user, row.phone)
            created += 1
        accounts[row.phone] = user
        union = unions[_union_id(row.union)]
        grant = grant_role(user=user, organization=union, role=row.role, acting_user=acting_user)
        granted += 1
        if new_account:  # one link per account, naming its first role
            send_first_login_link(user, organization=union.name, role=str(grant.get_role_display()))
    return {"officers": len(rows), "accounts_created": created, "roles_granted": granted}


register_sheet(SheetPart(SHEET, check_officers, write_officers))
