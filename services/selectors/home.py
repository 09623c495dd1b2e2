"""Read-only queries of the member's services home (服务大厅)."""

from __future__ import annotations

from django.db.models import Q

from members.models import Member

from ..models import OPEN_REQUEST_STATUSES, ConcernStatus, RegistrationStatus


def waiting_for(member: Member) -> dict[str, int]:
    """What waits for the member, as three small counts: open orders, concerns not yet
    closed and registrations not yet attended."""
    return {
        "open_requests": member.service_requests.filter(status__in=OPEN_REQUEST_STATUSES).count(),
        "open_concerns": member.concerns.filter(
            Q(status=ConcernStatus.OPEN) | Q(status=ConcernStatus.ANSWERED)
        ).count(),
        "upcoming": member.registrations.exclude(status=RegistrationStatus.CANCELLED)
        .filter(checked_in_at__isnull=True)
        .count(),
    }
