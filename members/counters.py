"""The members' statistics counters (`organizations.counters`): the keys a member row, a
history event and a dues record add to, and the ground truth of every "members." key.

Importing this module registers the "members." source; the members app's `ready()` does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import ExtractYear, TruncDate

from organizations import counters

from . import statkeys as M
from .models import DuesRecord, EventKind, Member, MembershipEvent, MemberStatus
from .selectors.dues import paid_q

# --- Members and their history ------------------------------------------------------------


def counter_keys(member: Member) -> list[tuple[int, str]]:
    """The counters one member row contributes to (its union's, by status and profile).

    Profile breakdowns count active members only. Age is kept as birth year, so that the
    counters stay exact as people grow older; age bands are derived when read.
    """
    if member.deleted_at is not None:
        return []
    org = member.organization_id
    keys = [(org, M.STATUS(member.status))]
    if member.status == MemberStatus.ACTIVE:
        keys += [
            (org, M.GENDER(member.gender)),
            (org, M.BIRTH_YEAR(member.birth_date.year)),
            (org, M.EMPLOYMENT(member.employment_type)),
        ]
    return keys


def counter_delta(before: Iterable[Member], after: Iterable[Member]) -> Counter:
    delta: Counter = Counter()
    for member in before:
        for key in counter_keys(member):
            delta[key] -= 1
    for member in after:
        for key in counter_keys(member):
            delta[key] += 1
    return delta


def event_counter_keys(event: MembershipEvent) -> list[tuple[int, str]]:
    """Flows: joins, transfers in and out, and status changes, per union."""
    if event.kind in (EventKind.JOINED, EventKind.REJOINED):
        return [(event.to_organization_id, M.JOINED)]
    if event.kind in (EventKind.TRANSFERRED, EventKind.RETAINED):
        return [
            (event.from_organization_id, M.TRANSFER_OUT),
            (event.to_organization_id, M.TRANSFER_IN),
        ]
    return [(event.to_organization_id, M.FLOW_STATUS(event.to_status))]


def count_member_counters() -> dict[tuple[int, str], int]:
    """Ground truth of every `members.` counter, counted from the rows."""
    truth: Counter = Counter()
    live = Member.objects.filter(deleted_at__isnull=True)
    for org, status, n in live.values_list("organization_id", "status").annotate(n=Count("pk")):
        truth[(org, M.STATUS(status))] += n
    active = live.filter(status=MemberStatus.ACTIVE)
    for field, family in (("gender", M.GENDER), ("employment_type", M.EMPLOYMENT)):
        for org, value, n in active.values_list("organization_id", field).annotate(n=Count("pk")):
            truth[(org, family(value))] += n
    for org, year, n in (
        active.annotate(year=ExtractYear("birth_date"))
        .values_list("organization_id", "year")
        .annotate(n=Count("pk"))
    ):
        truth[(org, M.BIRTH_YEAR(year))] += n
    events = MembershipEvent.objects.values_list(
        "kind", "from_organization_id", "to_organization_id", "to_status"
    ).annotate(n=Count("pk"))
    for kind, from_org, to_org, to_status, n in events:
        event = MembershipEvent(
            kind=kind, from_organization_id=from_org, to_organization_id=to_org, to_status=to_status
        )
        for key in event_counter_keys(event):
            truth[key] += n
    truth.update(count_dues_counters())
    return dict(truth)


def event_changes(event: MembershipEvent, n: int = 1) -> Counter:
    """What `n` events like `event` change, per (union, key): the flows the counters count
    (`event_counter_keys`) and the stocks of active and retained members, which move
    between statuses and unions. What the statistics rebuild past days from."""
    changes: Counter = Counter()
    for key in event_counter_keys(event):
        changes[key] += n
    for status, key in ((MemberStatus.ACTIVE, M.ACTIVE), (MemberStatus.RETAINED, M.RETAINED)):
        if event.to_status == status and event.to_organization_id:
            changes[(event.to_organization_id, key)] += n
        if event.from_status == status and event.from_organization_id:
            changes[(event.from_organization_id, key)] -= n
    return changes


def changes_by_day(events: QuerySet[MembershipEvent]) -> dict:
    """{local date: {(union, key): change}} of `events`, by the day each was recorded (one
    query grouped by day and kind of step)."""
    rows = (
        events.annotate(day=TruncDate("at"))
        .values_list(
            "day", "kind", "from_organization_id", "to_organization_id", "from_status", "to_status"
        )
        .annotate(n=Count("pk"))
        .order_by()
    )
    days: dict = {}
    for day, kind, from_org, to_org, from_status, to_status, n in rows:
        event = MembershipEvent(
            kind=kind,
            from_organization_id=from_org,
            to_organization_id=to_org,
            from_status=from_status or "",
            to_status=to_status,
        )
        days.setdefault(day, Counter()).update(event_changes(event, n))
    return days


def recorded_by_day(org_ids: list[int], since) -> Counter:
    """{(local date, key): change} of the membership events recorded in `org_ids` from
    `since` on (`organizations.counters.register_dated_source`)."""
    wanted = set(org_ids)
    events = MembershipEvent.objects.filter(at__gte=since).filter(
        Q(to_organization__in=org_ids) | Q(from_organization__in=org_ids)
    )
    out: Counter = Counter()
    for day, changes in changes_by_day(events).items():
        for (org, key), change in changes.items():
            if org in wanted:
                out[(day, key)] += change
    return out


# --- Dues ---------------------------------------------------------------------------------
# Per collecting union (`DuesRecord.organization`), over all months: ``members.dues.records``,
# ``members.dues.due_fen`` and ``members.dues.paid_fen`` (money in fen, so that counters stay
# integers) and ``members.dues.paid_records`` (paid in full, as `DuesRecord.is_paid` says).
# Their ground truth is part of `count_member_counters`: the "members." source answers for
# every key under its prefix.


def record_counters(record: DuesRecord) -> Counter:
    """The counters one dues record contributes to."""
    org = record.organization_id
    return Counter(
        {
            (org, M.DUES_RECORDS): 1,
            (org, M.DUES_DUE_FEN): counters.fen(record.amount_due),
            (org, M.DUES_PAID_FEN): counters.fen(record.amount_paid),
            (org, M.DUES_PAID_RECORDS): int(record.is_paid),
        }
    )


def count_dues_counters(records: QuerySet[DuesRecord] | None = None) -> Counter:
    """The counters of `records` (every dues record by default), in one query grouped by union."""
    records = DuesRecord.objects.all() if records is None else records
    rows = (
        records.order_by()
        .values("organization_id")
        .annotate(
            n=Count("pk"),
            due=Sum("amount_due"),
            paid=Sum("amount_paid"),
            paid_records=Count("pk", filter=paid_q()),
        )
        .values_list("organization_id", "n", "due", "paid", "paid_records")
    )
    truth: Counter = Counter()
    for org, n, due, paid, paid_records in rows:
        truth[(org, M.DUES_RECORDS)] += n
        truth[(org, M.DUES_DUE_FEN)] += counters.fen(due or 0)
        truth[(org, M.DUES_PAID_FEN)] += counters.fen(paid or 0)
        truth[(org, M.DUES_PAID_RECORDS)] += paid_records
    return truth


counters.register_source("members.", count_member_counters)
counters.register_dated_source(recorded_by_day)
