"""Reminders before a due time lapses (issue 21): the officers of the union that must act on
an open service request or concern hear of it once, a while before it is due, and again if
its due time changes (graded, handed over, escalated). After the due time, concerns escalate
(`voice.escalate_overdue_concerns`) and the to-do lists the item as overdue."""

from __future__ import annotations

import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from notifications.actions import link_for, notify
from organizations.selectors import officers_of

from ..models import OPEN_REQUEST_STATUSES, Concern, ConcernStatus, ServiceRequest

# How long before its due time an open item is brought to its officers' attention.
REMIND_AHEAD = datetime.timedelta(hours=24)

KIND = "services.due_soon"
NOTIFICATION_KINDS = [
    (
        KIND,
        gettext_lazy("Due soon at %(union)s: %(what)s"),
        gettext_lazy("It is due at %(due)s. You find it in your To-do."),
    ),
]

SCHEDULES = [
    {
        "name": "services: remind officers of work due soon",
        "task": "services.tasks.reminders.remind_due_soon_task",
        "every_minutes": 30,
    }
]


def _waiting():
    """(model key, label, admin page, open items) of each kind with a due time."""
    return (
        (
            "request",
            _("Service request no. %(number)d"),
            "admin:services_servicerequest_change",
            ServiceRequest.objects.filter(status__in=OPEN_REQUEST_STATUSES),
        ),
        (
            "concern",
            _("Concern no. %(number)d"),
            "admin:services_concern_change",
            Concern.objects.filter(status=ConcernStatus.OPEN),
        ),
    )


def remind_due_soon(now: datetime.datetime | None = None) -> int:
    """Tell the officers of each open item falling due within `REMIND_AHEAD` (once per item
    and due time); returns how many notifications were created."""
    now = now or timezone.now()
    officers: dict[int, list[int]] = {}
    sent = 0
    for key, label, page, items in _waiting():
        due_soon = items.filter(due_at__gt=now, due_at__lte=now + REMIND_AHEAD).values_list(
            "pk", "organization_id", "organization__name", "due_at"
        )
        for pk, org_id, union, due in due_soon.iterator():
            if org_id not in officers:
                officers[org_id] = officers_of(org_id)
            sent += notify(
                officers[org_id],
                KIND,
                {
                    "union": union,
                    "what": label % {"number": pk},
                    "due": timezone.localtime(due).strftime("%Y-%m-%d %H:%M"),
                },
                link_for(page, pk),
                dedupe_key=f"{KIND}:{key}:{pk}:{int(due.timestamp())}",
            )
    return sent
