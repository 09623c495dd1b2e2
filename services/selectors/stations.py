"""Read-only queries over service stations: a member's stations, public lists, distances."""

from __future__ import annotations

import math
from collections.abc import Iterable

from django.db.models import Count, Exists, OuterRef, QuerySet, Sum
from django.utils import timezone

from members.models import Member
from organizations.models import Organization

from .. import statkeys as S
from ..actions import union_chain
from ..models import (
    Activity,
    ActivitySession,
    ActivityStatus,
    PublishStatus,
    Service,
    Station,
    StationVisit,
)

EARTH_RADIUS_KM = 6371.0

# Counters at the member's own union: their visits, and the sum of their ratings.
VISITS = S.STATION_VISITS
RATING_SUM = S.STATION_RATING_SUM


def active_stations() -> QuerySet[Station]:
    return Station.objects.filter(is_active=True).select_related("organization")


def stations_of_chain(org: Organization) -> QuerySet[Station]:
    """Active stations of `org` and of every union above it (the ones serving its members)."""
    return active_stations().filter(organization__in=[o.pk for o in union_chain(org)])


def stations_for(member: Member) -> QuerySet[Station]:
    """The active stations serving the member: those of their union's chain."""
    return stations_of_chain(member.organization)


def distance_km(lat1, lon1, lat2, lon2) -> float:
    """Equirectangular approximation: good to a few metres at city distances."""
    phi1, phi2 = math.radians(float(lat1)), math.radians(float(lat2))
    x = math.radians(float(lon2) - float(lon1)) * math.cos((phi1 + phi2) / 2)
    y = phi2 - phi1
    return EARTH_RADIUS_KM * math.hypot(x, y)


def nearby(
    lat, lon, limit: int = 10, candidates: Iterable[Station] | None = None
) -> list[tuple[Station, float]]:
    """The `limit` stations with coordinates nearest to (lat, lon), with their distance in km.

    `candidates` defaults to every active station; distances are computed in Python, which
    is fine for the few thousand stations of a region.
    """
    if candidates is None:
        candidates = active_stations()
    if isinstance(candidates, QuerySet):
        candidates = candidates.filter(latitude__isnull=False, longitude__isnull=False)
    rows = [
        (s, distance_km(lat, lon, s.latitude, s.longitude))
        for s in candidates
        if s.latitude is not None and s.longitude is not None
    ]
    rows.sort(key=lambda row: (row[1], row[0].pk))
    return rows[: max(limit, 0)]


def services_at(station: Station) -> QuerySet[Service]:
    """Published services offered at the station."""
    return station.services.filter(status=PublishStatus.PUBLISHED).select_related("organization")


def upcoming_activities(station: Station) -> QuerySet[Activity]:
    """Published activities at the station with a session still to come."""
    upcoming = ActivitySession.objects.filter(
        activity=OuterRef("pk"), starts_at__gte=timezone.now()
    )
    return (
        station.activities.filter(status=ActivityStatus.PUBLISHED)
        .filter(Exists(upcoming))
        .order_by("pk")
    )


def next_session_starts(activities: Iterable[Activity]) -> dict[int, object]:
    """The start of each activity's next session (one query)."""
    result: dict[int, object] = {}
    sessions = (
        ActivitySession.objects.filter(
            activity__in=[a.pk for a in activities], starts_at__gte=timezone.now()
        )
        .order_by("starts_at")
        .values_list("activity_id", "starts_at")
    )
    for activity_id, starts_at in sessions:
        result.setdefault(activity_id, starts_at)
    return result


def recent_comments(station: Station, limit: int = 10) -> QuerySet[StationVisit]:
    """The latest visits with a comment (show the member only by `masked_name`)."""
    return (
        StationVisit.objects.filter(station=station)
        .exclude(comment="")
        .select_related("member")
        .order_by("-created_at", "-pk")[:limit]
    )


def may_rate(member: Member, station: Station) -> bool:
    """Whether the station serves the member: it belongs to their union or one above it."""
    return station.organization_id in {o.pk for o in union_chain(member.organization)}


def visits_of(member: Member, station: Station) -> QuerySet[StationVisit]:
    """The member's latest visits to the station, newest first."""
    return StationVisit.objects.filter(station=station, member=member).order_by("-visited_on")[:5]


def count_station_counters() -> dict[tuple[int, str], int]:
    """Ground truth: each union's members' station visits and the sum of their ratings."""
    truth: dict[tuple[int, str], int] = {}
    rows = StationVisit.objects.values("member_union_id").annotate(
        n=Count("pk"), total=Sum("rating")
    )
    for row in rows:
        org_id = row["member_union_id"]
        truth[(org_id, VISITS)] = row["n"]
        truth[(org_id, RATING_SUM)] = row["total"] or 0
    return truth
