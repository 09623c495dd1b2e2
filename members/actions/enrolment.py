"""Enrolling the people of checked spreadsheet rows as members, many at a time.

`enrol_checked_rows` is the one action for it, called by the member import job
(`spreadsheets.run_member_import`), the legacy migration command (`import_legacy_members`)
and the bulk-load benchmark (`bench/member_load.py`). It writes the members (membership and
card numbers, JOINED events) batch by batch with COPY (`core.bulk`), then adjusts the
counters and records the audit, in one transaction.

The transaction is not durable: the import job calls the action inside its own
transaction, so that the job is marked done in the same commit as its members (a crash in
between would otherwise leave members written under a job that says nothing was), and the
tests of the import run it inside a savepoint of theirs. The migration command calls it
outside any transaction, one batch per call, so there it is the whole transaction.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from django.db import transaction
from django.utils import timezone

from core import bulk
from core.audit import record_audit
from organizations import counters

from ..cards import new_card_numbers, new_membership_numbers
from ..counters import counter_delta, event_counter_keys
from ..importing.rows import CheckedRow
from ..models import EventKind, ImportJob, Member, MembershipEvent, MemberStatus
from ..people import apply_person

__all__ = ["bulk_enrol", "enrol_checked_rows"]


def enrol_checked_rows(
    *,
    batches: Iterable[Sequence[CheckedRow]],
    acting_user=None,
    job: ImportJob | None = None,
    source: str = "",
) -> int:
    """Enrol the people of checked rows (outcome CREATE) as active members, all or none;
    returns how many were enrolled.

    `batches` may be a generator that checks the rows as it goes: whatever it raises rolls
    everything back. The audit entry of an import is one "member.imported" on its `job`;
    without a job, each union gets one "member.migrated" naming `source` (the tool).
    Only the count is returned: the members of a 200,000-row file are not kept in memory.
    """
    if (job is None) == (not source):
        raise TypeError("enrol_checked_rows takes either a job or a source")
    created = 0
    delta: Counter = Counter()
    per_union: Counter = Counter()
    unions = {}
    with transaction.atomic():
        for rows in batches:
            if not rows:
                continue
            members, batch_delta = bulk_enrol(rows, actor=acting_user)
            delta.update(batch_delta)
            created += len(rows)
            if job is None:
                for member in members:
                    per_union[member.organization_id] += 1
                    unions.setdefault(member.organization_id, member.organization)
        counters.adjust(delta)
        if job is not None:
            record_audit(
                actor=acting_user,
                action="member.imported",
                obj=job,
                organization=job.organization,
                changes={"created": created},
            )
        for org_id, count in sorted(per_union.items()):
            record_audit(
                actor=acting_user,
                action="member.migrated",
                obj=unions[org_id],
                organization=unions[org_id],
                changes={"created": count, "source": source},
            )
    return created


def bulk_enrol(rows: list[CheckedRow], *, actor=None) -> tuple[list[Member], Counter]:
    """Insert members for one batch of checked rows with their JOINED events; returns the
    members and the counter delta. A step of `enrol_checked_rows`, which applies the delta."""
    now = timezone.now()
    members = []
    by_year: dict[int, list[Member]] = defaultdict(list)
    for row in rows:
        member = Member(
            organization=row.union,
            join_date=row.join_date,
            status=MemberStatus.ACTIVE,
            card_issued_at=now,
        )
        apply_person(member, row.data)
        members.append(member)
        by_year[member.join_date.year].append(member)
    for year, group in by_year.items():
        for member, number in zip(group, new_membership_numbers(len(group), year), strict=True):
            member.membership_number = number
    for member, number in zip(members, new_card_numbers(len(members)), strict=True):
        member.card_number = number
    bulk.insert(Member, members)
    actor = actor if getattr(actor, "is_authenticated", False) else None
    events = [
        MembershipEvent(
            member=member,
            kind=EventKind.JOINED,
            actor=actor,
            to_status=MemberStatus.ACTIVE,
            to_organization_id=member.organization_id,
            effective_on=member.join_date,
        )
        for member in members
    ]
    bulk.insert(MembershipEvent, events)
    delta = counter_delta([], members)
    for event in events:
        for key in event_counter_keys(event):
            delta[key] += 1
    return members, delta
