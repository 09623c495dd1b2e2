"""Portal views: a member asks to move their membership to a union found in the directory,
follows their transfers, cancels one they started, and answers one that a receiving union
started for a retained membership."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core.portal import no_member_page
from organizations import scope
from organizations.models import Level, Organization, OrgStatus

from ..actions import transfers as actions
from ..forms.transfers import RefuseForm, TransferRequestForm
from ..models import CURRENT_STATUSES, Transfer, TransferSide, TransferStatus
from ..selectors.people import member_of


def _current_member_or_page(request):
    """(member, None), or (None, a friendly page) for a user without a current membership."""
    member = member_of(request.user)
    if member is None or member.status not in CURRENT_STATUSES:
        return None, _no_member_page(request, member)
    return member, None


def _no_member_page(request, member):
    if member is not None:
        heading = _("Your membership has ended")
        text = _(
            "Only a current membership can be transferred. To become a member again, apply "
            "to join the union of your workplace."
        )
    else:
        heading = _("You are not a union member yet")
        text = _(
            "A transfer moves an existing membership to another union. If you are not a "
            "member yet, find the union of your workplace or area and apply to join online."
        )
    return no_member_page(request, title=_("Membership transfer"), heading=heading, text=text)


def _add_errors(request, error: ValidationError) -> None:
    for message in error.messages:
        messages.error(request, message)


@login_required
@never_cache
def transfer_request(request, pk: int):
    member, page = _current_member_or_page(request)
    if page is not None:
        return page
    target = get_object_or_404(Organization, pk=pk, status=OrgStatus.ACTIVE)
    problem = None
    if target.level != Level.GRASSROOTS:
        problem = _("Memberships belong to grassroots unions; choose your workplace's union.")
    elif target.pk == member.organization_id:
        problem = _("You already belong to this union.")
    open_transfer = member.transfers.filter(status=TransferStatus.OPEN).first()
    form = TransferRequestForm(request.POST or None)
    if request.method == "POST" and problem is None and form.is_valid():
        try:
            actions.request_transfer(
                member=member,
                to_organization=target,
                side=TransferSide.MEMBER,
                acting_user=request.user,
                reason=form.cleaned_data["reason"],
                new_employer=form.cleaned_data["new_employer"],
            )
        except ValidationError as error:
            _add_errors(request, error)
        else:
            messages.success(
                request,
                _("Your transfer request was sent. Both unions will be told."),
            )
            return redirect("transfer-list")
    return render(
        request,
        "members/transfer_request.html",
        {
            "member": member,
            "target": target,
            "form": form,
            "problem": problem,
            "open_transfer": open_transfer,
        },
    )


@login_required
@never_cache
def transfer_list(request):
    member = member_of(request.user)
    if member is None:
        return _no_member_page(request, None)
    now = timezone.now()
    rows = []
    for transfer in member.transfers.select_related("from_organization", "to_organization"):
        steps = actions.available_steps(transfer=transfer, user=request.user)
        # A retained membership's transfer started by the receiving union waits for the
        # member's answer (they stand in for the sending side).
        answer = "release" in steps and transfer.initiated_by_side != TransferSide.MEMBER
        rows.append(
            {
                "transfer": transfer,
                "expired": transfer.is_open and transfer.expires_at <= now,
                "can_cancel": "cancel" in steps,
                "can_answer": answer,
            }
        )
    return render(
        request,
        "members/transfer_list.html",
        {"member": member, "rows": rows, "decline_form": RefuseForm(sides=["sending"])},
    )


def _own_transfer(request, pk: int) -> Transfer:
    """One of the logged-in member's own transfers; anything else does not exist."""
    return scope.own_object_or_404(request.user, Transfer.objects.all(), pk=pk)


@login_required
@require_POST
def transfer_cancel(request, pk: int):
    transfer = _own_transfer(request, pk)
    try:
        actions.cancel_transfer(transfer=transfer, acting_user=request.user)
    except PermissionDenied:
        messages.error(request, _("Only the one who started a transfer can cancel it."))
    except ValidationError as error:
        _add_errors(request, error)
    else:
        messages.success(request, _("The transfer was cancelled."))
    return redirect("transfer-list")


@login_required
@require_POST
def transfer_confirm(request, pk: int):
    transfer = _own_transfer(request, pk)
    try:
        actions.release_transfer(transfer=transfer, acting_user=request.user)
    except PermissionDenied as error:
        messages.error(request, str(error))
    except ValidationError as error:
        _add_errors(request, error)
    else:
        messages.success(request, _("You confirmed the transfer."))
    return redirect("transfer-list")


@login_required
@require_POST
def transfer_decline(request, pk: int):
    transfer = _own_transfer(request, pk)
    form = RefuseForm(request.POST, sides=[TransferSide.SENDING])
    if not form.is_valid():
        messages.error(request, _("Give the reason why you decline the transfer."))
        return redirect("transfer-list")
    try:
        actions.refuse_transfer(
            transfer=transfer,
            side=TransferSide.SENDING,
            acting_user=request.user,
            reason=form.cleaned_data["reason"],
        )
    except PermissionDenied as error:
        messages.error(request, str(error))
    except ValidationError as error:
        _add_errors(request, error)
    else:
        messages.success(request, _("You declined the transfer."))
    return redirect("transfer-list")


urlpatterns = [
    path("me/transfer/to/<int:pk>/", transfer_request, name="transfer-request"),
    path("me/transfers/", transfer_list, name="transfer-list"),
    path("me/transfers/<int:pk>/cancel/", transfer_cancel, name="transfer-cancel"),
    path("me/transfers/<int:pk>/confirm/", transfer_confirm, name="transfer-confirm"),
    path("me/transfers/<int:pk>/decline/", transfer_decline, name="transfer-decline"),
]
