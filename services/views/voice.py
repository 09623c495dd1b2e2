"""Portal views of the worker voice: a member raises concerns, follows who handles them
and until when, reads the answers, and rates or reopens them. A member reaches only their
own concerns; anything else does not exist."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from core.forms import add_action_errors
from core.portal import no_member_page
from members.models import CURRENT_STATUSES
from members.selectors.people import member_of
from organizations import scope

from ..actions import voice as actions
from ..forms.voice import ConcernForm, RateForm, ReopenForm
from ..models import Concern, ConcernStatus
from ..selectors.voice import concerns_of_member, history


def _own_concern(request, pk: int) -> Concern:
    """One of the logged-in member's own concerns; anything else does not exist."""
    return scope.own_object_or_404(
        request.user, Concern.objects.select_related("organization", "origin"), pk=pk
    )


def _no_member_page(request, member):
    if member is not None:
        return no_member_page(
            request,
            title=_("Worker voice"),
            heading=_("Your membership has ended"),
            text=_(
                "Only current members can raise new concerns. Your earlier concerns stay in "
                "your list."
            ),
            link=("voice-list", _("My concerns")),
        )
    return no_member_page(
        request,
        title=_("Worker voice"),
        heading=_("You are not a union member yet"),
        text=_(
            "The worker voice is for union members. Find the union of your workplace or area "
            "and apply to join online; then you can raise concerns here."
        ),
    )


def _errors_as_messages(request, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


@login_required
@never_cache
def concern_list(request):
    member = member_of(request.user)
    if member is None:
        return _no_member_page(request, None)
    return render(
        request,
        "services/voice_list.html",
        {
            "member": member,
            "concerns": concerns_of_member(member),
            "can_raise": member.status in CURRENT_STATUSES,
        },
    )


@login_required
@never_cache
@ratelimit(key="user", rate=lambda group, request: settings.RATELIMIT_CONCERN, method="POST")
def concern_new(request):
    member = member_of(request.user)
    if member is None or member.status not in CURRENT_STATUSES:
        return _no_member_page(request, member)
    form = ConcernForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "attachment"}
        try:
            concern = actions.raise_concern(
                member=member, data=data, attachment=form.cleaned_data.get("attachment")
            )
        except ValidationError as error:
            add_action_errors(form, error)
        else:
            messages.success(
                request,
                _("Your concern was sent to %(union)s. You will be told when it is answered.")
                % {"union": concern.organization.name},
            )
            return redirect("voice-detail", concern.pk)
    return render(request, "services/voice_new.html", {"member": member, "form": form})


@login_required
@never_cache
def concern_detail(request, pk: int):
    concern = _own_concern(request, pk)
    return render(
        request,
        "services/voice_detail.html",
        {
            "concern": concern,
            "steps": history(concern),
            "can_rate": concern.status == ConcernStatus.ANSWERED,
            "can_reopen": concern.status != ConcernStatus.OPEN and concern.rating is None,
            "rate_form": RateForm(),
            "reopen_form": ReopenForm(),
        },
    )


@login_required
@require_POST
def concern_rate(request, pk: int):
    concern = _own_concern(request, pk)
    form = RateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose from 1 to 5 stars."))
        return redirect("voice-detail", concern.pk)
    try:
        actions.rate_concern(
            concern=concern,
            member=member_of(request.user),
            rating=form.cleaned_data["rating"],
            comment=form.cleaned_data["comment"],
        )
    except PermissionDenied as error:
        messages.error(request, str(error))
    except ValidationError as error:
        _errors_as_messages(request, error)
    else:
        messages.success(request, _("Thank you for your rating. The concern is closed."))
    return redirect("voice-detail", concern.pk)


@login_required
@require_POST
def concern_reopen(request, pk: int):
    concern = _own_concern(request, pk)
    form = ReopenForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say what is still not solved."))
        return redirect("voice-detail", concern.pk)
    try:
        actions.reopen_concern(
            concern=concern, member=member_of(request.user), reason=form.cleaned_data["reason"]
        )
    except PermissionDenied as error:
        messages.error(request, str(error))
    except ValidationError as error:
        _errors_as_messages(request, error)
    else:
        messages.success(request, _("Your concern is open again; the union will answer anew."))
    return redirect("voice-detail", concern.pk)


@login_required
@never_cache
def concern_attachment(request, pk: int):
    concern = _own_concern(request, pk)
    if not concern.attachment:
        raise Http404(_("Not found."))
    return FileResponse(
        concern.attachment.open("rb"),
        as_attachment=True,
        filename=f"concern-{concern.pk}.{concern.attachment.name.rsplit('.', 1)[-1]}",
    )


urlpatterns = [
    path("me/concerns/", concern_list, name="voice-list"),
    path("me/concerns/new/", concern_new, name="voice-new"),
    path("me/concerns/<int:pk>/", concern_detail, name="voice-detail"),
    path("me/concerns/<int:pk>/rate/", concern_rate, name="voice-rate"),
    path("me/concerns/<int:pk>/reopen/", concern_reopen, name="voice-reopen"),
    path("me/concerns/<int:pk>/attachment/", concern_attachment, name="voice-attachment"),
]
