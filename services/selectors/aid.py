"""Read-only queries of hardship aid: figures with small counts suppressed, and the public
notice of a user's union."""

from __future__ import annotations

from collections import Counter

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Member
from organizations import counters, scope
from organizations.models import LEVEL_RANK, Level, Organization, OrgCounter, OrgRole

from .. import statkeys as S
from ..actions import suppressed, union_chain
from ..models import AidCase, AidStatus, AidStep, AidStepKind, AidTier, ServiceSettings

# Steps a member sees on their own case, by name only: the records behind them (visit
# notes, objections) are the officers'. The rejection's reason is told to the member.
MEMBER_STEP_TEXT = frozenset({AidStepKind.REJECTED})

# Cases whose approval stands (closed cases are only reached after the aid was paid).
APPROVED_STATUSES = frozenset(
    {
        AidStatus.APPROVED,
        AidStatus.NOTICE,
        AidStatus.OBJECTED,
        AidStatus.DISBURSED,
        AidStatus.CLOSED,
    }
)
PAID_STATUSES = frozenset({AidStatus.DISBURSED, AidStatus.CLOSED})

COUNTER_KEYS = (
    S.AID_CASES,
    S.AID_APPROVED,
    S.AID_DISBURSED_COUNT,
    S.AID_DISBURSED_FEN,
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
    paid_count = shown(totals.get(S.AID_DISBURSED_COUNT, 0))
    fen = totals.get(S.AID_DISBURSED_FEN, 0)
    return {
        "organization": org,
        "full": full,
        "by_status": [(s, label, shown(by_status.get(s, 0))) for s, label in AidStatus.choices],
        "by_tier": [(t, label, shown(by_tier.get(t, 0))) for t, label in AidTier.choices],
        "cases": shown(totals.get(S.AID_CASES, 0)),
        "approved": shown(totals.get(S.AID_APPROVED, 0)),
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


# --- Configuration: who approves, how long the notice runs -----------------------------


def _settings_by_org(chain: list[Organization]) -> dict[int, ServiceSettings]:
    return {
        s.organization_id: s
        for s in ServiceSettings.objects.filter(organization__in=[o.pk for o in chain])
    }


def approval_level_for(union: Organization) -> str:
    """The level approving cases of `union`: the nearest setting up the chain, else the
    site default (`settings.SERVICES_AID_APPROVAL_LEVEL`)."""
    chain = union_chain(union)
    found = _settings_by_org(chain)
    for org in reversed(chain):
        setting = found.get(org.pk)
        if setting is not None and setting.aid_approval_level in LEVEL_RANK:
            return setting.aid_approval_level
    return settings.SERVICES_AID_APPROVAL_LEVEL


def approver_for(union: Organization) -> Organization:
    """The union approving aid for members of `union`: its ancestor at the approval level,
    or, where the tree has no union at that level, the nearest one above it."""
    level = approval_level_for(union)
    rank = LEVEL_RANK.get(level, LEVEL_RANK[Level.COUNTY])
    # Bottom up: the first union at or above the approval level.
    for org in reversed(union_chain(union)):
        if org.rank <= rank:
            return org
    raise ValidationError(_("No union above yours can approve hardship aid."))


def notice_days_for(union: Organization) -> int:
    """Days of public notice: the nearest setting up the chain, else the site default."""
    chain = union_chain(union)
    found = _settings_by_org(chain)
    for org in reversed(chain):
        if org.pk in found:
            return found[org.pk].aid_notice_days
    return settings.SERVICES_AID_NOTICE_DAYS


def belongs_to_union(user, union: Organization | int) -> bool:
    """Whether `user` belongs to the grassroots union: its member, or an officer holding a
    role at the union itself or one of its union groups."""
    if not getattr(user, "is_authenticated", False):
        return False
    union_id = getattr(union, "pk", union)
    if Member.objects.filter(user=user, organization_id=union_id, deleted_at__isnull=True).exists():
        return True
    org = union if isinstance(union, Organization) else Organization.objects.get(pk=union_id)
    return OrgRole.objects.filter(scope.subtree_q(org, "organization__"), user=user).exists()


# --- Counters -----------------------------------------------------------------------------


def count_aid_counters() -> dict[tuple[int, str], int]:
    """Ground truth of every `services.aid.` counter, counted from the cases."""
    truth: Counter = Counter()
    for case in AidCase.objects.values("organization_id", "status"):
        org = case["organization_id"]
        truth[(org, S.AID_CASES)] += 1
        if case["status"] in APPROVED_STATUSES:
            truth[(org, S.AID_APPROVED)] += 1
        if case["status"] in PAID_STATUSES:
            truth[(org, S.AID_DISBURSED_COUNT)] += 1
    paid = (
        AidStep.objects.filter(kind=AidStepKind.DISBURSED)
        .values_list("case__organization_id")
        .annotate(total=Sum("amount"))
    )
    for org, total in paid:
        truth[(org, S.AID_DISBURSED_FEN)] += counters.fen(total or 0)
    return dict(truth)
