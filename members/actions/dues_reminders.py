"""The monthly dues reminder (会费催缴): what each member has not paid for past months."""

from __future__ import annotations

import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy

from notifications import kinds
from notifications.actions import link_for, notify

from ..selectors.dues import unpaid_by_member

NOTIFICATION_KINDS = [
    (
        "dues.reminder",
        gettext_lazy("Reminder: you owe %(amount)s yuan of union dues"),
        gettext_lazy(
            "Months not paid in full: %(months)s. Please pay your union, %(union)s. "
            "The portal shows your dues month by month."
        ),
    ),
]
for _kind, _title, _body in NOTIFICATION_KINDS:
    kinds.register(_kind, _title, _body)


def remind_unpaid_dues(*, today: datetime.date | None = None) -> int:
    """Remind every active member with a portal login of the dues of past months not paid
    in full (how many months, how much in all); returns how many reminders are new.

    Once per member and month of `today`: running it again that month sends nothing.
    """
    today = today or timezone.localdate()
    owed = unpaid_by_member(today)
    link = link_for("my-dues")
    sent = 0
    for row in owed.iterator(chunk_size=2000):
        context = {
            "months": row["months"],
            "amount": f"{row['outstanding']:.2f}",
            "union": row["member__organization__name"],
        }
        sent += notify(
            [row["member__user_id"]],
            "dues.reminder",
            context,
            link,
            dedupe_key=f"dues-reminder:{row['member_id']}:{today:%Y-%m}",
        )
    return sent
