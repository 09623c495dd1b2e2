"""Member records (会员档案): enrolling, correcting real-name data, ending a membership and
revealing a full identifier to an officer.

Each action validates, writes in one transaction with its history event (`.history`),
counter adjustments and audit entry, and schedules side effects with
`transaction.on_commit`.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import record_audit, record_read
from organizations import counters, scope
from organizations.models import Level, Organization, OrgStatus

from ..cards import new_card_numbers, new_membership_numbers
from ..counters import counter_delta
from ..models import (
    CURRENT_STATUSES,
    PERSON_FIELDS,
    EventKind,
    Member,
    MemberStatus,
)
from ..people import apply_person
from ..selectors.records import existing_member_for
from .history import record_event, save_membership_change
from .permissions import require, require_member_admin


def check_member_union(org: Organization, status: str = MemberStatus.ACTIVE) -> None:
    if org.status != OrgStatus.ACTIVE:
        raise ValidationError(_("%(union)s is dissolved.") % {"union": org.name})
    if status == MemberStatus.RETAINED:
        if not (org.level == Level.TOWNSHIP or org.keeps_retained_members):
            raise ValidationError(
                _(
                    "Retained memberships are kept at a township or subdistrict federation "
                    "or a union designated for them."
                )
            )
    elif org.level != Level.GRASSROOTS:
        raise ValidationError(_("Members belong to a grassroots union."))


def create_member(
    *,
    organization: Organization,
    data: Mapping,
    acting_user=None,
    join_date: datetime.date | None = None,
    reason: str = "",
) -> Member:
    """Enrol a person whose real-name data passed `clean_person` in a grassroots union."""
    require_member_admin(acting_user, organization)
    return enrol_member(
        organization=organization,
        data=data,
        acting_user=acting_user,
        join_date=join_date,
        reason=reason,
    )


def enrol_member(
    *,
    organization: Organization,
    data: Mapping,
    acting_user=None,
    join_date: datetime.date | None = None,
    reason: str = "",
) -> Member:
    """`create_member` without the permission check, for callers that made their own
    (approving a join application is staff work)."""
    check_member_union(organization)
    with transaction.atomic():
        member = Member(organization=organization, join_date=join_date or timezone.localdate())
        apply_person(member, data)
        if existing_member_for(member.id_hash) is not None:
            raise ValidationError(
                {"id_number": [_("This person is already a member; transfer them instead.")]}
            )
        member.membership_number = new_membership_numbers(1, member.join_date.year)[0]
        member.card_number = new_card_numbers(1)[0]
        member.card_issued_at = timezone.now()
        try:
            with transaction.atomic():
                member.save()
        except IntegrityError:
            raise ValidationError(
                {"id_number": [_("This person is already a member; transfer them instead.")]}
            ) from None
        counters.adjust(counter_delta([], [member]))
        record_event(
            member=member,
            kind=EventKind.JOINED,
            actor=acting_user,
            reason=reason,
            effective_on=member.join_date,
        )
        record_audit(
            actor=acting_user, action="member.created", obj=member, organization=organization
        )
    return member


EDITABLE_MEMBER_FIELDS = frozenset(PERSON_FIELDS)


def update_member(*, member: Member, data: Mapping, acting_user=None) -> Member:
    """Correct a member's real-name data (cleaned with `clean_person`); counters follow."""
    unknown = set(data) - EDITABLE_MEMBER_FIELDS
    if unknown:
        raise ValueError(f"Not editable here: {sorted(unknown)}")
    require_member_admin(acting_user, member.organization)
    with transaction.atomic():
        before = Member.objects.select_for_update().get(pk=member.pk)
        after = Member.objects.get(pk=member.pk)
        apply_person(after, data)
        changed = [
            f
            for f in (
                "name",
                "ethnicity",
                "education",
                "employer",
                "job",
                "employment_type",
                "id_hash",
                "phone_hash",
            )
            if getattr(before, f) != getattr(after, f)
        ]
        if not changed:
            return after
        if "id_hash" in changed:
            other = existing_member_for(after.id_hash)
            if other is not None and other.pk != after.pk:
                raise ValidationError({"id_number": [_("This person is already a member.")]})
        after.save()
        counters.adjust(counter_delta([before], [after]))
        # Field names only: the audit log holds no personal data.
        record_audit(
            actor=acting_user,
            action="member.changed",
            obj=after,
            organization=after.organization,
            changes={"fields": sorted(f.replace("_hash", "_number") for f in changed)},
        )
    return after


# Allowed status changes by this action. Transfers and parking a retained membership
# have their own actions; a withdrawn person returns through a join application.
STATUS_TRANSITIONS = {
    MemberStatus.ACTIVE: {MemberStatus.WITHDRAWN, MemberStatus.EXPELLED, MemberStatus.DECEASED},
    MemberStatus.RETAINED: {
        MemberStatus.WITHDRAWN,
        MemberStatus.EXPELLED,
        MemberStatus.DECEASED,
    },
    MemberStatus.WITHDRAWN: set(),
    MemberStatus.EXPELLED: set(),
    MemberStatus.DECEASED: set(),
}


def change_status(
    *,
    member: Member,
    status: str,
    reason: str,
    acting_user=None,
    effective_on: datetime.date | None = None,
) -> Member:
    """End (or otherwise change) a membership, with the reason in its history."""
    require_member_admin(acting_user, member.organization)
    after = apply_status_change(
        member=member,
        status=status,
        reason=reason,
        acting_user=acting_user,
        effective_on=effective_on,
    )
    if status not in CURRENT_STATUSES and after.user_id:
        from notifications.actions import notify_on_commit

        notify_on_commit(
            [after.user_id],
            "member.status_changed",
            {"status": str(MemberStatus(status).label)},
            dedupe_key=f"member.status:{after.pk}:{status}:{after.status_changed_on}",
        )
    return after


def apply_status_change(
    *,
    member: Member,
    status: str,
    reason: str,
    acting_user=None,
    effective_on: datetime.date | None = None,
) -> Member:
    """`change_status` without the permission check and the member's notification, for
    callers that made their own (a member deleting their own account)."""
    if not reason.strip():
        raise ValidationError({"reason": [_("Give the reason for the change.")]})
    with transaction.atomic():
        before = Member.objects.select_for_update().get(pk=member.pk)
        if status not in STATUS_TRANSITIONS[before.status]:
            raise ValidationError(
                {
                    "status": [
                        _("A member who is “%(old)s” cannot become “%(new)s”.")
                        % {
                            "old": MemberStatus(before.status).label,
                            "new": MemberStatus(status).label,
                        }
                    ]
                }
            )
        if before.transfers.filter(status="open").exists():
            raise ValidationError(_("This member has an open transfer; it must be closed first."))
        after = Member.objects.get(pk=member.pk)
        after.status = status
        after.status_changed_on = effective_on or timezone.localdate()
        if status not in CURRENT_STATUSES:
            after.card_revoked_at = timezone.now()
        save_membership_change(
            before=before,
            after=after,
            kind=EventKind.STATUS_CHANGED,
            acting_user=acting_user,
            reason=reason,
            effective_on=after.status_changed_on,
        )
        record_audit(
            actor=acting_user,
            action="member.status_changed",
            obj=after,
            organization=after.organization,
            changes={"status": [before.status, status]},
        )
    return after


REVEALABLE = {"id_number", "phone"}


def reveal(*, member: Member, field: str, acting_user, reason: str = "") -> str:
    """Show a member's full ID number or phone to an officer; writes an audit entry."""
    if field not in REVEALABLE:
        raise ValueError(field)
    require(acting_user, scope.Access.PERSONAL, member)
    allowed = acting_user.has_perm("members.reveal_personal_data")
    record_read(
        actor=acting_user,
        action=f"member.revealed_{field}",
        obj=member,
        organization=member.organization,
        reason=reason,
        refused=not allowed,
    )
    if not allowed:
        raise PermissionDenied(_("You may not see full ID numbers and phone numbers."))
    return getattr(member, field)
