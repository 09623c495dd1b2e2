import contextlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from core.admin_site import may_enter

from . import actions, channels, kinds
from .forms import RecipientSettingsForm
from .models import Notification


@login_required
def inbox(request):
    page = Paginator(Notification.objects.filter(recipient=request.user), 20).get_page(
        request.GET.get("page")
    )
    return render(request, "notifications/inbox.html", {"page": page})


@require_POST
@login_required
def read(request, pk: int):
    notification = actions.mark_read(user=request.user, notification_id=pk)
    link = notification.link if notification else ""
    # Only links within this site: a notification must never become an open redirect.
    if link and url_has_allowed_host_and_scheme(
        link, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(link)
    return redirect("inbox")


@require_POST
@login_required
def read_all(request):
    actions.mark_all_read(user=request.user)
    return redirect("inbox")


def _preference_rows(user):
    """One row per kind: what the user received first, then kinds that text by default."""
    received = set(
        Notification.objects.filter(recipient=user).values_list("kind", flat=True).distinct()
    )
    chosen = actions.enabled_channels_for_user(user)
    rows = [
        {
            "kind": kind,
            "label": kinds.label(kind),
            "email": chosen[kind][channels.EMAIL],
            "sms": chosen[kind][channels.SMS],
            "received": kind in received,
        }
        for kind, spec in kinds.KINDS.items()
        if (kind in received or spec.sms) and not spec.contact_only
    ]
    rows.sort(key=lambda r: (not r["received"], r["label"]))
    return rows


@login_required
def settings_page(request):
    """Language, SMS quiet hours, and which kinds of message come by email or SMS."""
    current = actions.recipient_settings(request.user)
    form = RecipientSettingsForm(
        request.POST or None,
        initial={
            "language": current.language,
            "quiet_start": current.quiet_start,
            "quiet_end": current.quiet_end,
            "digest": current.digest,
        },
    )
    officer = may_enter(request.user)  # only officers are sent work
    if not officer:
        del form.fields["digest"]
    rows = _preference_rows(request.user)
    if request.method == "POST" and form.is_valid():
        shown = [r["kind"] for r in rows]
        choices = {
            (kind, channel): f"{channel}:{kind}" in request.POST
            for kind in shown
            for channel in channels.EXTERNAL
        }
        actions.save_recipient_settings(user=request.user, **form.cleaned_data)
        actions.set_preferences(user=request.user, choices=choices)
        messages.success(request, _("Your notification settings are saved."))
        return redirect("inbox-settings")
    has_phone = bool(channels.addresses(channels.SMS, [request.user.pk]))
    return render(
        request,
        "notifications/settings.html",
        {
            "form": form,
            "rows": rows,
            "has_email": bool(request.user.email),
            "has_phone": has_phone,
            "officer": officer,
        },
    )


@require_POST
def set_language(request):
    """Django's language switch, which also remembers a logged-in user's choice for the
    emails and SMS they are sent."""
    response = django_set_language(request)
    language = request.POST.get("language")
    if request.user.is_authenticated and language:
        # An unknown language is ignored, as Django's switch ignores it.
        with contextlib.suppress(ValidationError):
            actions.save_recipient_settings(user=request.user, language=language)
    return response
