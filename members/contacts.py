"""Mobile numbers for SMS: members' (by user id) and applicants' (by application, as a contact),
registered with the notifications app."""

from django.conf import settings

from core import crypto
from notifications.channels import SMS, Contact

from .models import JoinApplication, Member


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


def applicants(pks: list[int]) -> dict[int, Contact]:
    """Applicants (no account yet) by application id: the phone they applied with, in the
    language they applied in. An erased application has no phone and is reached nowhere."""
    rows = JoinApplication.objects.filter(pk__in=pks).values_list(
        "pk", "phone_encrypted", "language"
    )
    return {
        pk: Contact(
            addresses={SMS: crypto.decrypt(token)} if token else {},
            language=language or settings.LANGUAGE_CODE,
        )
        for pk, token, language in rows
    }
