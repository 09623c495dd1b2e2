"""Sending notifications: the in-app inbox, then email and SMS, each exactly once.

`notify` writes the inbox rows and one `Delivery` per further channel the recipient wants
and can be reached on, in the caller's transaction; once it commits, tasks send the
deliveries in batches. Everything is keyed: a notification by its dedupe key, a delivery by
(notification, channel), so firing an event twice, retrying a task or redelivering it after
a worker died never writes or sends twice.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import random
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.utils import DNS_NAME
from django.db import connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import channels, kinds
from .backends import DELIVERY_HEADER, SmsError, SmsMessage, sms_backend
from .models import Delivery, DeliveryStatus, Notification, Preference, RecipientSettings

logger = logging.getLogger(__name__)

# Deliveries per send task: small enough that a redelivered task repeats little work.
SEND_BATCH = 200
MAX_ATTEMPTS = 6
# A batch handed to a worker by the sweeper is its own for this long; after that (the
# worker died) the sweeper hands it out again. Pending rows that were never handed out
# (the enqueue after commit was lost) are picked up after the same time.
LEASE = datetime.timedelta(minutes=10)
SMS_MAX_LENGTH = 300


# --- Writing notifications -----------------------------------------------------------------


def notify(
    recipients: Iterable,
    kind: str,
    context: dict | None = None,
    link: str = "",
    *,
    dedupe_key: str | None = None,
) -> int:
    """Notify each recipient (users or user ids) once; returns how many inbox rows are new.

    With a `dedupe_key` naming the event, each recipient gets it at most once, however often
    this is called; without one, every call is a new event.
    """
    ids = {getattr(r, "pk", r) for r in recipients if r is not None}
    return notify_each(
        [(user_id, context or {}) for user_id in sorted(ids)], kind, link, dedupe_key=dedupe_key
    )


def notify_on_commit(
    recipients: Iterable,
    kind: str,
    context: dict | None = None,
    link: str = "",
    *,
    dedupe_key: str | None = None,
) -> None:
    """`notify` once the current transaction commits; nothing if it rolls back."""
    ids = [getattr(r, "pk", r) for r in recipients if r is not None]
    if ids:
        transaction.on_commit(
            lambda: notify(ids, kind, context or {}, link, dedupe_key=dedupe_key or None)
        )


def notify_each(
    messages: Iterable[tuple[int, Mapping]],
    kind: str,
    link: str = "",
    *,
    dedupe_key: str | None = None,
) -> int:
    """Like `notify`, with a context of its own for each recipient: (user id, context) pairs."""
    event = dedupe_key or f"auto:{uuid.uuid4().hex}"
    rows = [
        Notification(
            recipient_id=user_id,
            kind=kind,
            context=dict(context),
            link=link,
            dedupe_key=f"{event}:{user_id}",
        )
        for user_id, context in dict(messages).items()
    ]
    return _write(rows, kind)


def notify_contact(
    contact: str,
    kind: str,
    context: dict | None = None,
    link: str = "",
    *,
    dedupe_key: str | None = None,
) -> int:
    """Write to a person without an account (`channels.contacts`): no inbox, only the
    channels their record has an address for, exactly once per `dedupe_key` as `notify`."""
    event = dedupe_key or f"auto:{uuid.uuid4().hex}"
    row = Notification(
        contact=contact,
        kind=kind,
        context=dict(context or {}),
        link=link,
        dedupe_key=f"{event}:{contact}",
    )
    return _write([row], kind)


def notify_contact_on_commit(contact: str, kind: str, context=None, link="", *, dedupe_key=None):
    """`notify_contact` once the current transaction commits; nothing if it rolls back."""
    transaction.on_commit(
        lambda: notify_contact(contact, kind, context, link, dedupe_key=dedupe_key)
    )


def forget_contacts(refs: Iterable[str]) -> int:
    """Delete every message to these contacts, with its deliveries (their record is gone
    or erased); returns how many messages."""
    refs = list(refs)
    if not refs:
        return 0
    _total, by_model = Notification.objects.filter(contact__in=refs).delete()
    return by_model.get(Notification._meta.label, 0)


def forget_events(events: Iterable[tuple[str, str]]) -> int:
    """Delete the messages of (event, contact) pairs, as `notify_contact` keyed them (a
    one-time code that has been used); returns how many."""
    keys = [f"{event}:{contact}" for event, contact in events]
    if not keys:
        return 0
    _total, by_model = Notification.objects.filter(dedupe_key__in=keys).delete()
    return by_model.get(Notification._meta.label, 0)


def _write(rows: list[Notification], kind: str) -> int:
    """Insert the notifications not written yet and their deliveries; returns how many new."""
    if not rows:
        return 0
    keys = [row.dedupe_key for row in rows]
    with transaction.atomic():
        seen = set(
            Notification.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True)
        )
        new_rows = [row for row in rows if row.dedupe_key not in seen]
        # ignore_conflicts covers a concurrent call that inserted the same key in between.
        Notification.objects.bulk_create(new_rows, ignore_conflicts=True, batch_size=1000)
        # Deliveries for every keyed row, the seen ones too: creating them is idempotent,
        # and it completes an event that an earlier, interrupted call began.
        pairs = [
            (pk, user_id if user_id is not None else contact)
            for pk, user_id, contact in Notification.objects.filter(
                dedupe_key__in=keys
            ).values_list("pk", "recipient", "contact")
        ]
        delivery_ids = _create_deliveries(kind, pairs)
    if delivery_ids:
        transaction.on_commit(lambda: enqueue_deliveries(delivery_ids))
    return len(new_rows)


def link_for(name: str, *args) -> str:
    """The path of a named URL for a notification's link, or "" where it is not mounted."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _create_deliveries(kind: str, pairs: Sequence[tuple[int, int | str]]) -> list[int]:
    """Pending deliveries for (notification id, addressee) pairs, the addressee a user id or
    a contact reference; returns the ids of those due now."""
    if not pairs:
        return []
    spec = kinds.get(kind)
    now = timezone.now()
    reachable: dict[int | str, set[str]] = {}
    quiet: dict[int | str, datetime.datetime] = {}
    user_ids = sorted({a for _pk, a in pairs if isinstance(a, int)})
    if user_ids:
        wanted = enabled_channels(kind, user_ids)
        if spec.work:
            # Officers who chose the daily digest hear of this work in `send_digests`.
            for user_id in RecipientSettings.objects.filter(
                user_id__in=user_ids, digest=True
            ).values_list("user_id", flat=True):
                wanted[user_id] = set()
        if spec.quiet_hours and any(channels.SMS in c for c in wanted.values()):
            quiet.update(quiet_until_by_user(user_ids, now))
        for channel in channels.EXTERNAL:
            for user_id in channels.addresses(
                channel, [u for u in user_ids if channel in wanted[u]]
            ):
                reachable.setdefault(user_id, set()).add(channel)
    refs = sorted({a for _pk, a in pairs if isinstance(a, str)})
    if refs:
        until = default_quiet_until(now) if spec.quiet_hours else None
        for ref, contact in channels.contacts(refs).items():
            reachable[ref] = set(contact.addresses) & set(channels.EXTERNAL)
            if until is not None:
                quiet[ref] = until
    rows = [
        Delivery(
            notification_id=pk,
            channel=channel,
            not_before=quiet.get(addressee) if channel == channels.SMS else None,
        )
        for pk, addressee in pairs
        for channel in channels.EXTERNAL
        if channel in reachable.get(addressee, ())
    ]
    Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    return list(
        Delivery.objects.filter(
            Q(not_before__isnull=True) | Q(not_before__lte=now),
            notification_id__in=[pk for pk, _a in pairs],
            status=DeliveryStatus.PENDING,
        ).values_list("pk", flat=True)
    )


def enqueue_deliveries(delivery_ids: Sequence[int], lease_until: datetime.datetime | None = None):
    """Queue send tasks for the deliveries, a batch each (ids only)."""
    from .tasks import send_deliveries_task

    stamp = lease_until.isoformat() if lease_until else None
    ids = sorted(delivery_ids)
    for start in range(0, len(ids), SEND_BATCH):
        send_deliveries_task.delay(ids[start : start + SEND_BATCH], stamp)


# --- Preferences and recipient settings ---------------------------------------------------


def enabled_channels(kind: str, user_ids: Sequence[int]) -> dict[int, set[str]]:
    """The channels beside the inbox that each user wants for `kind` (one query)."""
    spec = kinds.get(kind)
    chosen = {
        (user_id, channel): enabled
        for user_id, channel, enabled in Preference.objects.filter(
            user_id__in=user_ids, kind=kind
        ).values_list("user_id", "channel", "enabled")
    }
    return {
        user_id: {c for c in channels.EXTERNAL if chosen.get((user_id, c), spec.default(c))}
        for user_id in user_ids
    }


def enabled_channels_for_user(user) -> dict[str, dict[str, bool]]:
    """{kind: {channel: enabled}} for every registered kind, for the preferences page."""
    chosen = {
        (kind, channel): enabled
        for kind, channel, enabled in Preference.objects.filter(user=user).values_list(
            "kind", "channel", "enabled"
        )
    }
    return {
        kind: {c: chosen.get((kind, c), spec.default(c)) for c in channels.EXTERNAL}
        for kind, spec in kinds.KINDS.items()
    }


def set_preferences(*, user, choices: Mapping[tuple[str, str], bool]) -> int:
    """Store the user's choice per (kind, channel); a choice equal to the default is dropped.

    Returns the number of stored choices that differ from the defaults.
    """
    unknown = [k for k, c in choices if k not in kinds.KINDS or c not in channels.EXTERNAL]
    if unknown:
        raise ValidationError(_("Unknown kind of message: %(kind)s") % {"kind": unknown[0]})
    with transaction.atomic():
        Preference.objects.filter(user=user, kind__in={k for k, _c in choices}).delete()
        rows = [
            Preference(user=user, kind=kind, channel=channel, enabled=enabled)
            for (kind, channel), enabled in choices.items()
            if enabled != kinds.get(kind).default(channel)
        ]
        Preference.objects.bulk_create(rows)
    return len(rows)


def recipient_settings(user) -> RecipientSettings:
    """The user's settings, unsaved defaults when they have none."""
    found = RecipientSettings.objects.filter(user=user).first()
    return found or RecipientSettings(user=user, language=settings.LANGUAGE_CODE)


def save_recipient_settings(
    *, user, language: str | None = None, quiet_start=None, quiet_end=None, digest=None
) -> RecipientSettings:
    """Change the user's language, SMS quiet hours and daily digest (what is None stays)."""
    if language is not None and language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": [_("Choose one of the offered languages.")]})
    with transaction.atomic():
        current = RecipientSettings.objects.select_for_update().filter(
            user=user
        ).first() or recipient_settings(user)
        if language is not None:
            current.language = language
        if quiet_start is not None:
            current.quiet_start = quiet_start
        if quiet_end is not None:
            current.quiet_end = quiet_end
        if digest is not None:
            if digest and not current.digest:
                current.digest_sent_at = timezone.now()  # the first digest covers from now
            current.digest = digest
        current.save()
    return current


DIGEST_KIND = "notifications.digest"


def send_digests(now: datetime.datetime | None = None) -> int:
    """Once a day: each officer who chose the digest gets one message counting the work
    notices that came to their inbox since the last one (none when nothing came); returns
    how many digests were sent. Safe to run twice: one digest per user and day."""
    now = now or timezone.now()
    work = kinds.work_kinds()
    sent = 0
    for settings_row in RecipientSettings.objects.filter(digest=True).order_by("user_id"):
        since = settings_row.digest_sent_at or now - datetime.timedelta(days=1)
        count = Notification.objects.filter(
            recipient_id=settings_row.user_id, kind__in=work, created_at__gt=since
        ).count()
        with transaction.atomic():
            if count:
                sent += notify(
                    [settings_row.user_id],
                    DIGEST_KIND,
                    {"count": count},
                    link_for("admin:todo"),
                    dedupe_key=f"{DIGEST_KIND}:{timezone.localdate(now).isoformat()}",
                )
            RecipientSettings.objects.filter(pk=settings_row.pk).update(digest_sent_at=now)
    return sent


def quiet_until(now: datetime.datetime, start: datetime.time, end: datetime.time):
    """The end of the quiet hours if `now` lies in them (Beijing time), else None.

    Quiet hours may span midnight (22:00–08:00); equal start and end mean none.
    """
    if start == end:
        return None
    local = timezone.localtime(now)
    t = local.time()
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(day, end))


def settings_by_user(
    user_ids: Sequence[int],
) -> dict[int, tuple[str, datetime.time, datetime.time]]:
    """(language, quiet start, quiet end) of each user, their own or the defaults (one query)."""
    default = (
        settings.LANGUAGE_CODE,
        *(datetime.time(h) for h in settings.NOTIFICATIONS_QUIET_HOURS),
    )
    own = {
        user_id: (language or default[0], start, end)
        for user_id, language, start, end in RecipientSettings.objects.filter(
            user_id__in=user_ids
        ).values_list("user_id", "language", "quiet_start", "quiet_end")
    }
    return {user_id: own.get(user_id, default) for user_id in user_ids}


def default_quiet_until(now: datetime.datetime):
    """The end of the site's default quiet hours if `now` lies in them (for contacts)."""
    start, end = (datetime.time(h) for h in settings.NOTIFICATIONS_QUIET_HOURS)
    return quiet_until(now, start, end)


def quiet_until_by_user(user_ids: Sequence[int], now: datetime.datetime, known=None) -> dict:
    """{user id: end of quiet hours} for the users in their SMS quiet hours now (`known`:
    their `settings_by_user`, when the caller has it)."""
    known = known if known is not None else settings_by_user(user_ids)
    result = {}
    for user_id in user_ids:
        _language, start, end = known[user_id]
        until = quiet_until(now, start, end)
        if until is not None:
            result[user_id] = until
    return result


# --- Sending -----------------------------------------------------------------------------


def absolute(link: str) -> str:
    if not link or "://" in link:
        return link
    return settings.SITE_URL.rstrip("/") + link


def render_message(notification: Notification, channel: str, language: str) -> tuple[str, str, str]:
    """(subject, text, html) of the notification on `channel`, in `language`."""
    with translation.override(language):
        title, body = kinds.render(notification.kind, notification.context)
        context = {
            "title": title,
            "body": body,
            "link": absolute(notification.link),
            "sms_link": kinds.get(notification.kind).sms_link,
            "preferences": absolute(link_for("inbox-settings")),
            "language": language,
        }
        if channel == channels.SMS:
            text = render_to_string("notifications/sms/message.txt", context).strip()
            return "", text[:SMS_MAX_LENGTH], ""
        text = render_to_string("notifications/email/message.txt", context)
        html = render_to_string("notifications/email/message.html", context)
        return title, text, html


def _email(delivery: Delivery, address: str, rendered: tuple[str, str, str], language: str):
    subject, text, html = rendered
    message = EmailMultiAlternatives(
        subject=subject.replace("\n", " ")[:200],
        body=text,
        to=[address],
        headers={
            DELIVERY_HEADER: str(delivery.pk),
            # Stable, so a copy sent again after a crash is recognisable as the same message.
            "Message-ID": f"<unionhub.delivery.{delivery.pk}@{DNS_NAME}>",
            "Content-Language": language,
        },
    )
    message.attach_alternative(html, "text/html")
    return message


def _backoff(attempts: int) -> datetime.timedelta:
    """Exponential backoff with jitter: between half and all of 1, 2, 4… minutes (at most
    an hour), so failures that came together do not retry together."""
    ceiling = min(60 * 2 ** (attempts - 1), 3600)
    return datetime.timedelta(seconds=random.uniform(ceiling / 2, ceiling))  # noqa: S311


class _Sender:
    """Sends the deliveries of one batch; addresses and languages are looked up once.

    Keyed by addressee: a user id, or a contact reference for a person without an account.
    """

    def __init__(self, rows: list[Delivery], now: datetime.datetime):
        self.now = now
        users = {channel: [] for channel in channels.EXTERNAL}
        refs = set()
        for row in rows:
            addressee = row.notification.addressee
            if isinstance(addressee, str):
                refs.add(addressee)
            else:
                users[row.channel].append(addressee)
        self.addresses = {c: channels.addresses(c, ids) for c, ids in users.items()}
        known = settings_by_user(sorted({u for ids in users.values() for u in ids}))
        self.languages = {user_id: language for user_id, (language, *_q) in known.items()}
        self.quiet = quiet_until_by_user(users[channels.SMS], now, known)
        until = default_quiet_until(now)
        for ref, contact in channels.contacts(refs).items():
            for channel, address in contact.addresses.items():
                self.addresses.setdefault(channel, {})[ref] = address
            self.languages[ref] = contact.language or settings.LANGUAGE_CODE
            if until is not None:
                self.quiet[ref] = until
        self.mail = None
        self.sms = None
        # An announcement is one text for thousands: render it once per language.
        self.rendered: dict[tuple, tuple[str, str, str]] = {}

    def render(self, notification: Notification, channel: str, language: str):
        key = (
            notification.kind,
            notification.link,
            json.dumps(notification.context, sort_keys=True, default=str),
            channel,
            language,
        )
        if key not in self.rendered:
            self.rendered[key] = render_message(notification, channel, language)
        return self.rendered[key]

    def close(self):
        if self.mail is not None:
            self.mail.close()

    def send(self, delivery: Delivery) -> None:
        addressee = delivery.notification.addressee
        address = self.addresses[delivery.channel].get(addressee)
        language = self.languages.get(addressee, settings.LANGUAGE_CODE)
        if address is None:
            raise _Skip("no address")
        if delivery.channel == channels.EMAIL:
            if self.mail is None:
                self.mail = get_connection()
                self.mail.open()
            rendered = self.render(delivery.notification, channels.EMAIL, language)
            self.mail.send_messages([_email(delivery, address, rendered, language)])
        else:
            _subject, text, _html = self.render(delivery.notification, channels.SMS, language)
            if self.sms is None:
                self.sms = sms_backend()
            self.sms.send(
                SmsMessage(to=address, body=text, reference=str(delivery.pk), language=language)
            )

    def reset_mail(self):
        if self.mail is not None:
            # The connection is broken already; closing it may fail as well.
            with contextlib.suppress(Exception):
                self.mail.close()
            self.mail = None


class _Skip(Exception):
    pass


def send_deliveries(
    delivery_ids: Sequence[int],
    *,
    lease_until: datetime.datetime | None = None,
    now: datetime.datetime | None = None,
) -> Counter:
    """Send the pending deliveries among `delivery_ids`; returns the outcome counts.

    Each delivery is sent inside its own transaction that holds its row lock and marks it
    sent, so a second task holding the same id (a retry, a redelivery after a worker died,
    the sweeper) finds it sent or locked and leaves it. A delivery whose `not_before` lies
    beyond `lease_until` (or in the future, without a lease) is left for later.
    """
    now = now or timezone.now()
    due = lease_until or now
    rows = list(
        Delivery.objects.filter(pk__in=list(delivery_ids), status=DeliveryStatus.PENDING)
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=due))
        .select_related("notification")
        .order_by("pk")
    )
    outcome = Counter()
    if not rows:
        return outcome
    sender = _Sender(rows, now)
    try:
        for row in rows:
            outcome[_send_one(sender, row, due)] += 1
    finally:
        sender.close()
    if outcome.get("failed") or outcome.get("retry"):
        logger.warning("deliveries: %s", dict(outcome))
    return outcome


class _SendFailed(Exception):
    def __init__(self, error: Exception, attempts: int):
        super().__init__(type(error).__name__)
        self.error = error
        self.attempts = attempts


def _sql(statement: str, params) -> tuple | None:
    # Plain SQL on the hot path: four statements a message, no ORM overhead.
    with connection.cursor() as cursor:
        cursor.execute(statement.format(table=Delivery._meta.db_table), params)
        return cursor.fetchone() if cursor.description else None


_LOCK_QUERY = (
    "SELECT attempts FROM {table} WHERE id = %s AND status = 'pending'"
    " AND (not_before IS NULL OR not_before <= %s)"
)


def _send_one(sender: _Sender, row: Delivery, due: datetime.datetime) -> str:
    skip_locked = connection.features.has_select_for_update_skip_locked
    lock_query = _LOCK_QUERY + (" FOR UPDATE SKIP LOCKED" if skip_locked else "")
    addressee = row.notification.addressee
    quiet = sender.quiet.get(addressee) if kinds.get(row.notification.kind).quiet_hours else None
    try:
        with transaction.atomic():
            found = _sql(lock_query, [row.pk, due])
            if found is None:
                return "taken"
            attempts = found[0] + 1
            if row.channel == channels.SMS and quiet is not None:
                _sql("UPDATE {table} SET not_before = %s WHERE id = %s", [quiet, row.pk])
                return "deferred"
            try:
                sender.send(row)
            except _Skip as skip:
                _sql(
                    "UPDATE {table} SET status = 'skipped', last_error = %s, attempts = %s"
                    " WHERE id = %s",
                    [str(skip), attempts, row.pk],
                )
                return "skipped"
            except Exception as exc:  # any provider failure is retried or recorded
                raise _SendFailed(exc, attempts) from exc
            _sql(
                "UPDATE {table} SET status = 'sent', sent_at = %s, attempts = %s WHERE id = %s",
                [sender.now, attempts, row.pk],
            )
            return "sent"
    except _SendFailed as failed:
        # Rolled back, with anything a backend wrote; the failure is recorded anew, unless
        # another worker took the delivery up in between.
        if row.channel == channels.EMAIL:
            sender.reset_mail()
        error = failed.error
        permanent = isinstance(error, SmsError) and error.permanent
        code = (error.code if isinstance(error, SmsError) else type(error).__name__)[:200]
        if permanent or failed.attempts >= MAX_ATTEMPTS:
            status, not_before, outcome = DeliveryStatus.FAILED, None, "failed"
        else:
            status, outcome = DeliveryStatus.PENDING, "retry"
            not_before = sender.now + _backoff(failed.attempts)
        _sql(
            "UPDATE {table} SET status = %s, last_error = %s, attempts = %s, not_before = %s"
            " WHERE id = %s AND status = 'pending' AND attempts = %s",
            [status, code, failed.attempts, not_before, row.pk, failed.attempts - 1],
        )
        return outcome


def hand_out_due_deliveries(*, now: datetime.datetime | None = None, limit: int = 20000) -> int:
    """Queue the pending deliveries that are due and held by no worker; returns how many.

    Due: past their `not_before` (quiet hours over, retry time come, an earlier lease
    expired), or never given one and older than the lease (their enqueue was lost). Each is
    leased for `LEASE`, so the next sweep leaves it to the worker that has it.
    """
    now = now or timezone.now()
    lease_until = now + LEASE
    with transaction.atomic():
        ids = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=DeliveryStatus.PENDING)
            .filter(
                Q(not_before__lte=now) | Q(not_before__isnull=True, created_at__lte=now - LEASE)
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        Delivery.objects.filter(pk__in=ids).update(not_before=lease_until)
    if ids:
        transaction.on_commit(lambda: enqueue_deliveries(ids, lease_until))
    return len(ids)


# --- Reading the inbox -------------------------------------------------------------------


def mark_read(*, user, notification_id: int) -> Notification | None:
    notification = Notification.objects.filter(recipient=user, pk=notification_id).first()
    if notification is not None and notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def mark_all_read(*, user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def unread_count(user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
