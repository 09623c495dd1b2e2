"""The login account's part of a person's rights over their data (`core.privacy`).

In the copy: the account (login name, email, names, when it was created and last used, an
officer's own mobile number) and its login sessions. In an erasure, last of all (after the
member's parts, which may still write to the person): the API tokens, the account's own
mobile number, second-factor devices and every session go, and the account is anonymised —
a random ``deleted-<hex>`` username, no email or names, an unusable password, inactive,
without groups or permissions — so that it names nobody and no one can sign in with it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping

from django.utils.translation import gettext_lazy as _
from django_otp import devices_for_user

from core.privacy import Section, Subject, plain, register_eraser, register_section

from . import sessions
from .models import AccessToken, AccountPhone, UserSession

# Places among the other apps' parts (see `core.privacy`).
ACCOUNT_ORDER = 200
SESSIONS_ORDER = 400
ERASER_ORDER = 300


def _account_rows(subject: Subject) -> Iterable[Mapping]:
    user = subject.user
    if user is None:
        return []
    return [
        {
            "username": user.get_username(),
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "date_joined": plain(user.date_joined),
            "last_login": plain(user.last_login),
            "phone": getattr(getattr(user, "account_phone", None), "phone", ""),
        }
    ]


def _session_rows(subject: Subject) -> Iterable[Mapping]:
    if subject.user is None:
        return []
    for row in UserSession.objects.filter(user=subject.user).order_by("-started_at"):
        yield {"started_at": plain(row.started_at), "user_agent": row.user_agent}


def erase_account(*, subject: Subject, redact) -> None:
    """End everything the login opens and anonymise it. Inside the erasure's transaction."""
    user = subject.user
    if user is None:
        return
    AccessToken.objects.filter(user=user).delete()
    AccountPhone.objects.filter(user=user).delete()
    for device in devices_for_user(user, confirmed=None):
        device.delete()
    sessions.end_all_sessions(user)
    user.username = f"deleted-{secrets.token_hex(8)}"
    user.email = user.first_name = user.last_name = ""
    # A new password hash also ends any session not registered: its auth hash changes.
    user.set_unusable_password()
    user.is_active = user.is_staff = user.is_superuser = False
    user.last_login = None
    user.save()
    user.groups.clear()
    user.user_permissions.clear()


register_section(
    Section(
        key="account",
        title=_("Login account"),
        columns=[
            ("username", _("Login name")),
            ("email", _("Email")),
            ("first_name", _("First name")),
            ("last_name", _("Last name")),
            ("date_joined", _("Account created at")),
            ("last_login", _("Last login")),
            ("phone", _("Mobile phone (for signing in)")),
        ],
        rows=_account_rows,
        single=True,
    ),
    order=ACCOUNT_ORDER,
)

register_section(
    Section(
        key="login_sessions",
        title=_("Login sessions"),
        columns=[
            ("started_at", _("Logged in at")),
            ("user_agent", _("Browser")),
        ],
        rows=_session_rows,
    ),
    order=SESSIONS_ORDER,
)

register_eraser(erase_account, order=ERASER_ORDER)
