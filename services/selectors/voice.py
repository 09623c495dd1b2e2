"""Read-only queries of the worker voice: scoped concern lists, how a member is named, the
days a union has to answer, and the ground truth of the voice counters.

Names follow DESIGN.md: officers with personal-data access to the member's own union see
the name; everyone else sees the masked name, or "Anonymous worker" when the member asked
to hide it above their own union, and so do the officers of a union outside the member's
own line that the concern was handed to, unless the member agreed to be named to it.
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.utils.translation import gettext_lazy

from organizations import scope
from organizations.models import Level, Organization, OrgStatus
from organizations.selectors import chain, in_union_line

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
# Which unions a concern may be handed to (`hand_over_targets`), as told to the officer.
HAND_OVER_TARGETS = gettext_lazy(
    "Hand the concern to a union of your own province or industry union, to a union above "
    "yours, or to a union in the member's own line."
)


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


def named_to_handler(concern: Concern, org: Organization | None = None) -> bool:
    """Whether the officers handling `concern` (or those of `org`, were it handed there)
    may see who raised it: a union in the member's own line may, another union only when
    the member agreed."""
    org = org if org is not None else concern.organization
    return concern.share_name_outside or in_union_line(org, concern.origin)


def member_label(concern: Concern, user) -> str:
    """The member as `user` may see them on this concern."""
    if scope.can(user, scope.Access.PERSONAL, concern.origin):
        return concern.member.name
    if concern.hide_name:
        return str(ANONYMOUS)
    # Officers of the member's own union and of those above it see the concern through its
    # origin; everyone else only as (or above) the union handling it now.
    if scope.can(user, scope.Access.HANDLE, concern.origin) or named_to_handler(concern):
        return concern.member.masked_name
    return str(ANONYMOUS)


def name_for_officers_of(org: Organization, concern: Concern) -> str:
    """How the member is named to the officers of `org` in a notification."""
    if scope.reaches_personal_data(org, concern.origin):
        return concern.member.masked_name
    if concern.hide_name or not named_to_handler(concern, org):
        return str(ANONYMOUS)
    return concern.member.masked_name


def _neighbourhood_q(org: Organization) -> Q:
    """`org`'s own tree (its province or national industry union; everything under the
    national federation) and the unions above it."""
    root = org.get_root() if org.tree_parent_id else org
    return scope.subtree_q(root) | Q(pk__in=[o.pk for o in chain(org)])


def hand_over_targets(concern: Concern) -> QuerySet[Organization]:
    """The active unions `concern` may be handed to: anywhere in the handling union's own
    tree (its province, or its national industry union), the unions above it, and the
    member's own line (their union, those above it, its industry union)."""
    handling, origin = concern.organization, concern.origin
    line = {o.pk for o in [*chain(origin), origin]}
    grassroots = origin.parent if origin.level == Level.GROUP else origin
    if grassroots is not None and grassroots.industry_id:
        line.add(grassroots.industry_id)
    return (
        Organization.objects.filter(status=OrgStatus.ACTIVE)
        .filter(_neighbourhood_q(handling) | Q(pk__in=line))
        .exclude(pk=handling.pk)
    )


def handling_neighbourhood(user) -> QuerySet[Organization]:
    """Without a concern in view, the active unions the user's concerns could go to: the
    trees of the unions where they handle concerns and the unions above them."""
    unions = Organization.objects.filter(status=OrgStatus.ACTIVE)
    if scope.is_operator(user):
        return unions
    q = Q(pk__in=[])
    for org in scope.organizations(user, scope.Access.HANDLE).filter(
        pk__in=[g.org_id for g in scope.grants(user)]
    ):
        q |= _neighbourhood_q(org)
    return unions.filter(q)


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
