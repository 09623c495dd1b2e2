"""Read-only queries of activities: what a member is offered, their registrations, attendees."""

from __future__ import annotations

from collections import Counter

from django.db.models import Count, Prefetch, QuerySet
from django.utils import timezone

from members.models import Member
from organizations import scope

from .. import statkeys as S
from ..actions import audience_allows, union_chain
from ..models import Activity, ActivitySession, ActivityStatus, Registration, RegistrationStatus

# Counters at the member's own union: places held (status registered), and check-ins.
REGISTRATIONS = S.REGISTRATIONS
ATTENDANCE = S.ATTENDANCE


def upcoming_sessions() -> QuerySet[ActivitySession]:
    return ActivitySession.objects.filter(ends_at__gt=timezone.now()).order_by("starts_at", "pk")


def offered_activities(member: Member) -> list[Activity]:
    """Published activities of the member's union chain that admit them and still have a
    session to come, soonest first (a constant number of queries whatever the depth)."""
    chain_ids = [o.pk for o in union_chain(member.organization)]
    now = timezone.now()
    activities = (
        Activity.objects.filter(
            organization_id__in=chain_ids,
            status=ActivityStatus.PUBLISHED,
            sessions__ends_at__gt=now,
        )
        .distinct()
        .select_related("organization", "station")
        .prefetch_related(
            "audience_unions", Prefetch("sessions", queryset=upcoming_sessions(), to_attr="coming")
        )
    )
    offered = [a for a in activities if audience_allows(a, member, chain_ids)]
    return sorted(offered, key=lambda a: (a.coming[0].starts_at, a.pk))


def offered_activity(member: Member, pk) -> Activity | None:
    """One activity offered to the member (any status but draft), or None."""
    chain_ids = [o.pk for o in union_chain(member.organization)]
    activity = (
        Activity.objects.filter(organization_id__in=chain_ids, pk=pk)
        .exclude(status=ActivityStatus.DRAFT)
        .select_related("organization", "station")
        .prefetch_related("audience_unions")
        .first()
    )
    if activity is None or not audience_allows(activity, member, chain_ids):
        return None
    return activity


def member_registrations(member: Member) -> QuerySet[Registration]:
    """The member's registrations, latest session first."""
    return (
        Registration.objects.filter(member=member)
        .select_related("session__activity__organization", "session__activity__station")
        .order_by("-session__starts_at", "-pk")
    )


def live_registrations(member: Member, activity: Activity) -> QuerySet[Registration]:
    """The member's registrations for the sessions of `activity` that are not cancelled."""
    return Registration.objects.filter(member=member, session__activity=activity).exclude(
        status=RegistrationStatus.CANCELLED
    )


def registration_for(member: Member, session: ActivitySession) -> Registration | None:
    """The member's registration for the session, unless it was cancelled."""
    return (
        Registration.objects.filter(session=session, member=member)
        .exclude(status=RegistrationStatus.CANCELLED)
        .first()
    )


def own_registrations(member: Member) -> QuerySet[Registration]:
    """The member's own registrations with their session, to look one up."""
    return Registration.objects.filter(member=member).select_related("session", "member")


def waitlist_positions(registrations) -> dict[int, int]:
    """{registration id: position in line (1 = next)} for the waitlisted ones, one query."""
    waiting = [r for r in registrations if r.status == RegistrationStatus.WAITLISTED]
    if not waiting:
        return {}
    queue = (
        Registration.objects.filter(
            session_id__in={r.session_id for r in waiting}, status=RegistrationStatus.WAITLISTED
        )
        .order_by("session_id", "waitlisted_at", "pk")
        .values_list("pk", "session_id")
    )
    positions, counts = {}, {}
    for pk, session_id in queue:
        counts[session_id] = counts.get(session_id, 0) + 1
        positions[pk] = counts[session_id]
    return {r.pk: positions[r.pk] for r in waiting if r.pk in positions}


def waitlist_position(registration: Registration) -> int | None:
    """1 for the first in line; None unless the registration is on the waiting list."""
    if registration.status != RegistrationStatus.WAITLISTED:
        return None
    ahead = Registration.objects.filter(
        session_id=registration.session_id,
        status=RegistrationStatus.WAITLISTED,
        waitlisted_at__lt=registration.waitlisted_at,
    ).count()
    ties = Registration.objects.filter(
        session_id=registration.session_id,
        status=RegistrationStatus.WAITLISTED,
        waitlisted_at=registration.waitlisted_at,
        pk__lt=registration.pk,
    ).count()
    return ahead + ties + 1


def attendees(session: ActivitySession, user) -> list[dict]:
    """The registrations of a session for the staff page: names in full only for officers
    who may see the member's personal data, masked for everyone else."""
    rows = []
    regs = (
        session.registrations.exclude(status=RegistrationStatus.CANCELLED)
        .select_related("member", "member__organization", "member_union")
        .order_by("status", "waitlisted_at", "created_at", "pk")
    )
    for reg in regs:
        member = reg.member
        full = scope.can(user, scope.Access.PERSONAL, member.organization)
        rows.append(
            {
                "registration": reg,
                "name": member.name if full else member.masked_name,
                "union": reg.member_union,
            }
        )
    return rows


def count_activity_counters() -> dict[tuple[int, str], int]:
    """Ground truth of the `services.activities.` counters, counted from the rows."""
    truth: Counter = Counter()
    held = Registration.objects.filter(status=RegistrationStatus.REGISTERED).order_by()
    for org, n in held.values_list("member_union_id").annotate(n=Count("pk")):
        truth[(org, REGISTRATIONS)] += n
    came = Registration.objects.filter(checked_in_at__isnull=False).order_by()
    for org, n in came.values_list("member_union_id").annotate(n=Count("pk")):
        truth[(org, ATTENDANCE)] += n
    return dict(truth)
