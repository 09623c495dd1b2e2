"""Read-only queries of hardship aid: figures with small counts suppressed, and the public
notice of a user's union."""

from __future__ import annotations

from collections import Counter

from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from members.models import Member
from organizations import scope
from organizations.models import Level, Organization, OrgCounter, OrgRole

from ..actions import suppressed
from ..models import AidCase, AidStatus, AidStepKind, AidTier

# Steps a member sees on their own case, by name only: the records behind them (visit
# notes, objections) are the officers'. The rejection's reason is told to the member.
MEMBER_STEP_TEXT = frozenset({AidStepKind.REJECTED})

COUNTER_KEYS = (
    "services.aid.cases",
    "services.aid.approved",
    "services.aid.disbursed_count",
    "services.aid.disbursed_fen",
)


def aid_counts(user, org: Organization) -> dict:
    """Hardship aid figures of `org`'s subtree: cases by status and tier, and totals.

    A user with hardship aid access over `org` sees every number; anyone else with view
    access sees counts under the suppression threshold as None ("fewer than 5"), and the
    amount paid only when the number of payments is shown. Outside the user's view scope:
    PermissionDenied.
    """
    # Fresh tree positions: an object loaded before later inserts holds stale ones.
    org = Organization.objects.get(pk=org.pk)
    if not scope.can(user, scope.Access.VIEW, org):
        raise PermissionDenied
    full = scope.can(user, scope.Access.AID, org)

    def shown(value: int):
        return value if full else suppressed(value)

    cases = AidCase.objects.filter(scope.subtree_q(org, "organization__"))
    by_status = Counter(dict(cases.values_list("status").annotate(n=Count("pk")).order_by()))
    by_tier = Counter(dict(cases.values_list("tier").annotate(n=Count("pk")).order_by()))
    totals = dict(
        OrgCounter.objects.filter(scope.subtree_q(org, "organization__"), key__in=COUNTER_KEYS)
        .values_list("key")
        .annotate(total=Sum("value"))
        .order_by()
    )
    paid_count = shown(totals.get("services.aid.disbursed_count", 0))
    fen = totals.get("services.aid.disbursed_fen", 0)
    return {
        "organization": org,
        "full": full,
        "by_status": [(s, label, shown(by_status.get(s, 0))) for s, label in AidStatus.choices],
        "by_tier": [(t, label, shown(by_tier.get(t, 0))) for t, label in AidTier.choices],
        "cases": shown(totals.get("services.aid.cases", 0)),
        "approved": shown(totals.get("services.aid.approved", 0)),
        "disbursed_count": paid_count,
        "disbursed_yuan": None if paid_count is None else round(fen / 100, 2),
    }


def unions_of(user) -> QuerySet[Organization]:
    """The grassroots unions `user` belongs to: as a member, or as an officer of the union
    itself or one of its union groups."""
    if not getattr(user, "is_authenticated", False):
        return Organization.objects.none()
    ids = set(
        Member.objects.filter(user=user, deleted_at__isnull=True).values_list(
            "organization_id", flat=True
        )
    )
    for role_org in Organization.objects.filter(
        pk__in=OrgRole.objects.filter(user=user).values("organization_id"),
        level__in=[Level.GRASSROOTS, Level.GROUP],
    ):
        ids.add(role_org.pk if role_org.level == Level.GRASSROOTS else role_org.parent_id)
    return Organization.objects.filter(pk__in=ids, level=Level.GRASSROOTS)


def notices_for(user) -> QuerySet[AidCase]:
    """Cases on public notice today at the unions `user` belongs to."""
    today = timezone.localdate()
    return (
        AidCase.objects.filter(
            organization__in=unions_of(user),
            status=AidStatus.NOTICE,
            notice_starts_on__lte=today,
            notice_ends_on__gte=today,
        )
        .select_related("member", "organization")
        .order_by("notice_ends_on", "pk")
    )


def cases_of(member: Member) -> QuerySet[AidCase]:
    """A member's own cases, newest first, with their steps."""
    return (
        AidCase.objects.filter(member=member)
        .select_related("organization", "approver")
        .prefetch_related("steps")
        .order_by("-year", "-created_at")
    )
