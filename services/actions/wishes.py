"""Service wishes (点菜单): members ask the unions of their chain for a service and vote.

Staff of the addressed union decline a wish or answer it with a new service, and everyone
who voted is told. Counters are kept at the addressed union, in the transaction of the
change.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.audit import record_audit
from members.actions.permissions import require
from members.models import Member
from notifications.actions import link_for, notify_on_commit
from organizations import counters, scope
from organizations.models import Organization, Role
from organizations.selectors import officers_of

from .. import statkeys as S
from ..models import (
    PublishStatus,
    Service,
    ServiceCategory,
    ServiceWish,
    WishStatus,
    WishVote,
)
from ..selectors.menu import PREFIX as P
from . import (
    check_active_org,
    recorded_actor,
    require_current_member,
    require_member_self,
    required_text,
    union_chain,
)
from .menu import clean_service, save_service

__all__ = [
    "answer_wish_with_service",
    "decline_wish",
    "propose_wish",
    "vote_wish",
    "withdraw_vote",
]

NOTIFICATION_KINDS = [
    (
        f"{P}wish_new",
        gettext_lazy("A new service wish for %(union)s: “%(wish)s”"),
        gettext_lazy("Members can vote for it. Answer it with a service or decline it (To-do)."),
    ),
    (
        f"{P}wish_answered",
        gettext_lazy("A wish you supported was answered: “%(wish)s”"),
        gettext_lazy("%(union)s now offers “%(service)s”."),
    ),
    (
        f"{P}wish_declined",
        gettext_lazy("A wish you supported was declined: “%(wish)s”"),
        gettext_lazy("%(union)s answered: %(answer)s"),
    ),
]

ROLE_PERMISSIONS = {
    Role.ADMIN: {"view_servicewish", "change_servicewish"},
    Role.STAFF: {"view_servicewish", "change_servicewish"},
}


def _member_chain_ids(member: Member) -> list[int]:
    return [o.pk for o in union_chain(member.organization)]


def propose_wish(
    *,
    member: Member,
    organization: Organization,
    title: str,
    description: str = "",
    category: str = ServiceCategory.OTHER,
    acting_user,
) -> ServiceWish:
    """The member asks a union of their chain for a service; their own vote comes with it."""
    require_member_self(acting_user, member)
    require_current_member(member)
    title = required_text(title, "title", _("Say in a few words what service you want."), 120)
    description = (description or "").strip()
    if len(description) > 2000:
        raise ValidationError({"description": [_("Keep it under 2001 characters.")]})
    if category not in ServiceCategory.values:
        raise ValidationError({"category": [_("Choose a category from the list.")]})
    member = Member.objects.select_related("organization").get(pk=member.pk)
    if organization is None or organization.pk not in _member_chain_ids(member):
        raise ValidationError(
            {"organization": [_("Choose your own union or one of the unions above it.")]}
        )
    check_active_org(organization)
    with transaction.atomic():
        wish = ServiceWish.objects.create(
            organization=organization,
            proposer=member,
            title=title,
            description=description,
            category=category,
            votes=1,
        )
        WishVote.objects.create(wish=wish, member=member)
        counters.adjust({(organization.pk, S.WISHES_OPEN): 1, (organization.pk, S.WISH_VOTES): 1})
        record_audit(
            actor=acting_user, action=f"{P}wish_proposed", obj=wish, organization=organization
        )
        notify_on_commit(
            officers_of(organization),
            f"{P}wish_new",
            {"union": organization.name, "wish": wish.title},
            link_for("admin:services_servicewish_change", wish.pk),
        )
    return wish


def _open_wish_in_chain(wish: ServiceWish, member: Member) -> ServiceWish:
    """The wish locked, if it is open and addressed to the member's chain."""
    locked = ServiceWish.objects.select_for_update().get(pk=wish.pk)
    if locked.organization_id not in _member_chain_ids(member):
        raise ValidationError(_("This wish is addressed to another union."))
    if locked.status != WishStatus.OPEN:
        raise ValidationError(_("This wish is closed; votes are no longer counted."))
    return locked


def vote_wish(*, wish: ServiceWish, member: Member, acting_user) -> ServiceWish:
    """The member supports an open wish of their chain, once."""
    require_member_self(acting_user, member)
    require_current_member(member)
    member = Member.objects.select_related("organization").get(pk=member.pk)
    with transaction.atomic():
        locked = _open_wish_in_chain(wish, member)
        try:
            with transaction.atomic():
                WishVote.objects.create(wish=locked, member=member)
        except IntegrityError:
            raise ValidationError(_("You have already voted for this wish.")) from None
        ServiceWish.objects.filter(pk=locked.pk).update(votes=F("votes") + 1)
        counters.adjust({(locked.organization_id, S.WISH_VOTES): 1})
        locked.refresh_from_db(fields=["votes"])
    return locked


def withdraw_vote(*, wish: ServiceWish, member: Member, acting_user) -> ServiceWish:
    """The member takes back their vote for an open wish."""
    require_member_self(acting_user, member)
    member = Member.objects.select_related("organization").get(pk=member.pk)
    with transaction.atomic(durable=True):
        locked = _open_wish_in_chain(wish, member)
        deleted, _rows = WishVote.objects.filter(wish=locked, member=member).delete()
        if not deleted:
            raise ValidationError(_("You have not voted for this wish."))
        ServiceWish.objects.filter(pk=locked.pk).update(votes=F("votes") - 1)
        counters.adjust({(locked.organization_id, S.WISH_VOTES): -1})
        locked.refresh_from_db(fields=["votes"])
    return locked


def _wish_supporters(wish: ServiceWish) -> list[int]:
    """Users of the proposer and every voter (ids only)."""
    ids = set(
        WishVote.objects.filter(wish=wish, member__user__isnull=False).values_list(
            "member__user_id", flat=True
        )
    )
    if wish.proposer_id:
        proposer_user = Member.objects.filter(pk=wish.proposer_id).values_list("user_id", flat=True)
        ids |= {u for u in proposer_user if u}
    return sorted(ids)


def _close_wish(locked: ServiceWish, status: str, answer: str, acting_user) -> None:
    locked.status = status
    locked.answer = answer
    locked.answered_by = recorded_actor(acting_user)
    locked.answered_at = timezone.now()
    locked.save(update_fields=["status", "answer", "answered_by", "answered_at"])
    counters.adjust({(locked.organization_id, S.WISHES_OPEN): -1})


def _locked_open_wish(wish: ServiceWish) -> ServiceWish:
    locked = ServiceWish.objects.select_for_update().select_related("organization").get(pk=wish.pk)
    if locked.status != WishStatus.OPEN:
        raise ValidationError(
            _("This wish was already %(status)s.")
            % {"status": WishStatus(locked.status).label.lower()}
        )
    return locked


def decline_wish(*, wish: ServiceWish, answer: str, acting_user) -> ServiceWish:
    """Staff of the addressed union (or above) decline a wish, saying why."""
    require(acting_user, scope.Access.HANDLE, wish)
    answer = required_text(answer, "answer", _("Tell the members why the wish is declined."), 2000)
    with transaction.atomic(durable=True):
        locked = _locked_open_wish(wish)
        _close_wish(locked, WishStatus.DECLINED, answer, acting_user)
        record_audit(
            actor=acting_user,
            action=f"{P}wish_declined",
            obj=locked,
            organization=locked.organization,
        )
        notify_on_commit(
            _wish_supporters(locked),
            f"{P}wish_declined",
            {"wish": locked.title, "union": locked.organization.name, "answer": answer},
            link_for("services-wishes"),
            dedupe_key=f"{P}wish:{locked.pk}:declined",
        )
    return locked


def answer_wish_with_service(
    *,
    wish: ServiceWish,
    data: dict,
    audience_unions=(),
    publish: bool = False,
    organization: Organization | None = None,
    answer: str = "",
    acting_user,
) -> Service:
    """Create a service answering the wish (at the addressed union, or a union above it);
    the proposer and every voter are told."""
    organization = organization or wish.organization
    if organization.pk not in {o.pk for o in union_chain(wish.organization)}:
        raise ValidationError(
            {"organization": [_("Offer it at the addressed union or a union above it.")]}
        )
    require(acting_user, scope.Access.CHANGE, organization)
    obj = clean_service(organization=organization, data=data, audience_unions=audience_unions)
    with transaction.atomic():
        locked = _locked_open_wish(wish)
        obj.created_by = recorded_actor(acting_user)
        obj.from_wish = locked
        if publish:
            obj.status = PublishStatus.PUBLISHED
        service = save_service(obj, list(audience_unions), acting_user, f"{P}service_created")
        text = (answer or "").strip()[:2000] or _("Answered with the service “%(s)s”.") % {
            "s": service.title
        }
        _close_wish(locked, WishStatus.ANSWERED, text, acting_user)
        record_audit(
            actor=acting_user,
            action=f"{P}wish_answered",
            obj=locked,
            organization=locked.organization,
            changes={"service": service.pk},
        )
        notify_on_commit(
            _wish_supporters(locked),
            f"{P}wish_answered",
            {"wish": locked.title, "union": organization.name, "service": service.title},
            link_for("services-wishes"),
            dedupe_key=f"{P}wish:{locked.pk}:answered",
        )
    return service
