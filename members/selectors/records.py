"""Read-only lookups of member records."""

from __future__ import annotations

from ..models import Member


def existing_member_for(id_hash: str) -> Member | None:
    """The member (current or former, not erased) with this ID number hash, if any."""
    return Member.objects.filter(id_hash=id_hash, deleted_at__isnull=True).first()
