"""The notifications' part of a person's rights over their data (`core.privacy`).

In the copy: the language of messages and the quiet hours (with the login account), the
notification preferences and every inbox message. In an erasure, after the member's parts
(cancelling an order may still notify them): every inbox message with its deliveries and
their captured copies, the preferences and the settings are deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.utils.translation import gettext_lazy as _

from core.privacy import (
    Fields,
    Section,
    Subject,
    plain,
    register_eraser,
    register_fields,
    register_section,
)

from . import channels, kinds
from .models import CapturedMessage, Delivery, Notification, Preference, RecipientSettings

# Places among the other apps' parts (see `core.privacy`).
PREFERENCES_ORDER = 300
INBOX_ORDER = 600
ERASER_ORDER = 200


def _settings_values(subject: Subject) -> Mapping:
    prefs = RecipientSettings.objects.filter(user=subject.user).first()
    return {
        "language": prefs.get_language_display() if prefs else None,
        "quiet_start": plain(prefs.quiet_start) if prefs else None,
        "quiet_end": plain(prefs.quiet_end) if prefs else None,
    }


def _preference_rows(subject: Subject) -> Iterable[Mapping]:
    if subject.user is None:
        return []
    for pref in Preference.objects.filter(user=subject.user).order_by("kind", "channel"):
        yield {
            "kind": kinds.label(pref.kind),
            "channel": str(channels.LABELS.get(pref.channel, pref.channel)),
            "enabled": pref.enabled,
        }


def _notification_rows(subject: Subject) -> Iterable[Mapping]:
    if subject.user is None:
        return []
    for note in Notification.objects.filter(recipient=subject.user).order_by("created_at"):
        yield {
            "created_at": plain(note.created_at),
            "title": note.title,
            "body": note.body,
            "link": note.link,
            "read_at": plain(note.read_at),
        }


def erase_notifications(*, subject: Subject, redact) -> None:
    """Delete the person's messages, preferences and settings. Inside the erasure's
    transaction."""
    user = subject.user
    if subject.contacts:
        # Texts sent before the person had an account (an applicant's), with their
        # deliveries; the captured copies too.
        sent = Delivery.objects.filter(notification__contact__in=subject.contacts)
        references = [str(pk) for pk in sent.values_list("pk", flat=True)]
        CapturedMessage.objects.filter(reference__in=references).delete()
        Notification.objects.filter(contact__in=subject.contacts).delete()
    if user is None:
        return
    deliveries = Delivery.objects.filter(notification__recipient=user).values_list("pk", flat=True)
    CapturedMessage.objects.filter(reference__in=[str(pk) for pk in deliveries]).delete()
    Notification.objects.filter(recipient=user).delete()  # with their deliveries
    Preference.objects.filter(user=user).delete()
    RecipientSettings.objects.filter(user=user).delete()


# The login account's record ("account") carries how the person is written to.
register_fields(
    "account",
    Fields(
        columns=[
            ("language", _("Language of messages")),
            ("quiet_start", _("No SMS from")),
            ("quiet_end", _("No SMS until")),
        ],
        values=_settings_values,
    ),
)

register_section(
    Section(
        key="notification_preferences",
        title=_("Notification preferences"),
        columns=[
            ("kind", _("Message")),
            ("channel", _("Channel")),
            ("enabled", _("Enabled")),
        ],
        rows=_preference_rows,
    ),
    order=PREFERENCES_ORDER,
)

register_section(
    Section(
        key="notifications",
        title=_("Messages"),
        columns=[
            ("created_at", _("Sent at")),
            ("title", _("Title")),
            ("body", _("Text")),
            ("link", _("Link")),
            ("read_at", _("Read at")),
        ],
        rows=_notification_rows,
    ),
    order=INBOX_ORDER,
)

register_eraser(erase_notifications, order=ERASER_ORDER)
