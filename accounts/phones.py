"""Officers' own mobile numbers (`AccountPhone`): the account a number belongs to, setting it,
and the SMS addresses the notifications app asks for. Decrypted only to send an SMS."""

from __future__ import annotations

from core import crypto

from .models import AccountPhone


def account_for_phone(phone: str):
    """The user whose account phone is `phone` (normalized), or None."""
    row = (
        AccountPhone.objects.select_related("user")
        .filter(phone_hash=crypto.phone_hash(phone))
        .first()
    )
    return row.user if row is not None else None


def set_account_phone(user, phone: str) -> AccountPhone:
    row = AccountPhone(user=user)
    row.set_phone(phone)
    row.save()
    return row


def phones_of(user_ids: list[int]) -> dict[int, str]:
    """{user id: mobile number} of the accounts among `user_ids` that have their own."""
    rows = AccountPhone.objects.filter(user_id__in=user_ids, user__is_active=True).values_list(
        "user_id", "phone_encrypted"
    )
    return {user_id: crypto.decrypt(token) for user_id, token in rows}
