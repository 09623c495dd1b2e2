"""Read-only queries of the service menu, members' requests and service wishes."""

from __future__ import annotations

from collections import Counter, defaultdict

from django.db.models import Case, Count, Exists, OuterRef, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from members.models import Member
from organizations import scope
from organizations.models import OrgRole, Role

from .. import statkeys as S
from ..actions import audience_allows, recorded_actor, union_chain
from ..models import (
    ConfidentialNote,
    PublishStatus,
    RequestStatus,
    Service,
    ServiceCategory,
    ServiceRequest,
    ServiceWish,
    WishStatus,
    WishVote,
)

# The menu's counters, notification kinds and audit actions all start with this.
PREFIX = S.MENU


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


def open_request(member: Member, service: Service) -> ServiceRequest | None:
    """The member's order of `service` that is still open, if any."""
    return (
        ServiceRequest.objects.filter(service=service, member=member)
        .filter(status__in=["submitted", "accepted", "in_progress"])
        .first()
    )


def own_requests(member: Member) -> QuerySet[ServiceRequest]:
    """The member's own requests with their service, to look one up."""
    return ServiceRequest.objects.filter(member=member).select_related("service", "member")


def wishes_of_chain(member: Member) -> QuerySet[ServiceWish]:
    """Wishes addressed to the member's union or a union above it."""
    chain_ids = [o.pk for o in union_chain(member.organization)]
    return ServiceWish.objects.filter(organization_id__in=chain_ids)


# --- Confidential notes ----------------------------------------------------------------------


def _officer_here(user, org_id: int) -> bool:
    """Whether the user holds an admin or staff grant at exactly this organization."""
    if recorded_actor(user) is None:
        return False
    return OrgRole.objects.filter(
        user=user, organization_id=org_id, role__in=[Role.ADMIN, Role.STAFF]
    ).exists()


def can_see_confidential(user, req: ServiceRequest) -> bool:
    """Whether `user` may read and write the confidential notes of the request: officers
    at exactly the handling union and the request's handler; nobody above, not even the
    platform operators, and never the member's own union when it does not handle it."""
    if recorded_actor(user) is None:
        return False
    return req.handler_id == user.pk or _officer_here(user, req.organization_id)


def confidential_notes(*, request: ServiceRequest, user):
    """The request's confidential notes if the user may read them, otherwise none."""
    if not can_see_confidential(user, request):
        return ConfidentialNote.objects.none()
    return request.confidential_notes.select_related("author")


# --- Counters --------------------------------------------------------------------------------


def count_menu_counters() -> dict[tuple[int, str], int]:
    """Ground truth of every `services.menu.` counter, from the rows."""
    truth: Counter = Counter()
    requests = ServiceRequest.objects.values_list(
        "member_union_id", "status", "service__category"
    ).annotate(n=Count("pk"))
    for union_id, status, category, n in requests:
        truth[(union_id, S.REQUESTS)] += n
        truth[(union_id, S.CATEGORY(category))] += n
        if status in (RequestStatus.COMPLETED, RequestStatus.REJECTED, RequestStatus.CANCELLED):
            truth[(union_id, f"{PREFIX}{status}")] += n
    rated = (
        ServiceRequest.objects.filter(rating__isnull=False)
        .values_list("member_union_id")
        .annotate(total=Sum("rating"), n=Count("pk"))
    )
    for union_id, total, n in rated:
        truth[(union_id, S.REQUEST_RATING_SUM)] += total
        truth[(union_id, S.REQUEST_RATING_COUNT)] += n
    for org_id, n in (
        ServiceWish.objects.filter(status=WishStatus.OPEN)
        .values_list("organization_id")
        .annotate(n=Count("pk"))
    ):
        truth[(org_id, S.WISHES_OPEN)] += n
    for org_id, n in WishVote.objects.values_list("wish__organization_id").annotate(n=Count("pk")):
        truth[(org_id, S.WISH_VOTES)] += n
    return dict(truth)
