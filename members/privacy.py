"""A member's copy of their own data (PIPL art. 45): what the platform holds about them.

The data is assembled from sections. The members app registers its own here (the member
record with the full ID number and phone, the account, history, dues, applications,
transfers, the inbox); apps above it register theirs with `register_section` when they
start (`services.selectors.privacy`), since members may not import them.

A section lists only what concerns the member and what they may see: never another
person's data, nor officers' internal records (confidential notes, visit reports, who did
what). `export_personal_data` gives a JSON-ready dict; `personal_data_json` and
`personal_data_xlsx` turn it into the downloadable files.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Model, Q
from django.db.models.fields.files import FieldFile
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import spreadsheets
from .models import DuesRecord, JoinApplication, Member, MembershipEvent, Transfer

FORMAT = "unionhub-personal-data/1"


@dataclass(frozen=True)
class Section:
    """One part of the copy: rows of `columns` (key, label) read for a member.

    A `single` section is one record (the member, the account) rather than a list.
    """

    key: str
    title: Promise | str
    columns: Sequence[tuple[str, Promise | str]]
    rows: Callable[[Member], Iterable[Mapping]]
    single: bool = False


SECTIONS: dict[str, Section] = {}


def register_section(section: Section) -> None:
    """Add a section to every member's copy (in registration order)."""
    SECTIONS[section.key] = section


# --- Helpers for sections built from model fields ---------------------------------------


def plain(value):
    """A value as it goes into JSON and a spreadsheet cell: text, numbers, booleans, None."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, FieldFile):
        return value.name.rsplit("/", 1)[-1] if value else None
    return str(value)


def columns_of(model: type[Model], names: Sequence[str]) -> list[tuple[str, Promise]]:
    """(field, verbose name) for each field, as the column labels of a section."""
    return [(name, capfirst(model._meta.get_field(name).verbose_name)) for name in names]


def values_of(obj: Model, names: Sequence[str]) -> dict:
    """The fields' values as the member reads them: choices by label, relations by name."""
    row = {}
    for name in names:
        field = obj._meta.get_field(name)
        if field.choices:
            value = getattr(obj, f"get_{name}_display")()
        elif field.is_relation:
            value = getattr(obj, name)
            value = None if value is None else str(value)
        else:
            value = getattr(obj, name)
        row[name] = plain(value)
    return row


def model_section(
    key: str,
    title,
    model: type[Model],
    fields: Sequence[str],
    queryset: Callable[[Member], Iterable[Model]],
    *,
    extra: Sequence[tuple[str, Promise | str, Callable[[Model], object]]] = (),
    single: bool = False,
) -> Section:
    """A section of model rows: `fields` by their verbose names, then `extra` columns
    (key, label, function of the row) for values that are not plain fields."""
    columns = [*columns_of(model, fields), *((k, label) for k, label, _f in extra)]

    def rows(member: Member) -> Iterable[Mapping]:
        for obj in queryset(member):
            yield {**values_of(obj, fields), **{k: plain(f(obj)) for k, _l, f in extra}}

    return Section(key=key, title=title, columns=columns, rows=rows, single=single)


# --- The copy ---------------------------------------------------------------------------


def export_personal_data(member: Member) -> dict:
    """Everything the platform holds about `member` that they may see, JSON-ready:
    {"format", "generated_at", <section key>: a record or a list of records, …}."""
    data: dict = {
        "format": FORMAT,
        "generated_at": plain(timezone.now()),
    }
    for section in SECTIONS.values():
        rows = [dict(row) for row in section.rows(member)]
        data[section.key] = (rows[0] if rows else {}) if section.single else rows
    return data


def personal_data_json(data: Mapping) -> bytes:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode("utf-8")


def personal_data_xlsx(data: Mapping) -> bytes:
    """The copy as a workbook: one sheet per section (a record as field–value rows)."""
    sheets = [
        (_("About"), [_("Item"), _("Value")], [[_("Generated at"), data.get("generated_at")]])
    ]
    for section in SECTIONS.values():
        value = data.get(section.key)
        if section.single:
            record = value or {}
            rows = [[str(label), record.get(key)] for key, label in section.columns]
            sheets.append((section.title, [_("Item"), _("Value")], rows))
        else:
            headers = [label for _key, label in section.columns]
            rows = [[row.get(key) for key, _label in section.columns] for row in value or []]
            sheets.append((section.title, headers, rows))
    return spreadsheets.write_workbook(sheets)


# --- The members app's own sections -------------------------------------------------------

MEMBER_FIELDS = (
    "name",
    "gender",
    "birth_date",
    "ethnicity",
    "education",
    "employer",
    "job",
    "employment_type",
    "organization",
    "membership_number",
    "join_date",
    "status",
    "status_changed_on",
    "wage_base",
    "card_number",
    "card_issued_at",
    "card_revoked_at",
    "created_at",
)
# Their own copy: the full identifiers, decrypted (only lists for officers are masked).
IDENTIFIERS = (
    ("id_number", gettext_lazy("ID number"), lambda obj: obj.id_number),
    ("phone", gettext_lazy("Mobile phone"), lambda obj: obj.phone),
)

register_section(
    model_section(
        "member",
        gettext_lazy("Member record"),
        Member,
        MEMBER_FIELDS,
        lambda member: [Member.objects.select_related("organization").get(pk=member.pk)],
        extra=IDENTIFIERS,
        single=True,
    )
)


def _account_rows(member: Member) -> Iterable[Mapping]:
    from notifications.models import RecipientSettings

    user = member.user
    if user is None:
        return []
    prefs = RecipientSettings.objects.filter(user=user).first()
    return [
        {
            "username": user.get_username(),
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "date_joined": plain(user.date_joined),
            "last_login": plain(user.last_login),
            "language": prefs.get_language_display() if prefs else None,
            "quiet_start": plain(prefs.quiet_start) if prefs else None,
            "quiet_end": plain(prefs.quiet_end) if prefs else None,
        }
    ]


register_section(
    Section(
        key="account",
        title=gettext_lazy("Login account"),
        columns=[
            ("username", gettext_lazy("Login name")),
            ("email", gettext_lazy("Email")),
            ("first_name", gettext_lazy("First name")),
            ("last_name", gettext_lazy("Last name")),
            ("date_joined", gettext_lazy("Account created at")),
            ("last_login", gettext_lazy("Last login")),
            ("language", gettext_lazy("Language of messages")),
            ("quiet_start", gettext_lazy("No SMS from")),
            ("quiet_end", gettext_lazy("No SMS until")),
        ],
        rows=_account_rows,
        single=True,
    )
)


def _preference_rows(member: Member) -> Iterable[Mapping]:
    from notifications import channels, kinds
    from notifications.models import Preference

    if member.user_id is None:
        return []
    for pref in Preference.objects.filter(user_id=member.user_id).order_by("kind", "channel"):
        yield {
            "kind": kinds.label(pref.kind),
            "channel": str(channels.LABELS.get(pref.channel, pref.channel)),
            "enabled": pref.enabled,
        }


register_section(
    Section(
        key="notification_preferences",
        title=gettext_lazy("Notification preferences"),
        columns=[
            ("kind", gettext_lazy("Message")),
            ("channel", gettext_lazy("Channel")),
            ("enabled", gettext_lazy("Enabled")),
        ],
        rows=_preference_rows,
    )
)


def _session_rows(member: Member) -> Iterable[Mapping]:
    from accounts.models import UserSession

    if member.user_id is None:
        return []
    for row in UserSession.objects.filter(user_id=member.user_id).order_by("-started_at"):
        yield {"started_at": plain(row.started_at), "user_agent": row.user_agent}


register_section(
    Section(
        key="login_sessions",
        title=gettext_lazy("Login sessions"),
        columns=[
            ("started_at", gettext_lazy("Logged in at")),
            ("user_agent", gettext_lazy("Browser")),
        ],
        rows=_session_rows,
    )
)

register_section(
    model_section(
        "membership_history",
        gettext_lazy("Membership history"),
        MembershipEvent,
        (
            "effective_on",
            "at",
            "kind",
            "from_status",
            "to_status",
            "from_organization",
            "to_organization",
            "reason",
        ),
        lambda member: member.events.select_related("from_organization", "to_organization"),
    )
)


def applications_of(member: Member):
    """The person's join applications: the one that made the membership, and any other
    (earlier, refused or withdrawn) made with the same ID number."""
    same_person = Q(member=member)
    if member.id_hash:
        same_person |= Q(id_hash=member.id_hash)
    return JoinApplication.objects.filter(same_person)


register_section(
    model_section(
        "join_applications",
        gettext_lazy("Join applications"),
        JoinApplication,
        (
            "organization",
            "status",
            "submitted_at",
            "name",
            "gender",
            "birth_date",
            "ethnicity",
            "education",
            "employer",
            "job",
            "employment_type",
            "privacy_consent_at",
            "sensitive_consent_at",
            "privacy_notice_version",
            "review_note",
            "reviewed_at",
        ),
        lambda member: (
            applications_of(member).select_related("organization").order_by("submitted_at", "pk")
        ),
        extra=IDENTIFIERS,
    )
)

register_section(
    model_section(
        "transfers",
        gettext_lazy("Transfers"),
        Transfer,
        (
            "created_at",
            "from_organization",
            "to_organization",
            "status",
            "initiated_by_side",
            "reason",
            "new_employer",
            "released_at",
            "accepted_at",
            "refused_by_side",
            "refusal_reason",
            "expires_at",
            "closed_at",
        ),
        lambda member: member.transfers.select_related(
            "from_organization", "to_organization"
        ).order_by("created_at", "pk"),
    )
)

register_section(
    model_section(
        "dues",
        gettext_lazy("Dues"),
        DuesRecord,
        ("period", "organization", "wage_base", "amount_due", "amount_paid", "paid_on", "method"),
        lambda member: member.dues.select_related("organization").order_by("period"),
    )
)


def _notification_rows(member: Member) -> Iterable[Mapping]:
    from notifications.models import Notification

    if member.user_id is None:
        return []
    for note in Notification.objects.filter(recipient_id=member.user_id).order_by("created_at"):
        yield {
            "created_at": plain(note.created_at),
            "title": note.title,
            "body": note.body,
            "link": note.link,
            "read_at": plain(note.read_at),
        }


register_section(
    Section(
        key="notifications",
        title=gettext_lazy("Messages"),
        columns=[
            ("created_at", gettext_lazy("Sent at")),
            ("title", gettext_lazy("Title")),
            ("body", gettext_lazy("Text")),
            ("link", gettext_lazy("Link")),
            ("read_at", gettext_lazy("Read at")),
        ],
        rows=_notification_rows,
    )
)
