"""Delivery channels and where their addresses come from.

The in-app inbox needs no address. Email addresses are the accounts' own. Other apps own the
other addresses (the members app keeps mobile numbers encrypted) and register a resolver, so
this app never imports them: `register_resolver(SMS, phones_of)`, where `phones_of(user_ids)`
returns {user id: address} for the users that have one. Several apps may know addresses of
one channel (members' phones, officers' own); they are asked in the order they registered.

People without an account (an applicant) are written to as a *contact*: a reference
"<app_label>.<model>:<pk>" whose app registers `register_contact("members.joinapplication",
resolve)`, where `resolve(pks)` returns {pk: Contact} for the records that still exist.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from core.privacy import contact_ref  # noqa: F401 - the references' one spelling

IN_APP = "in_app"
EMAIL = "email"
SMS = "sms"
# The channels beside the inbox, in the order the preferences page shows them.
EXTERNAL = (EMAIL, SMS)
LABELS = {IN_APP: _("Inbox"), EMAIL: _("Email"), SMS: _("SMS")}

Resolver = Callable[[list[int]], dict[int, str]]


def _emails(user_ids: list[int]) -> dict[int, str]:
    from django.contrib.auth import get_user_model

    rows = get_user_model().objects.filter(pk__in=user_ids, is_active=True).exclude(email="")
    return dict(rows.values_list("pk", "email"))


_RESOLVERS: dict[str, list[Resolver]] = {EMAIL: [_emails]}


def register_resolver(channel: str, resolver: Resolver) -> None:
    """Add a source of addresses for `channel`; where two know a user, the first registered
    wins (members' phones before officers' own)."""
    found = _RESOLVERS.setdefault(channel, [])
    if resolver not in found:
        found.append(resolver)


def addresses(channel: str, user_ids: Iterable[int]) -> dict[int, str]:
    """{user id: address} for those of `user_ids` reachable on `channel`."""
    ids = sorted(set(user_ids))
    found: dict[int, str] = {}
    for resolver in _RESOLVERS.get(channel, []):
        wanted = [i for i in ids if i not in found]
        if not wanted:
            break
        for user_id, address in resolver(wanted).items():
            found.setdefault(user_id, address)
    return found


@dataclass(frozen=True)
class Contact:
    """Where and how to write to a person without an account."""

    addresses: dict[str, str] = field(default_factory=dict)  # {channel: address}
    language: str = ""


ContactResolver = Callable[[list[int]], dict[int, Contact]]

_CONTACTS: dict[str, ContactResolver] = {}


def register_contact(model: str, resolver: ContactResolver) -> None:
    """Make references "<model>:<pk>" (model as "app_label.model") resolvable."""
    _CONTACTS[model] = resolver


def contacts(refs: Iterable[str]) -> dict[str, Contact]:
    """{reference: Contact} for the references that resolve (one call per model)."""
    by_model: dict[str, list[int]] = {}
    for ref in set(refs):
        model, _colon, pk = ref.rpartition(":")
        if model in _CONTACTS and pk.isdigit():
            by_model.setdefault(model, []).append(int(pk))
    found = {}
    for model, pks in by_model.items():
        for pk, contact in _CONTACTS[model](sorted(pks)).items():
            found[f"{model}:{pk}"] = contact
    return found


def mask(channel: str, address: str) -> str:
    """An address as it may appear in logs and the captured-message table."""
    if channel == SMS:
        return f"{address[:3]}****{address[-4:]}" if len(address) >= 7 else "****"
    name, _at, domain = address.partition("@")
    return f"{name[:1]}***@{domain}" if domain else "***"
