"""Members' mobile numbers for SMS notifications, registered with the notifications app."""

from core import crypto

from .models import Member


def phones_of(user_ids: list[int]) -> dict[int, str]:
    """{user id: mobile number} of the members among `user_ids` who gave one.

    Decrypted only here, in the sending task; the number is never stored elsewhere or logged.
    """
    rows = (
        Member.objects.filter(user_id__in=user_ids, deleted_at__isnull=True)
        .exclude(phone_encrypted="")
        .values_list("user_id", "phone_encrypted")
    )
    return {user_id: crypto.decrypt(token) for user_id, token in rows}
