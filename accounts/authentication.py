"""API authentication: a browser's login session (`SessionAuthentication`, with the CSRF
refusal translated), and the personal access token of other systems (`accounts.tokens`):
``Authorization: Bearer uhp_…`` (the keyword ``Token`` is accepted too, as DRF's was).
Each with the security scheme the schema names it by."""

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.permissions import SAFE_METHODS

from . import tokens

KEYWORDS = (b"bearer", b"token")


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's session authentication, refusing a missing or wrong CSRF token with a
    translated message instead of Django's English reason."""

    def enforce_csrf(self, request):
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied:
            raise exceptions.PermissionDenied(
                gettext(
                    "CSRF check failed: a logged-in browser session must send its CSRF "
                    "token (the X-CSRFToken header); reload the page and try again."
                )
            ) from None


class ApiSessionScheme(SessionScheme):
    """The session cookie, for the API's session authentication with translated errors."""

    target_class = "accounts.authentication.SessionAuthentication"


class AccessTokenAuthentication(authentication.BaseAuthentication):
    """A token acts as its owner (never wider than the owner's grants); a read-only token
    may only read; an expired or revoked one, or one whose owner needs a second factor
    not yet set up, is refused."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() not in KEYWORDS:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("Send the token as: Authorization: Bearer <token>.")
            )
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("The token is not valid.")) from None
        token = tokens.find(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("The token is not valid."))
        if not token.is_active or not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("The token has expired or was revoked."))
        if tokens.second_factor_missing(token.user):
            raise exceptions.AuthenticationFailed(
                _("This account needs two-step verification before it can use the API.")
            )
        if token.read_only and request.method not in SAFE_METHODS:
            raise exceptions.PermissionDenied(_("This token is read-only: it cannot change data."))
        tokens.record_use(token)
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class AccessTokenScheme(OpenApiAuthenticationExtension):
    """How the schema names the token: HTTP bearer authentication."""

    target_class = "accounts.authentication.AccessTokenAuthentication"
    name = "accessToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": _(
                "A personal access token (uhp_…), made on the site under Login and "
                "security → API tokens. It acts as its owner; a read-only token may only read."
            ),
        }
