"""Members log in with their mobile phone as well as their membership number (username)."""

from accounts.backends import PhoneBackend
from core import crypto

from .models import Member


class MemberPhoneBackend(PhoneBackend):
    """Authenticates `username` = a mobile phone of a member with a portal account, found by
    its keyed hash (digits only, as members have always typed it)."""

    def accepts(self, username: str) -> bool:
        return username.strip().isdigit()

    def user_for_phone(self, phone: str):
        member = (
            Member.objects.select_related("user")
            .filter(phone_hash=crypto.phone_hash(phone), deleted_at__isnull=True)
            .exclude(user=None)
            .first()
        )
        return member.user if member is not None else None
