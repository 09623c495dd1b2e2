"""What the services record day by day, for the period figures of a grassroots union and its
groups (`organizations.counters.register_dated_source`): service orders by the member's
union on the day ordered, concerns by the member's union on the day raised, check-ins by the
member's union on the day checked in. The same attribution as the counters they stand for.
"""

from __future__ import annotations

from collections import Counter

from django.db.models import Count
from django.db.models.functions import TruncDate

from .. import statkeys as S
from ..models import Concern, Registration, ServiceRequest


def recorded_by_day(org_ids: list[int], since) -> Counter:
    out: Counter = Counter()
    for rows, key in (
        (
            ServiceRequest.objects.filter(member_union__in=org_ids, created_at__gte=since)
            .annotate(day=TruncDate("created_at"))
            .values_list("day"),
            S.REQUESTS,
        ),
        (
            Concern.objects.filter(origin__in=org_ids, created_at__gte=since)
            .annotate(day=TruncDate("created_at"))
            .values_list("day"),
            S.RAISED,
        ),
        (
            Registration.objects.filter(member_union__in=org_ids, checked_in_at__gte=since)
            .annotate(day=TruncDate("checked_in_at"))
            .values_list("day"),
            S.ATTENDANCE,
        ),
    ):
        for day, n in rows.annotate(n=Count("pk")).order_by():
            out[(day, key)] += n
    return out
