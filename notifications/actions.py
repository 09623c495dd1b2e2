"""Sending and reading in-app notifications. Channels and fan-out come later."""

from collections.abc import Iterable

from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from .models import Notification


def notify(
    recipients: Iterable,
    kind: str,
    context: dict | None = None,
    link: str = "",
    *,
    dedupe_key: str | None = None,
) -> int:
    """Put a notification in each recipient's inbox; returns how many were new.

    `recipients` are users or user ids. With a `dedupe_key`, each recipient gets the
    notification at most once, however often this is called.
    """
    ids = {getattr(r, "pk", r) for r in recipients}
    rows = [
        Notification(
            recipient_id=user_id,
            kind=kind,
            context=context or {},
            link=link,
            dedupe_key=f"{dedupe_key}:{user_id}" if dedupe_key else None,
        )
        for user_id in sorted(ids)
    ]
    keys = [row.dedupe_key for row in rows if row.dedupe_key]
    seen = set(
        Notification.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True)
    )
    new_rows = [row for row in rows if row.dedupe_key is None or row.dedupe_key not in seen]
    # ignore_conflicts covers a concurrent call that inserted the same key in between.
    Notification.objects.bulk_create(new_rows, ignore_conflicts=True, batch_size=1000)
    return len(new_rows)


def link_for(name: str, *args) -> str:
    """The path of a named URL for a notification's link, or "" where it is not mounted."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


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
