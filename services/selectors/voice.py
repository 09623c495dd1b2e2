"""Read-only queries of the worker voice: scoped concern lists, how a member is named, the
days a union has to answer, and the ground truth of the voice counters.

Names follow DESIGN.md: officers with personal-data access to the member's own union see
the name; everyone else sees the masked name, or "Anonymous worker" when the member asked
to hide it above their own union.
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.utils.translation import gettext_lazy

from organizations import scope
from organizations.models import Organization

from .. import statkeys as S
from ..models import Concern, ConcernStatus, ConcernStep, ServiceSettings

# Counters, kept at the member's own union (`Concern.origin`).
# The counter keys, declared in services.statkeys.
PREFIX = S.VOICE
RAISED = S.RAISED
OPEN = S.OPEN
OVERDUE = S.OVERDUE  # open concerns escalated at least once
ESCALATIONS = S.ESCALATIONS
ANSWERED = S.ANSWERED
RESPONSE_SECONDS = S.RESPONSE_SECONDS  # sum of seconds to the first answer
RATING_SUM = S.CONCERN_RATING_SUM
RATING_COUNT = S.CONCERN_RATING_COUNT

# How a member who hides their name is shown.
ANONYMOUS = gettext_lazy("Anonymous worker")


def concerns_for_staff(user, access: scope.Access = scope.Access.HANDLE) -> QuerySet[Concern]:
    """Concerns handled by, or raised in, the user's unions (and their subtrees)."""
    qs = Concern.objects.select_related("member", "origin", "organization")
    return scope.filter_queryset(user, qs, access)


def concerns_of_member(member) -> QuerySet[Concern]:
    """The member's own concerns, newest first."""
    return (
        Concern.objects.filter(member=member)
        .select_related("organization", "origin")
        .order_by("-created_at", "-pk")
    )


def history(concern: Concern) -> QuerySet[ConcernStep]:
    return concern.steps.select_related("from_organization", "to_organization").order_by("at", "pk")


def member_label(concern: Concern, user) -> str:
    """The member as `user` may see them on this concern."""
    if scope.can(user, scope.Access.PERSONAL, concern.origin):
        return concern.member.name
    if concern.hide_name:
        return str(ANONYMOUS)
    return concern.member.masked_name


def name_for_officers_of(org: Organization, concern: Concern) -> str:
    """How the member is named to the officers of `org` in a notification."""
    if concern.hide_name and not scope.reaches_personal_data(org, concern.origin):
        return str(ANONYMOUS)
    return concern.member.masked_name


def due_days(org: Organization, grade: str) -> int:
    """Days `org` has to answer a concern of `grade`: its own settings, else the defaults."""
    own = ServiceSettings.objects.filter(organization=org).first()
    if own is not None:
        return getattr(own, f"concern_days_{grade}")
    return settings.SERVICES_CONCERN_DUE_DAYS[grade]


# --- Counters ----------------------------------------------------------------------------


def whole_seconds(start: datetime.datetime, end: datetime.datetime) -> int:
    """Whole seconds from `start` to `end`, never negative."""
    return max(int((end - start).total_seconds()), 0)


def count_voice_counters() -> dict[tuple[int, str], int]:
    """True values of every voice counter, per member's own union (for check_counters)."""
    truth: dict[tuple[int, str], int] = defaultdict(int)
    open_q = Q(status=ConcernStatus.OPEN)
    rows = Concern.objects.values("origin_id").annotate(
        raised=Count("pk"),
        open=Count("pk", filter=open_q),
        overdue=Count("pk", filter=open_q & Q(escalations__gt=0)),
        escalations=Sum("escalations"),
        answered=Count("pk", filter=Q(answered_at__isnull=False)),
        rating_sum=Sum("rating"),
        rating_count=Count("rating"),
    )
    for row in rows:
        origin = row["origin_id"]
        for name in (
            "raised",
            "open",
            "overdue",
            "escalations",
            "answered",
            "rating_sum",
            "rating_count",
        ):
            truth[(origin, PREFIX + name)] = row[name] or 0
    # Seconds are truncated per concern, exactly as the actions count them.
    answered = Concern.objects.filter(answered_at__isnull=False).values_list(
        "origin_id", "created_at", "answered_at"
    )
    for origin, created, answered_at in answered.iterator():
        truth[(origin, RESPONSE_SECONDS)] += whole_seconds(created, answered_at)
    return dict(truth)
