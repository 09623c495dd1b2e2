"""Read-only queries of announcements: whom one addresses, and what a member reads."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from members.models import CURRENT_STATUSES, Member
from organizations import scope

from ..actions import audience_allows, union_chain
from ..models import Announcement, AnnouncementStatus

# The newest announcements of the member's chain that the list looks through.
RECENT = 200
# Announcements that members read: being sent, or sent.
OUT = (AnnouncementStatus.SENDING, AnnouncementStatus.SENT)


def recipients(announcement: Announcement) -> QuerySet[Member]:
    """The current members with a login whom the announcement addresses."""
    qs = Member.objects.filter(
        scope.subtree_q(announcement.organization, "organization__"),
        status__in=CURRENT_STATUSES,
        deleted_at__isnull=True,
        user__isnull=False,
        user__is_active=True,
    )
    if announcement.audience_levels:
        qs = qs.filter(organization__level__in=announcement.audience_levels)
    if announcement.audience_employment_types:
        qs = qs.filter(employment_type__in=announcement.audience_employment_types)
    unions = list(announcement.audience_unions.all())
    if unions:
        within = Q()
        for union in unions:
            within |= scope.subtree_q(union, "organization__")
        qs = qs.filter(within)
    return qs


def announcements_for(member: Member) -> list[Announcement]:
    """The announcements sent to the member, newest first, among the `RECENT` newest of
    their union chain."""
    chain_ids = [o.pk for o in union_chain(member.organization)]
    recent = (
        Announcement.objects.filter(organization_id__in=chain_ids, status__in=OUT)
        .select_related("organization")
        .prefetch_related("audience_unions")
        .order_by("-published_at", "-pk")[:RECENT]
    )
    return [a for a in recent if audience_allows(a, member, chain_ids)]


def sent_announcements() -> QuerySet[Announcement]:
    """Announcements being sent or sent, with their union."""
    return Announcement.objects.select_related("organization").filter(status__in=OUT)
