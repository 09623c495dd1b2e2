"""Rate limits of the API, per credential and per address (DRF throttles).

Counted with django-ratelimit's fixed windows in the shared cache (Redis in production),
as the login and join forms are: an atomic increment per request, so every web process
and thread counts against the same limit. Over a limit the API answers 429 with
`Retry-After` (seconds until the window ends) and a JSON body `{"detail": ...}` in the
caller's language (DRF's `Throttled`).

- per credential (`API_RATE_LIMITS["credential"]`): each access token, or each logged-in
  user's session, on its own;
- per address (`API_RATE_LIMITS["address"]`): every request from one client address (as
  the TLS proxy saw it), whatever its credential.

DRF counts a request after authentication and permissions: one refused before (a wrong
token, nobody logged in) is answered 401/403 without being counted, at next to no cost.

A limit of None switches that throttle off. The schema documents the 429 answer on every
operation (`document_rate_limits`, a drf-spectacular post-processing hook).
"""

from __future__ import annotations

from django.conf import settings
from django_ratelimit.core import get_usage
from rest_framework.throttling import BaseThrottle

from .models import AccessToken
from .security import client_ip


class _WindowThrottle(BaseThrottle):
    scope = ""

    def key(self, request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        rate = settings.API_RATE_LIMITS.get(self.scope)
        value = self.key(request)
        if not rate or value is None:
            return True
        usage = get_usage(
            request,
            group=f"api.{self.scope}",
            key=lambda _group, _request: value,
            rate=rate,
            increment=True,
        )
        if usage is None:
            return True
        self._wait = max(1, int(usage["time_left"]))
        return not usage["should_limit"]

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)


class CredentialRateThrottle(_WindowThrottle):
    """Each access token on its own; a browser session counts as its user's."""

    scope = "credential"

    def key(self, request) -> str | None:
        if isinstance(request.auth, AccessToken):
            return f"token:{request.auth.pk}"
        if request.user and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return None


class AddressRateThrottle(_WindowThrottle):
    """Every request from one client address."""

    scope = "address"

    def key(self, request) -> str | None:
        return client_ip(request) or None


TOO_MANY = {
    "description": "Too many requests: the credential's or the address's rate limit is "
    "reached. Wait the number of seconds in Retry-After.",
    "headers": {
        "Retry-After": {
            "description": "Seconds until the limit's window ends.",
            "schema": {"type": "integer", "minimum": 1},
        }
    },
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"detail": {"type": "string"}},
                "required": ["detail"],
            }
        }
    },
}


def document_rate_limits(result, generator, request, public):
    """drf-spectacular post-processing hook: the 429 answer on every API operation."""
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            if method in ("get", "put", "post", "patch", "delete", "head", "options"):
                operation.setdefault("responses", {}).setdefault("429", TOO_MANY)
    return result
