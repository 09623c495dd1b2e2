"""State changes of member services: one function per use case, called by every surface.

The feature modules beside this one (menu, requests, wishes, activities, aid, voice,
stations, announcements) build on the helpers here. Each action validates, writes in one
transaction together with its history row, counter adjustments (`organizations.counters`)
and audit entry, and sends in-app notifications on commit.

An action that nothing calls inside a transaction of its own opens its transaction with
`durable=True`: wrapped in a caller's transaction by mistake, it fails at once instead of
committing, and notifying, only when the caller does. The others also run inside a larger
transaction, so they are not durable: the member's erasure cancels open orders and
registrations and closes concerns (`services.actions.privacy`), the admin saves a change
form in one transaction (creating and updating services, activities and their sessions,
stations, settings, announcements), and the demo seeder (`services.demo`) and the test
worlds build everything in one transaction each.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from members.models import CURRENT_STATUSES, EmploymentType, Member
from organizations import scope
from organizations.models import Level, Organization, OrgStatus
from organizations.selectors import chain

from ..models import AudienceMixin

# Figures in sensitive categories (hardship aid, legal aid, counselling) below this are
# shown as "fewer than 5" to anyone without the right to see the cases themselves.
SUPPRESSION_THRESHOLD = 5


def union_chain(org: Organization) -> list[Organization]:
    """`org` and every organization above it, top first (two queries whatever the depth)."""
    return [*chain(org), org]


def recorded_actor(user):
    """The acting user to record, or None for the system or an anonymous caller."""
    return user if getattr(user, "is_authenticated", False) else None


def is_member_self(user, member: Member) -> bool:
    """Whether `user` is the member's own login."""
    return (
        recorded_actor(user) is not None
        and member.user_id is not None
        and member.user_id == user.pk
    )


def require_member_self(user, member: Member) -> None:
    """PermissionDenied unless `user` is the member's own login."""
    if not is_member_self(user, member):
        raise PermissionDenied(_("Only the member themself can do this."))


def required_text(value, field: str, message: str, max_length: int) -> str:
    """Stripped text that is not empty (else `message` on `field`) nor too long."""
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: [message]})
    if len(value) > max_length:
        raise ValidationError(
            {field: [_("Keep it under %(n)s characters.") % {"n": max_length + 1}]}
        )
    return value


def require_current_member(member: Member | None) -> Member:
    """The member, if their membership is current; otherwise a clear error."""
    if member is None or member.deleted_at is not None:
        raise ValidationError(_("Only union members can use the union's services."))
    if member.status not in CURRENT_STATUSES:
        raise ValidationError(
            _("Your membership is not current, so you cannot use the union's services.")
        )
    return member


def audience_allows(item: AudienceMixin, member: Member, chain_ids: Iterable[int]) -> bool:
    """Whether the audience rules of a service or activity admit `member`.

    `chain_ids` are the member's union and its ancestors; `audience_unions` must be
    prefetched by the caller when it checks many items.
    """
    if item.audience_levels and member.organization.level not in item.audience_levels:
        return False
    if item.audience_employment_types and member.employment_type not in (
        item.audience_employment_types
    ):
        return False
    unions = {u.pk for u in item.audience_unions.all()}
    return not unions or bool(unions & set(chain_ids))


def clean_audience(
    organization: Organization, levels, employment_types, unions, errors: dict
) -> tuple[list, list]:
    """The audience rules of an item of `organization` as lists; a message per bad field
    goes into `errors` (levels and employment types from the lists, unions within the
    organization's own area)."""
    levels = list(levels or [])
    if set(levels) - set(Level.values):
        errors["audience_levels"] = [_("Choose union levels from the list.")]
    types = list(employment_types or [])
    if set(types) - set(EmploymentType.values):
        errors["audience_employment_types"] = [_("Choose employment types from the list.")]
    for union in unions or ():
        if organization.pk not in {o.pk for o in union_chain(union)}:
            errors["audience_unions"] = [
                _("Choose only unions within %(org)s's own area.") % {"org": organization.name}
            ]
            break
    return levels, types


def check_offered_to(item, member: Member, chain_ids: Iterable[int]) -> None:
    """ValidationError unless a service or activity of the member's chain admits them."""
    chain_ids = list(chain_ids)
    if item.organization_id not in chain_ids or not audience_allows(item, member, chain_ids):
        raise ValidationError(_("This is not offered to members of your union."))


def check_active_org(org: Organization) -> None:
    if org.status != OrgStatus.ACTIVE:
        raise ValidationError(_("%(union)s is dissolved.") % {"union": org.name})


def suppressed(value: int, user=None, access: scope.Access | None = None, org=None):
    """A sensitive count as shown: the number, or None ("fewer than 5") when it is small
    and the user may not see the underlying cases."""
    if None not in (access, user, org) and scope.can(user, access, org):
        return value
    return value if value == 0 or value >= SUPPRESSION_THRESHOLD else None
