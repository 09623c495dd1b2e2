"""Second factor enforcement and the registry of a user's open sessions."""

from urllib.parse import urlencode

from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _

from . import sessions
from .security import needs_second_factor

# Served to anyone, logged in or not: assets, the language switch.
OPEN_PREFIXES = ("/static/", "/media/", "/i18n/")


class SecondFactorMiddleware:
    """Users who need a second factor (`security.needs_second_factor`) reach nothing but
    the sign-in pages until they have entered a TOTP code in this session (django-otp)."""

    def __init__(self, get_response):
        self.get_response = get_response

    @cached_property
    def sign_in_paths(self) -> tuple[str, ...]:
        return tuple(reverse(name) for name in ("login", "logout", "two-factor"))

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not user.is_verified()
            and not request.path_info.startswith(OPEN_PREFIXES)
            and request.path_info not in self.sign_in_paths
            and needs_second_factor(user)
        ):
            if request.path_info.startswith("/api/"):
                detail = _("Your account needs two-step verification: log in on the site first.")
                return JsonResponse({"detail": detail}, status=403)
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('two-factor')}?{query}")
        return self.get_response(request)


class SessionRegistryMiddleware:
    """Registers a logged-in session once (and again after its key changed), so sessions
    opened before the registry existed can be ended too. No query on other requests."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if (
            session is not None
            and request.user.is_authenticated
            and session.session_key
            and session.get(sessions.REGISTERED_KEY) != session.session_key
        ):
            sessions.register(request)
        return self.get_response(request)
