"""Read-only lookups of people: the member record behind a login, and a member as a
reader may see them."""

from organizations import scope

from ..models import Member
from ..validators import mask_membership_number


def member_of(user) -> Member | None:
    """The logged-in user's member record, or None (officers and applicants have none)."""
    try:
        member = user.member
    except Member.DoesNotExist:
        return None
    return member if member.deleted_at is None else None


def membership_number_for(user, member: Member) -> str:
    """The member's number as `user` may see it: in full for officers who reach the
    member's personal data, masked for everyone else (it is also the login name)."""
    if scope.can(user, scope.Access.PERSONAL, member.organization):
        return member.membership_number
    return mask_membership_number(member.membership_number)
