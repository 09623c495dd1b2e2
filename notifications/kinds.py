"""The kinds of notification and their messages. Apps register theirs at start-up.

Every kind reaches the in-app inbox. Email is on by default for every kind; SMS costs money
and interrupts, so it is on by default only for kinds registered with `sms=True` (a reply to
a member's concern, a reminder of an activity tomorrow…). Each user may change both per kind.
"""

import dataclasses
import re
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .channels import EMAIL, SMS


@dataclass(frozen=True)
class Kind:
    title: str
    body: str = ""
    email: bool = True
    sms: bool = False
    # The SMS carries the link too (a first-login link); otherwise it is only in the inbox
    # and the email, as a short message cannot spare the characters.
    sms_link: bool = False
    # Work waiting on an officer (a new application, an item falling due): an officer who
    # chose the daily digest gets it in the inbox at once and by email and SMS once a day.
    work: bool = False
    # False for a message the person waits for right now (a one-time code): it is sent in
    # the SMS quiet hours too.
    quiet_hours: bool = True
    # Only for people without an account (`actions.notify_contact`): not on anyone's
    # preferences page.
    contact_only: bool = False

    def default(self, channel: str) -> bool:
        return {EMAIL: self.email, SMS: self.sms}.get(channel, False)


KINDS: dict[str, Kind] = {
    "welcome": Kind(_("Welcome to UnionHub"), _("Find your union and see what it offers.")),
    # The daily digest of work notices (`actions.send_digests`).
    "notifications.digest": Kind(
        _("%(count)s new to-do items"),
        _("Since the last digest, %(count)s items of work came in for your unions (To-do)."),
        sms=True,
    ),
    "role.granted": Kind(
        _("You are now %(role)s of %(organization)s"),
        _("You can manage %(organization)s in the administration."),
    ),
}

_PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]")


def register(kind: str, title, body="", **options) -> None:
    """Register a kind; `options` are the `Kind` flags (email, sms, sms_link, quiet_hours…)."""
    KINDS[kind] = Kind(title, body, **options)


def mark_work(*names: str) -> None:
    """Declare kinds another module registered as work waiting on officers (`Kind.work`)."""
    for name in names:
        KINDS[name] = dataclasses.replace(KINDS[name], work=True)


def work_kinds() -> list[str]:
    return sorted(name for name, spec in KINDS.items() if spec.work)


def set_defaults(kind: str, *, email: bool | None = None, sms: bool | None = None) -> None:
    """Change the default channels of a kind another module registered."""
    spec = KINDS[kind]
    KINDS[kind] = dataclasses.replace(
        spec,
        email=spec.email if email is None else email,
        sms=spec.sms if sms is None else sms,
    )


def get(kind: str) -> Kind:
    return KINDS.get(kind) or Kind(kind)


def label(kind: str) -> str:
    """The kind's title without its values, for the preferences page ("… was approved")."""
    return _PLACEHOLDER.sub("…", str(get(kind).title))


def render(kind: str, context: dict) -> tuple[str, str]:
    """Title and body in the active language; a missing value never breaks the inbox."""
    spec = KINDS.get(kind)
    if spec is None:
        return str(context.get("title", kind)), str(context.get("body", ""))
    try:
        return str(spec.title) % context, (str(spec.body) % context if spec.body else "")
    except (KeyError, TypeError, ValueError):
        return str(spec.title), str(spec.body)
