"""Read-only queries of the service menu, members' requests and service wishes."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Case, Exists, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from members.models import Member
from organizations import scope

from ..actions import audience_allows, union_chain
from ..models import (
    PublishStatus,
    Service,
    ServiceCategory,
    ServiceRequest,
    ServiceWish,
    WishStatus,
    WishVote,
)


def _published_now():
    today = timezone.localdate()
    return (
        Q(status=PublishStatus.PUBLISHED)
        & (Q(starts_on__isnull=True) | Q(starts_on__lte=today))
        & (Q(ends_on__isnull=True) | Q(ends_on__gte=today))
    )


def menu_for(member: Member) -> list[Service]:
    """Every published service, within its period, of the member's union and all unions
    above it, that admits the member: a constant number of queries whatever the depth."""
    union = member.organization
    chain_ids = [o.pk for o in union_chain(union)]
    services = (
        Service.objects.filter(_published_now(), organization_id__in=chain_ids)
        .select_related("organization", "station")
        .prefetch_related("audience_unions")
        .order_by("category", "title", "pk")
    )
    return [s for s in services if audience_allows(s, member, chain_ids)]


def menu_by_category(services: list[Service]) -> list[tuple[str, list[Service]]]:
    """(category label, services) in the order of the categories."""
    groups: dict[str, list[Service]] = defaultdict(list)
    for service in services:
        groups[service.category].append(service)
    return [(label, groups[value]) for value, label in ServiceCategory.choices if value in groups]


def requests_of(member: Member) -> QuerySet[ServiceRequest]:
    """The member's own requests, newest first, with their history."""
    return (
        ServiceRequest.objects.filter(member=member)
        .select_related("service", "organization", "member")
        .prefetch_related("steps")
        .order_by("-created_at", "-pk")
    )


def wishes_for_member(member: Member) -> QuerySet[ServiceWish]:
    """Wishes addressed to the member's union chain, open ones first, ranked by votes,
    each with `voted` telling whether the member supports it."""
    chain_ids = [o.pk for o in union_chain(member.organization)]
    return (
        ServiceWish.objects.filter(organization_id__in=chain_ids)
        .select_related("organization")
        .annotate(voted=Exists(WishVote.objects.filter(wish=OuterRef("pk"), member=member)))
        .annotate(closed=Case(When(status=WishStatus.OPEN, then=Value(0)), default=Value(1)))
        .order_by("closed", "-votes", "-created_at", "-pk")
    )


def ranked_wishes(user, status: str | None = None) -> QuerySet[ServiceWish]:
    """The wishes of the user's whole subtree, most wanted first."""
    qs = scope.filter_queryset(user, ServiceWish.objects.all(), scope.Access.VIEW)
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("organization").order_by("-votes", "-created_at", "-pk")
