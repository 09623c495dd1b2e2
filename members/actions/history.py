"""A membership's history (会籍变动记录): the events appended with each change, and the
counters that follow the change."""

from __future__ import annotations

import datetime
from collections import Counter

from django.utils import timezone

from organizations import counters
from organizations.models import Organization

from ..counters import counter_delta, event_counter_keys
from ..models import Member, MembershipEvent


def record_event(
    *,
    member: Member,
    kind: str,
    actor=None,
    from_status: str = "",
    from_organization: Organization | None = None,
    reason: str = "",
    effective_on: datetime.date | None = None,
    transfer=None,
) -> MembershipEvent:
    """Append a history event for the member's current state, and count its flow."""
    event = MembershipEvent.objects.create(
        member=member,
        kind=kind,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        from_status=from_status,
        to_status=member.status,
        from_organization=from_organization,
        to_organization=member.organization,
        reason=reason[:500],
        effective_on=effective_on or timezone.localdate(),
        transfer=transfer,
    )
    counters.adjust(Counter(event_counter_keys(event)))
    return event


def save_membership_change(
    *,
    before: Member,
    after: Member,
    kind: str,
    acting_user=None,
    reason: str = "",
    effective_on: datetime.date | None = None,
    transfer=None,
) -> MembershipEvent:
    """Save `after` (a changed copy of the locked row `before`): counters follow, and the
    change goes into the history. Call inside the transaction that locked `before`."""
    after.save()
    counters.adjust(counter_delta([before], [after]))
    return record_event(
        member=after,
        kind=kind,
        actor=acting_user,
        from_status=before.status,
        from_organization=before.organization,
        reason=reason,
        effective_on=effective_on,
        transfer=transfer,
    )
