"""Read-only lookups of people: the member record behind a login."""

from ..models import Member


def member_of(user) -> Member | None:
    """The logged-in user's member record, or None (officers and applicants have none)."""
    try:
        member = user.member
    except Member.DoesNotExist:
        return None
    return member if member.deleted_at is None else None
