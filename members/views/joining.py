"""Portal views of joining online: the application form and the applicant's status page.

The applicant has no account yet: the status page is opened by the secret key in its
address, which only the applicant received. The page is never cached and sends no
referrer, so the key does not leave the browser.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_ratelimit.decorators import ratelimit

from core.forms import add_action_errors
from organizations.models import Level, Organization, OrgStatus

from ..actions import joining, link_recovery
from ..forms.joining import (
    JoinApplicationForm,
    JoinCorrectionForm,
    LinkRecoveryForm,
    RecoveryCodeForm,
)
from ..models import ApplicationStatus


def _private(response):
    # Not "no-referrer": with it, browsers send `Origin: null` on the page's own form posts
    # and Django's CSRF check refuses them. "same-origin" still keeps the status link's key
    # from leaking to other sites.
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@never_cache
@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=lambda group, request: settings.RATELIMIT_JOIN, method="POST")
def join_apply(request, pk: int):
    """Apply to join a grassroots union (网上入会)."""
    org = get_object_or_404(Organization, pk=pk, status=OrgStatus.ACTIVE, level=Level.GRASSROOTS)
    form = JoinApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _application, key = joining.submit_join_application(
                organization=org,
                data=form.raw_person(),
                password=form.cleaned_data["password1"],
                privacy_consent=form.cleaned_data["privacy_consent"],
                sensitive_consent=form.cleaned_data["sensitive_consent"],
            )
        except ValidationError as error:
            if getattr(error, "code", None) == "already_member":
                return _private(render(request, "members/join_already_member.html", {"org": org}))
            form.add_action_error(error)
        else:
            messages.success(
                request,
                _("Your application was sent. Bookmark this page to follow it."),
            )
            return _private(redirect("join-status", key=key))
    return _private(
        render(
            request,
            "members/join_apply.html",
            {
                "org": org,
                "form": form,
                "notice_version": joining.PRIVACY_NOTICE_VERSION,
                "retention_days": joining.UNSUCCESSFUL_APPLICATION_RETENTION_DAYS,
            },
        )
    )


@never_cache
@require_http_methods(["GET", "POST"])
def join_status(request, key: str):
    """Where the applicant follows, corrects or withdraws their application."""
    application = joining.application_for_key(key)
    if application is None:
        raise Http404(_("No application has this address."))
    correction = None
    if application.status == ApplicationStatus.NEEDS_CORRECTION:
        posted = request.method == "POST" and request.POST.get("do") == "resubmit"
        correction = JoinCorrectionForm(request.POST if posted else None, application=application)
    if request.method == "POST":
        do = request.POST.get("do")
        if do == "withdraw":
            try:
                joining.withdraw_join_application(application=application)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, _("You withdrew your application."))
            return _private(redirect(request.path))
        if do == "resubmit" and correction is not None:
            if correction.is_valid():
                try:
                    joining.resubmit_join_application(
                        application=application, data=correction.raw_person()
                    )
                except ValidationError as error:
                    correction.add_action_error(error)
                else:
                    messages.success(request, _("Your corrected application was sent."))
                    return _private(redirect(request.path))
        else:
            return _private(redirect(request.path))
    return _private(
        render(
            request,
            "members/join_status.html",
            {
                "application": application,
                "org": application.organization,
                "correction": correction,
                "approved": application.status == ApplicationStatus.APPROVED,
            },
        )
    )


# The session remembers which recovery request the code form answers.
RECOVERY_SESSION_KEY = "join_link_recovery"


@never_cache
@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=lambda group, request: settings.RATELIMIT_JOIN, method="POST")
def join_recover(request):
    """Lost the status link: ask for a code by ID number and mobile number."""
    form = LinkRecoveryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            recovery = link_recovery.start(
                id_number=form.cleaned_data["id_number"], phone=form.cleaned_data["phone"]
            )
        except ValidationError as error:
            add_action_errors(form, error)
        else:
            request.session[RECOVERY_SESSION_KEY] = recovery.pk
            return _private(redirect("join-recover-code"))
    return _private(render(request, "members/join_recover.html", {"form": form}))


@never_cache
@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=lambda group, request: settings.RATELIMIT_JOIN, method="POST")
def join_recover_code(request):
    """The code from the text message opens the application under a new status link."""
    recovery_id = request.session.get(RECOVERY_SESSION_KEY)
    if not recovery_id:
        return _private(redirect("join-recover"))
    form = RecoveryCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _application, key = link_recovery.finish(
                recovery_id=recovery_id, code=form.cleaned_data["code"]
            )
        except ValidationError as error:
            if error.code in ("expired", "too_many_tries"):
                request.session.pop(RECOVERY_SESSION_KEY, None)
            form.add_error("code", error)
        else:
            request.session.pop(RECOVERY_SESSION_KEY, None)
            messages.success(
                request,
                _(
                    "Here is your application. Its address is new: bookmark this page. The "
                    "old link no longer works."
                ),
            )
            return _private(redirect("join-status", key=key))
    return _private(
        render(
            request,
            "members/join_recover_code.html",
            {"form": form, "minutes": link_recovery.CODE_MINUTES},
        )
    )


urlpatterns = [
    path("unions/<int:pk>/join/", join_apply, name="join-apply"),
    path("join/status/<str:key>/", join_status, name="join-status"),
    path("join/find/", join_recover, name="join-recover"),
    path("join/find/code/", join_recover_code, name="join-recover-code"),
]
