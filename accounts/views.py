"""Sign-in pages: login (rate-limited, locked out by django-axes), the second factor,
the security page (open sessions, end the others), the lockout and 429 pages, and the
first-login link of officer accounts."""

from base64 import b32encode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_ratelimit.decorators import ratelimit

from core import qr
from core.phones import mask_phone

from . import sessions, tokens
from .first_login import first_login_tokens, link_days
from .forms import CodeForm, TokenForm
from .security import needs_second_factor


@method_decorator(
    ratelimit(key="ip", rate=lambda group, request: settings.RATELIMIT_LOGIN, method="POST"),
    name="dispatch",
)
class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return settings.LOGIN_REDIRECT_URL


@never_cache
@login_required
def two_factor(request):
    """Enter the TOTP code; the first time, set up the authenticator app with a QR code."""
    user = request.user
    if user.is_verified() or not needs_second_factor(user):
        return redirect(_next_url(request))
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    setting_up = device is None
    if setting_up:
        device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="default", confirmed=False)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            if setting_up:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
            otp_login(request, device)
            request.session.cycle_key()
            return redirect(_next_url(request))
        form.add_error("code", _("The code is wrong or has expired. Enter the current code."))
    context = {"form": form, "setting_up": setting_up, "next": _next_url(request)}
    if setting_up:
        # Made fresh, never cached: the address holds the device's secret.
        context["qr"] = qr.svg(device.config_url, title=_("Scan with an authenticator app"))
        secret = b32encode(device.bin_key).decode()
        context["secret"] = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return render(request, "accounts/two_factor.html", context)


@never_cache
@login_required
def security(request):
    """The user's open sessions and second factor; end every session but this one."""
    rows = sessions.open_sessions(request.user)
    current = request.session.session_key
    return render(
        request,
        "accounts/security.html",
        {
            "sessions": rows,
            "current_key": current,
            "others": sum(1 for row in rows if row.session_key != current),
            "has_second_factor": TOTPDevice.objects.filter(
                user=request.user, confirmed=True
            ).exists(),
            "needs_second_factor": needs_second_factor(request.user),
            "may_have_tokens": tokens.may_have_tokens(request.user),
        },
    )


@never_cache
@login_required
def api_tokens(request):
    """The user's API access tokens: make one (its secret shown on this answer only),
    see when each was last used, revoke. Officers only."""
    if not tokens.may_have_tokens(request.user):
        raise PermissionDenied(_("API tokens are for union officers."))
    form = TokenForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        try:
            _token, secret = tokens.issue(
                user=request.user,
                name=form.cleaned_data["name"],
                read_only=form.cleaned_data["access"] == "read",
                days=form.cleaned_data["days"],
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        else:
            form = TokenForm()
    return render(
        request,
        "accounts/api_tokens.html",
        {
            "form": form,
            "secret": secret,
            "tokens": tokens.tokens_of(request.user)[:50],
            "blocked": tokens.second_factor_missing(request.user),
            "lifetimes": tokens.LIFETIMES,
        },
    )


@require_POST
@login_required
def revoke_api_token(request, pk: int):
    token = get_object_or_404(tokens.tokens_of(request.user), pk=pk)
    tokens.revoke(token=token, acting_user=request.user)
    messages.success(request, _("The token %(name)s no longer works.") % {"name": token.name})
    return redirect("account-tokens")


@require_POST
@login_required
def end_other_sessions(request):
    ended = sessions.end_other_sessions(request.user, request.session.session_key)
    messages.success(request, _("Logged out of %(n)d other session(s).") % {"n": ended})
    return redirect("account-security")


def locked_out(request, credentials=None, *args, **kwargs):
    """django-axes: too many failed logins to this account."""
    minutes = round(settings.AXES_COOLOFF_TIME * 60)
    return render(
        request,
        "accounts/locked_out.html",
        {"minutes": minutes},
        status=429,
    )


def rate_limited(request, exception=None):
    """django-ratelimit: too many requests from this address or user."""
    if request.path_info.startswith("/api/"):
        return JsonResponse(
            {"detail": _("Too many requests. Please wait a while and try again.")}, status=429
        )
    return render(request, "accounts/rate_limited.html", status=429)


class FirstLoginView(auth_views.PasswordResetConfirmView):
    """An officer's first-login link (`first_login`): choose a password, then be signed in
    and sent on to the administration (and the second factor first, where required). The
    token leaves the address at once (Django keeps it in the session), so it is not sent
    on as a Referer; a used or expired link says so and what to do."""

    token_generator = first_login_tokens
    template_name = "accounts/first_login.html"
    post_reset_login = True
    post_reset_login_backend = "django.contrib.auth.backends.ModelBackend"
    success_url = reverse_lazy("admin:index")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = _("Choose your password")
        context["days"] = link_days()
        phone = getattr(self.user, "account_phone", None) if self.validlink else None
        context["phone"] = mask_phone(phone.phone) if phone is not None else ""
        return context
