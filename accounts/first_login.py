"""First-login links for accounts made for someone else (officers of a union import).

The account starts without a usable password. Its link (`first-login`, sent by SMS to the
officer's own number) lets them choose one, then signs them in; the second factor follows
where their level requires it (`SecondFactorMiddleware`). The token is Django's password
reset token under a salt of its own: it depends on the password and the last login, so it
works once, and it expires after `PASSWORD_RESET_TIMEOUT`. No password is ever sent.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext_lazy as _

from notifications import kinds
from notifications.actions import link_for, notify_on_commit

KIND = "accounts.first_login"

kinds.register(
    KIND,
    _("%(organization)s: you are now %(role)s in UnionHub"),
    _(
        "Open the link within %(days)d days to choose your password; then log in with this "
        "mobile number."
    ),
    sms=True,
    sms_link=True,
)


class FirstLoginTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "accounts.first_login.FirstLoginTokenGenerator"


first_login_tokens = FirstLoginTokenGenerator()


def link_days() -> int:
    return max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)


def first_login_link(user) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return link_for("first-login", uid, first_login_tokens.make_token(user))


def send_first_login_link(user, *, organization: str, role: str) -> None:
    """Once the transaction commits: the link to the user's inbox and, by SMS, their phone."""
    notify_on_commit(
        [user.pk],
        KIND,
        {"organization": organization, "role": role, "days": link_days()},
        first_login_link(user),
    )
