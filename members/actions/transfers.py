"""Transfers between unions (会员关系转接) and parking a retained membership (保留会籍).

A transfer needs two steps: the sending union releases the member, the receiving union
accepts them. Whoever starts it (the member in the portal, the sending union or the
receiving union) has its own step done at once. A retained membership is kept at a
township/subdistrict or designated union whose officers have no personal-data access, so
it needs no release; for it the member (or, at a designated grassroots union, its admins)
stands in for the sending side. Either union may refuse with a reason, the initiator may
cancel, and an open transfer expires after `settings.MEMBERS_TRANSFER_EXPIRY_DAYS` days.
The member, the counters and the history move in the transaction of the last step.

Lock order, as in `members.actions`: the member row first, then the transfer row.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import crypto
from core.audit import record_audit
from notifications import kinds
from notifications.actions import link_for
from organizations.models import Organization, OrgRole, Role

from .. import validators
from ..models import (
    CURRENT_STATUSES,
    EventKind,
    Member,
    MemberStatus,
    Transfer,
    TransferSide,
    TransferStatus,
)
from .history import save_membership_change
from .permissions import require_member_admin
from .records import check_member_union

__all__ = [
    "accept_transfer",
    "available_steps",
    "cancel_transfer",
    "expire_transfers",
    "find_member_for_receiving",
    "refuse_transfer",
    "release_transfer",
    "request_transfer",
    "retain_membership",
]

NOTIFICATION_KINDS = [
    (
        "transfer.expiring",
        gettext_lazy("A transfer from %(from)s to %(to)s lapses on %(day)s"),
        gettext_lazy(
            "Transfer no. %(number)s still waits for your union's step; on that day it "
            "lapses (To-do)."
        ),
    ),
    (
        "transfer.requested",
        gettext_lazy("A membership transfer from %(from)s to %(to)s was started"),
        gettext_lazy("The transfer waits for the unions' decision."),
    ),
    (
        "transfer.released",
        gettext_lazy("%(from)s released a membership transfer to %(to)s"),
        gettext_lazy("The receiving union can now accept the member."),
    ),
    (
        "transfer.accepted",
        gettext_lazy("%(to)s accepted a membership transfer from %(from)s"),
        gettext_lazy("The transfer completes when the sending union releases the member."),
    ),
    (
        "transfer.completed",
        gettext_lazy("The membership transfer from %(from)s to %(to)s is complete"),
        gettext_lazy("The membership now belongs to %(to)s; the membership number and card stay."),
    ),
    (
        "transfer.refused",
        gettext_lazy("The membership transfer from %(from)s to %(to)s was refused"),
        gettext_lazy("See the transfer for the reason."),
    ),
    (
        "transfer.expired",
        gettext_lazy("The membership transfer from %(from)s to %(to)s expired"),
        gettext_lazy("It was not completed in time; it can be started again."),
    ),
    (
        "transfer.cancelled",
        gettext_lazy("The membership transfer from %(from)s to %(to)s was cancelled"),
        gettext_lazy("The membership stays where it was."),
    ),
    (
        "membership.retained",
        gettext_lazy("Your membership is now kept at %(to)s"),
        gettext_lazy(
            "Your membership is retained until you join a union at a new employer; "
            "your membership number and card stay valid."
        ),
    ),
]
for _kind, _title, _body in NOTIFICATION_KINDS:
    kinds.register(_kind, _title, _body)


# --- Who may do what -------------------------------------------------------------------


def _is_member_self(user, member: Member) -> bool:
    return (
        user is not None
        and getattr(user, "is_authenticated", False)
        and member.user_id is not None
        and member.user_id == user.pk
    )


def _require_member_self(user, member: Member) -> None:
    if not _is_member_self(user, member):
        raise PermissionDenied(_("Only the member themself can do this."))


def _require_side(user, transfer: Transfer, side: str) -> None:
    """PermissionDenied unless `user` may act for `side` of the transfer."""
    if side == TransferSide.RECEIVING:
        require_member_admin(user, transfer.to_organization)
        return
    if side != TransferSide.SENDING:
        raise ValidationError({"side": [_("Choose the sending or the receiving union.")]})
    if transfer.member.status == MemberStatus.RETAINED and _is_member_self(user, transfer.member):
        # Nobody keeps personal records of a retained membership at a township
        # federation, so the member answers for the sending side.
        return
    require_member_admin(user, transfer.from_organization)


def _require_initiator(user, transfer: Transfer) -> None:
    side = transfer.initiated_by_side
    if side == TransferSide.MEMBER:
        _require_member_self(user, transfer.member)
    elif side == TransferSide.SENDING:
        require_member_admin(user, transfer.from_organization)
    else:
        require_member_admin(user, transfer.to_organization)


def _allowed(check, *args) -> bool:
    try:
        check(*args)
    except (PermissionDenied, ValidationError):
        return False
    return True


def _both_done_at_creation(transfer: Transfer) -> bool:
    return transfer.released_at is not None and transfer.accepted_at is not None


def available_steps(*, transfer: Transfer, user) -> set[str]:
    """What `user` may do now on the transfer: release, accept, refuse_sending,
    refuse_receiving, cancel. Used to show only the buttons that would work."""
    if not transfer.is_open or transfer.expires_at <= timezone.now():
        return set()
    steps = set()
    can_send = _allowed(_require_side, user, transfer, TransferSide.SENDING)
    can_receive = _allowed(_require_side, user, transfer, TransferSide.RECEIVING)
    if can_send and (
        transfer.released_at is None
        or (_both_done_at_creation(transfer) and transfer.initiated_by_side != TransferSide.SENDING)
    ):
        steps.add("release")
    if can_receive and transfer.accepted_at is None:
        steps.add("accept")
    if can_send:
        steps.add("refuse_sending")
    if can_receive:
        steps.add("refuse_receiving")
    if _allowed(_require_initiator, user, transfer):
        steps.add("cancel")
    return steps


# --- Notifications ---------------------------------------------------------------------


def _admin_ids(*orgs: Organization) -> set[int]:
    """Users holding the admin role at exactly these organizations (not above them)."""
    return set(
        OrgRole.objects.filter(organization__in=orgs, role=Role.ADMIN).values_list(
            "user_id", flat=True
        )
    )


def _notify_later(
    transfer: Transfer, kind: str, step: str, *, acting_user=None, orgs=(), member=True
) -> None:
    """On commit: tell the member and the admins of `orgs` (ids only, once per step)."""
    from notifications.actions import link_for, notify

    context = {"from": transfer.from_organization.name, "to": transfer.to_organization.name}
    key = f"transfer:{transfer.pk}:{step}"
    acting = getattr(acting_user, "pk", None)
    member_ids = {transfer.member.user_id} if member and transfer.member.user_id else set()
    admin_ids = _admin_ids(*orgs) - member_ids if orgs else set()
    member_ids.discard(acting)
    admin_ids.discard(acting)
    member_link = link_for("transfer-list")
    admin_link = link_for("admin:members_transfer_change", transfer.pk)

    def send():
        if member_ids:
            notify(member_ids, kind, context, member_link, dedupe_key=key)
        if admin_ids:
            notify(admin_ids, kind, context, admin_link, dedupe_key=key)

    transaction.on_commit(send)


def _pending_orgs(transfer: Transfer) -> list[Organization]:
    """The unions whose step is still missing (the ones that must act next)."""
    orgs = []
    if transfer.released_at is None:
        orgs.append(transfer.from_organization)
    if transfer.accepted_at is None:
        orgs.append(transfer.to_organization)
    if not orgs:
        # Both steps were done when it was started: the other side confirms.
        orgs.append(
            transfer.from_organization
            if transfer.initiated_by_side == TransferSide.RECEIVING
            else transfer.to_organization
        )
    return orgs


# --- Starting a transfer ---------------------------------------------------------------


def find_member_for_receiving(*, id_number: str, name: str) -> Member | None:
    """The current member with this ID number and exactly this name, for a receiving union.

    Both must match, so an ID number alone reveals nothing. A malformed ID number raises
    ValidationError on `id_number`.
    """
    try:
        number = validators.validate_id_number(id_number)
    except ValidationError as error:
        raise ValidationError({"id_number": error.messages}) from None
    name = (name or "").strip()
    if not name:
        return None
    member = (
        Member.objects.select_related("organization")
        .filter(
            id_hash=crypto.id_hash(number),
            deleted_at__isnull=True,
            status__in=CURRENT_STATUSES,
        )
        .first()
    )
    if member is None or member.name != name:
        return None
    return member


def _expiry(now: datetime.datetime) -> datetime.datetime:
    return now + datetime.timedelta(days=settings.MEMBERS_TRANSFER_EXPIRY_DAYS)


def request_transfer(
    *,
    member: Member,
    to_organization: Organization,
    side: str,
    acting_user,
    reason: str = "",
    new_employer: str = "",
) -> Transfer:
    """Start a transfer of `member` to `to_organization`, by the member or either union."""
    if side not in TransferSide.values:
        raise ValidationError({"side": [_("Choose who starts the transfer.")]})
    if side == TransferSide.MEMBER:
        _require_member_self(acting_user, member)
    elif side == TransferSide.SENDING:
        require_member_admin(acting_user, member.organization)
    else:
        require_member_admin(acting_user, to_organization)
    try:
        check_member_union(to_organization)
    except ValidationError as error:
        raise ValidationError({"to_organization": error.messages}) from None
    with transaction.atomic():
        member = Member.objects.select_for_update().get(pk=member.pk)
        if member.deleted_at is not None or member.status not in CURRENT_STATUSES:
            raise ValidationError(_("Only a current membership can be transferred."))
        if member.organization_id == to_organization.pk:
            raise ValidationError(
                {"to_organization": [_("The member already belongs to this union.")]}
            )
        if member.transfers.filter(status=TransferStatus.OPEN).exists():
            raise ValidationError(_("This member already has an open transfer."))
        now = timezone.now()
        actor = acting_user if getattr(acting_user, "is_authenticated", False) else None
        transfer = Transfer(
            member=member,
            from_organization=member.organization,
            to_organization=to_organization,
            initiated_by_side=side,
            initiated_by=actor,
            reason=(reason or "").strip()[:500],
            new_employer=(new_employer or "").strip()[:200],
            expires_at=_expiry(now),
        )
        if side == TransferSide.SENDING or member.status == MemberStatus.RETAINED:
            transfer.released_at = now
            transfer.released_by = actor if side == TransferSide.SENDING else None
        if side == TransferSide.RECEIVING:
            transfer.accepted_at = now
            transfer.accepted_by = actor
        try:
            with transaction.atomic():
                transfer.save()
        except IntegrityError:
            raise ValidationError(_("This member already has an open transfer.")) from None
        record_audit(
            actor=acting_user,
            action="transfer.requested",
            obj=transfer,
            organization=(
                to_organization if side == TransferSide.RECEIVING else member.organization
            ),
            changes={
                "side": side,
                "from": transfer.from_organization_id,
                "to": transfer.to_organization_id,
            },
        )
        _notify_later(
            transfer,
            "transfer.requested",
            "requested",
            acting_user=acting_user,
            orgs=_pending_orgs(transfer),
        )
    return transfer


# --- Steps on an open transfer ---------------------------------------------------------


class _Expired(Exception):
    pass


def _on_open_transfer(transfer: Transfer, acting_user, check, work) -> Transfer:
    """Lock the member and the transfer, check permission, state and expiry, then work.

    An expired transfer found here is marked expired (committed) before the refusal.
    """
    try:
        with transaction.atomic():
            Member.objects.select_for_update().filter(pk=transfer.member_id).first()
            locked = (
                Transfer.objects.select_for_update(of=("self",))
                .select_related("member", "from_organization", "to_organization")
                .get(pk=transfer.pk)
            )
            check(acting_user, locked)
            if locked.status != TransferStatus.OPEN:
                raise ValidationError(
                    _("This transfer is already closed (%(status)s).")
                    % {"status": TransferStatus(locked.status).label},
                    code="closed",
                )
            if locked.expires_at <= timezone.now():
                raise _Expired
            return work(locked)
    except _Expired:
        _expire(Transfer.objects.filter(pk=transfer.pk), timezone.now())
        raise ValidationError(
            _("This transfer has expired; start a new one if it is still wanted."),
            code="expired",
        ) from None


def _complete(transfer: Transfer, acting_user, now: datetime.datetime) -> None:
    """Move the membership (already locked by the caller) to the receiving union."""
    before = Member.objects.select_related("organization").get(pk=transfer.member_id)
    if before.deleted_at is not None or before.status not in CURRENT_STATUSES:
        raise ValidationError(_("Only a current membership can be transferred."))
    after = Member.objects.get(pk=before.pk)
    after.organization = transfer.to_organization
    after.status = MemberStatus.ACTIVE
    if before.status != MemberStatus.ACTIVE:
        after.status_changed_on = timezone.localdate(now)
    if transfer.new_employer:
        after.employer = transfer.new_employer
    save_membership_change(
        before=before,
        after=after,
        kind=EventKind.TRANSFERRED,
        acting_user=acting_user,
        reason=transfer.reason,
        effective_on=timezone.localdate(now),
        transfer=transfer,
    )
    transfer.status = TransferStatus.COMPLETED
    transfer.closed_at = now
    transfer.save(update_fields=["status", "closed_at"])
    record_audit(
        actor=acting_user,
        action="transfer.completed",
        obj=transfer,
        organization=transfer.to_organization,
        changes={"from": transfer.from_organization_id, "to": transfer.to_organization_id},
    )
    _notify_later(
        transfer,
        "transfer.completed",
        "completed",
        acting_user=acting_user,
        orgs=[transfer.from_organization, transfer.to_organization],
    )


def release_transfer(*, transfer: Transfer, acting_user) -> Transfer:
    """The sending side lets the member go; completes the transfer if it was accepted."""

    def check(user, t):
        _require_side(user, t, TransferSide.SENDING)

    def work(t):
        now = timezone.now()
        confirming = _both_done_at_creation(t) and t.initiated_by_side != TransferSide.SENDING
        if t.released_at is not None and not confirming:
            raise ValidationError(_("The sending union has already released the member."))
        t.released_at = now
        t.released_by = acting_user if getattr(acting_user, "is_authenticated", False) else None
        t.save(update_fields=["released_at", "released_by"])
        record_audit(
            actor=acting_user,
            action="transfer.released",
            obj=t,
            organization=t.from_organization,
        )
        if t.accepted_at is not None:
            _complete(t, acting_user, now)
        else:
            _notify_later(
                t,
                "transfer.released",
                "released",
                acting_user=acting_user,
                orgs=[t.to_organization],
            )
        return t

    return _on_open_transfer(transfer, acting_user, check, work)


def accept_transfer(*, transfer: Transfer, acting_user) -> Transfer:
    """The receiving union takes the member in; completes the transfer if released."""

    def check(user, t):
        _require_side(user, t, TransferSide.RECEIVING)

    def work(t):
        if t.accepted_at is not None:
            raise ValidationError(_("The receiving union has already accepted the member."))
        now = timezone.now()
        # Checked again here: the union may have been dissolved since the start.
        check_member_union(t.to_organization)
        t.accepted_at = now
        t.accepted_by = acting_user if getattr(acting_user, "is_authenticated", False) else None
        t.save(update_fields=["accepted_at", "accepted_by"])
        record_audit(
            actor=acting_user,
            action="transfer.accepted",
            obj=t,
            organization=t.to_organization,
        )
        if t.released_at is not None:
            _complete(t, acting_user, now)
        else:
            _notify_later(
                t,
                "transfer.accepted",
                "accepted",
                acting_user=acting_user,
                orgs=[t.from_organization],
            )
        return t

    return _on_open_transfer(transfer, acting_user, check, work)


def refuse_transfer(*, transfer: Transfer, side: str, acting_user, reason: str) -> Transfer:
    """Either union refuses the transfer, with the reason shown to everyone involved."""
    reason = (reason or "").strip()
    if side not in (TransferSide.SENDING, TransferSide.RECEIVING):
        raise ValidationError({"side": [_("Choose the sending or the receiving union.")]})
    if not reason:
        raise ValidationError({"reason": [_("Give the reason for the refusal.")]})

    def check(user, t):
        _require_side(user, t, side)

    def work(t):
        t.status = TransferStatus.REFUSED
        t.refused_by_side = side
        t.refusal_reason = reason[:500]
        t.closed_at = timezone.now()
        t.save(update_fields=["status", "refused_by_side", "refusal_reason", "closed_at"])
        record_audit(
            actor=acting_user,
            action="transfer.refused",
            obj=t,
            organization=(
                t.from_organization if side == TransferSide.SENDING else t.to_organization
            ),
            changes={"side": side},
        )
        _notify_later(
            t,
            "transfer.refused",
            "refused",
            acting_user=acting_user,
            orgs=[t.from_organization, t.to_organization],
        )
        return t

    return _on_open_transfer(transfer, acting_user, check, work)


def cancel_transfer(*, transfer: Transfer, acting_user) -> Transfer:
    """Whoever started the transfer withdraws it."""

    def work(t):
        t.status = TransferStatus.CANCELLED
        t.closed_at = timezone.now()
        t.save(update_fields=["status", "closed_at"])
        record_audit(
            actor=acting_user,
            action="transfer.cancelled",
            obj=t,
            organization=(
                t.to_organization
                if t.initiated_by_side == TransferSide.RECEIVING
                else t.from_organization
            ),
        )
        _notify_later(
            t,
            "transfer.cancelled",
            "cancelled",
            acting_user=acting_user,
            orgs=[t.from_organization, t.to_organization],
        )
        return t

    return _on_open_transfer(transfer, acting_user, _require_initiator, work)


# --- Expiry ----------------------------------------------------------------------------


def _expire(queryset, now: datetime.datetime, *, durable: bool = False) -> int:
    with transaction.atomic(durable=durable):
        # Rows another transaction is working on are left for the next run.
        due = list(
            queryset.select_for_update(skip_locked=True, of=("self",))
            .filter(status=TransferStatus.OPEN, expires_at__lte=now)
            .select_related("member", "from_organization", "to_organization")
        )
        if not due:
            return 0
        Transfer.objects.filter(pk__in=[t.pk for t in due]).update(
            status=TransferStatus.EXPIRED, closed_at=now
        )
        for transfer in due:
            transfer.status = TransferStatus.EXPIRED
            transfer.closed_at = now
            record_audit(
                actor=None,
                action="transfer.expired",
                obj=transfer,
                organization=transfer.from_organization,
            )
            _notify_later(
                transfer,
                "transfer.expired",
                "expired",
                orgs=[transfer.from_organization, transfer.to_organization],
            )
    return len(due)


# The unions that must act on an open transfer are reminded this long before it lapses.
EXPIRY_WARNING = datetime.timedelta(days=3)


def remind_expiring_transfers(now: datetime.datetime | None = None) -> int:
    """Tell the admins of the unions whose step an open transfer still waits for, once,
    that it lapses within `EXPIRY_WARNING`; returns how many notifications were created."""
    from notifications.actions import link_for, notify

    now = now or timezone.now()
    expiring = Transfer.objects.filter(
        status=TransferStatus.OPEN, expires_at__gt=now, expires_at__lte=now + EXPIRY_WARNING
    ).select_related("from_organization", "to_organization")
    sent = 0
    for transfer in expiring.order_by("expires_at", "pk"):
        context = {
            "from": transfer.from_organization.name,
            "to": transfer.to_organization.name,
            "day": f"{timezone.localtime(transfer.expires_at):%Y-%m-%d}",
            "number": transfer.pk,
        }
        sent += notify(
            _admin_ids(*_pending_orgs(transfer)),
            "transfer.expiring",
            context,
            link_for("admin:members_transfer_change", transfer.pk),
            dedupe_key=f"transfer:{transfer.pk}:expiring:{transfer.expires_at.isoformat()}",
        )
    return sent


def expire_transfers(now: datetime.datetime | None = None) -> int:
    """Mark open transfers past their expiry as expired; returns how many."""
    return _expire(Transfer.objects.all(), now or timezone.now(), durable=True)


# --- Retained membership ---------------------------------------------------------------


def retain_membership(
    *, member: Member, at_organization: Organization, acting_user, reason: str
) -> Member:
    """Park an active member who leaves their employer without a new union (保留会籍)."""
    require_member_admin(acting_user, member.organization)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Give the reason for retaining the membership.")]})
    try:
        check_member_union(at_organization, MemberStatus.RETAINED)
    except ValidationError as error:
        raise ValidationError({"at_organization": error.messages}) from None
    with transaction.atomic():
        before = Member.objects.select_related("organization").select_for_update(of=("self",))
        before = before.get(pk=member.pk)
        if before.deleted_at is not None or before.status != MemberStatus.ACTIVE:
            raise ValidationError(_("Only an active membership can be retained."))
        if before.organization_id == at_organization.pk:
            raise ValidationError(
                {"at_organization": [_("The member already belongs to this union.")]}
            )
        if before.transfers.filter(status=TransferStatus.OPEN).exists():
            raise ValidationError(_("This member has an open transfer; it must be closed first."))
        after = Member.objects.get(pk=member.pk)
        after.organization = at_organization
        after.status = MemberStatus.RETAINED
        after.status_changed_on = timezone.localdate()
        save_membership_change(
            before=before,
            after=after,
            kind=EventKind.RETAINED,
            acting_user=acting_user,
            reason=reason,
            effective_on=after.status_changed_on,
        )
        record_audit(
            actor=acting_user,
            action="member.retained",
            obj=after,
            organization=before.organization,
            changes={"from": before.organization_id, "to": at_organization.pk},
        )
        if after.user_id:
            from notifications.actions import notify_on_commit

            notify_on_commit(
                [after.user_id],
                "membership.retained",
                {"to": at_organization.name},
                link_for("my-membership"),
                dedupe_key=f"member.retained:{after.pk}:{after.status_changed_on}",
            )
    return after
