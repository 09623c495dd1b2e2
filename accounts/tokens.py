"""Personal access tokens for the API (`models.AccessToken`): made, listed and revoked by
their owner on the security page, checked by `authentication.AccessTokenAuthentication`.

A token is ``uhp_`` and 43 URL-safe characters (256 random bits); only its SHA-256 hash is
stored, and the secret is shown once. Tokens are for officers; owners who need a second factor
(`security.needs_second_factor`) make and use tokens only once it is set up. Making and
revoking a token are audited.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.audit import record_audit
from organizations import scope

from .models import AccessToken
from .security import needs_second_factor

PREFIX = "uhp_"
# How long a token may live: the owner picks one of these (days).
LIFETIMES = (30, 90, 365)
MAX_ACTIVE = 20
# `last_used_at` is written at most this often per token.
USE_RECORDED_EVERY = datetime.timedelta(minutes=1)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def may_have_tokens(user) -> bool:
    """Tokens are for officers (and operators): the API serves the unions' work."""
    return scope.is_operator(user) or bool(scope.grants(user))


def second_factor_missing(user) -> bool:
    return (
        needs_second_factor(user)
        and not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    )


def issue(*, user, name: str, read_only: bool, days: int) -> tuple[AccessToken, str]:
    """Make a token for `user`; returns it with its secret, which is not kept anywhere."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": [_("Give the token a name, such as the system using it.")]})
    if not may_have_tokens(user):
        raise ValidationError(_("API tokens are for union officers."))
    if days not in LIFETIMES:
        raise ValidationError({"days": [_("Choose one of the offered lifetimes.")]})
    if second_factor_missing(user):
        raise ValidationError(
            _("Your account needs two-step verification before it can have API tokens.")
        )
    with transaction.atomic():
        active = AccessToken.objects.select_for_update().filter(
            user=user, revoked_at__isnull=True, expires_at__gt=timezone.now()
        )
        if len(active) >= MAX_ACTIVE:
            raise ValidationError(
                _("You have %(n)d active tokens; revoke one before making another.")
                % {"n": len(active)}
            )
        token, secret = new_token(user=user, name=name, read_only=read_only, days=days)
        record_audit(
            actor=user,
            action="token.created",
            obj=token,
            changes={"read_only": read_only, "days": days},
        )
    return token, secret


def new_token(*, user, name: str, read_only: bool, days: int) -> tuple[AccessToken, str]:
    """The token's row and its secret, nothing checked or audited: `issue` checks and audits
    around it (test factories make tokens with it directly)."""
    secret = PREFIX + secrets.token_urlsafe(32)
    token = AccessToken.objects.create(
        user=user,
        name=name[:60],
        key_hash=key_hash(secret),
        hint=secret[-4:],
        read_only=read_only,
        expires_at=timezone.now() + datetime.timedelta(days=days),
    )
    return token, secret


def revoke(*, token: AccessToken, acting_user) -> AccessToken:
    """End a token now (its owner's act; idempotent)."""
    if token.user_id != acting_user.pk:
        raise ValidationError(_("You can only revoke your own tokens."))
    with transaction.atomic():
        locked = AccessToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
            record_audit(actor=acting_user, action="token.revoked", obj=locked)
    return locked


def tokens_of(user):
    """The user's tokens, newest first (revoked and expired ones too, for the record)."""
    return AccessToken.objects.filter(user=user).order_by("-created_at", "-pk")


def find(key: str) -> AccessToken | None:
    """The token a presented key names, active or not (None if none)."""
    if not key or len(key) > 200:
        return None
    return AccessToken.objects.select_related("user").filter(key_hash=key_hash(key)).first()


def record_use(token: AccessToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= USE_RECORDED_EVERY:
        AccessToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
