"""Small helpers of the sign-in defences: hashed usernames for django-axes, the client
address behind a proxy, and who must use a second factor."""

import hashlib
import hmac
import unicodedata

from django.conf import settings

from organizations import scope
from organizations.models import LEVEL_RANK, Level, Role


def normalize_login(raw: str) -> str:
    """The same account however it was typed: full-width digits, spaces, case, +86."""
    text = unicodedata.normalize("NFKC", raw or "").strip().casefold()
    text = "".join(ch for ch in text if not ch.isspace() and ch != "-")
    if text.startswith("+86") and text[3:].isdigit():
        text = text[3:]
    return text


def axes_username(request, credentials=None) -> str:
    """What django-axes stores and counts as the username: a keyed hash, never the phone
    number or membership number that was typed."""
    raw = ""
    if credentials:
        raw = credentials.get(settings.AXES_USERNAME_FORM_FIELD, "") or ""
    elif request is not None and hasattr(request, "POST"):
        raw = request.POST.get(settings.AXES_USERNAME_FORM_FIELD, "")
    key = hashlib.sha256(b"axes-username:" + settings.SECRET_KEY.encode()).digest()
    digest = hmac.new(key, normalize_login(str(raw)).encode(), hashlib.sha256).hexdigest()
    return f"h:{digest[:40]}"


def current_code(device) -> str:
    """The code a device's authenticator app shows now (for the demo command and tests)."""
    from django_otp.oath import TOTP

    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def client_ip(request) -> str:
    """Behind the TLS proxy: the address the proxy saw (the last X-Forwarded-For hop)."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if forwarded:
        return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


def needs_second_factor(user) -> bool:
    """Operators and administrators at city level and above must log in with a second
    factor (TOTP): their grants reach whole cities, provinces or the country."""
    return scope.is_operator(user) or any(
        g.role == Role.ADMIN and LEVEL_RANK[g.level] <= LEVEL_RANK[Level.CITY]
        for g in scope.grants(user)
    )
