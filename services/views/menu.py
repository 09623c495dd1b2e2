"""Portal: the member's service menu, ordering, their requests, and service wishes.

A member reaches only their own rows: the menu is computed for them, a service outside it
and anybody else's request do not exist (404). Without a current membership the pages
say how to become a member.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core.forms import add_action_errors
from core.portal import no_member_page
from members.models import CURRENT_STATUSES, Member
from members.selectors.people import member_of
from organizations import scope

from ..actions import requests as request_actions
from ..actions import union_chain
from ..actions import wishes as wish_actions
from ..forms.menu import CancelForm, OrderForm, RateForm, WishForm
from ..models import ServiceRequest, ServiceWish
from ..selectors import menu as selectors
from ..selectors.menu import menu_by_category, menu_for, requests_of, wishes_for_member


def _member_or_page(request):
    """(member with their union loaded, None), or (None, a friendly page)."""
    member = member_of(request.user)
    if member is None or member.status not in CURRENT_STATUSES:
        return None, _no_member_page(request, member)
    return Member.objects.select_related("organization").get(pk=member.pk), None


def _no_member_page(request, member):
    if member is not None:
        heading = _("Your membership is not current")
        text = _(
            "The service menu and service wishes are for current members. To become a member "
            "again, apply to join the union of your workplace."
        )
    else:
        heading = _("You are not a union member yet")
        text = _(
            "The union's services are for its members. Find the union of your workplace or "
            "area and apply to join online; once you are a member, you can order services here."
        )
    return no_member_page(request, title=_("Union services"), heading=heading, text=text)


def _flash_errors(request, error: ValidationError | PermissionDenied) -> None:
    if isinstance(error, PermissionDenied):
        messages.error(request, str(error) or _("You may not do this."))
        return
    for message in error.messages:
        messages.error(request, message)


@login_required
@never_cache
def menu(request):
    member, page = _member_or_page(request)
    if page is not None:
        return page
    services = menu_for(member)
    return render(
        request,
        "services/menu_list.html",
        {"member": member, "groups": menu_by_category(services), "count": len(services)},
    )


@login_required
@never_cache
def service_detail(request, pk: int):
    member, page = _member_or_page(request)
    if page is not None:
        return page
    # Only a service of the member's own menu exists here.
    service = next((s for s in menu_for(member) if s.pk == pk), None)
    if service is None:
        raise Http404(_("Not found."))
    form = OrderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            request_actions.order_service(
                service=service,
                member=member,
                note=form.cleaned_data["note"],
                acting_user=request.user,
            )
        except PermissionDenied as error:
            _flash_errors(request, error)
        except ValidationError as error:
            add_action_errors(form, error)
        else:
            messages.success(
                request, _("Your order was sent. You will be told when the union answers.")
            )
            return redirect("services-my-requests")
    open_request = selectors.open_request(member, service)
    return render(
        request,
        "services/menu_detail.html",
        {"member": member, "service": service, "form": form, "open_request": open_request},
    )


@login_required
@never_cache
def my_requests(request):
    member = member_of(request.user)
    if member is None:
        return _no_member_page(request, None)
    rows = [
        {"request": req, "steps": request_actions.available_steps(request=req, user=request.user)}
        for req in requests_of(member)
    ]
    return render(
        request,
        "services/menu_my_requests.html",
        {"member": member, "rows": rows, "cancel_form": CancelForm(), "rate_form": RateForm()},
    )


def _own_request(request, pk: int) -> ServiceRequest:
    """One of the logged-in member's own requests; anything else does not exist."""
    return scope.own_object_or_404(
        request.user, ServiceRequest.objects.select_related("service", "member"), pk=pk
    )


@login_required
@require_POST
def request_cancel(request, pk: int):
    req = _own_request(request, pk)
    form = CancelForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        request_actions.cancel_request(request=req, reason=reason, acting_user=request.user)
    except (ValidationError, PermissionDenied) as error:
        _flash_errors(request, error)
    else:
        messages.success(request, _("Your order was cancelled."))
    return redirect("services-my-requests")


@login_required
@require_POST
def request_rate(request, pk: int):
    req = _own_request(request, pk)
    form = RateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a rating from 1 to 5."))
        return redirect("services-my-requests")
    try:
        request_actions.rate_request(
            request=req,
            rating=form.cleaned_data["rating"],
            comment=form.cleaned_data["comment"],
            acting_user=request.user,
        )
    except (ValidationError, PermissionDenied) as error:
        _flash_errors(request, error)
    else:
        messages.success(request, _("Thank you for your rating."))
    return redirect("services-my-requests")


@login_required
@never_cache
def wishes(request):
    member, page = _member_or_page(request)
    if page is not None:
        return page
    unions = union_chain(member.organization)
    form = WishForm(request.POST or None, unions=unions)
    if request.method == "POST" and form.is_valid():
        try:
            wish_actions.propose_wish(
                member=member,
                organization=form.cleaned_data["organization"],
                title=form.cleaned_data["title"],
                description=form.cleaned_data["description"],
                category=form.cleaned_data["category"],
                acting_user=request.user,
            )
        except PermissionDenied as error:
            _flash_errors(request, error)
        except ValidationError as error:
            add_action_errors(form, error)
        else:
            messages.success(request, _("Your wish was added; your vote counts for it."))
            return redirect("services-wishes")
    return render(
        request,
        "services/menu_wishes.html",
        {"member": member, "wishes": wishes_for_member(member), "form": form},
    )


def _wish_in_chain(member: Member, pk: int) -> ServiceWish:
    return get_object_or_404(selectors.wishes_of_chain(member), pk=pk)


@login_required
@require_POST
def wish_vote(request, pk: int, withdraw: bool = False):
    member, page = _member_or_page(request)
    if page is not None:
        return page
    wish = _wish_in_chain(member, pk)
    action = wish_actions.withdraw_vote if withdraw else wish_actions.vote_wish
    try:
        action(wish=wish, member=member, acting_user=request.user)
    except (ValidationError, PermissionDenied) as error:
        _flash_errors(request, error)
    else:
        messages.success(
            request, _("Your vote was taken back.") if withdraw else _("Thank you for your vote.")
        )
    return redirect("services-wishes")


urlpatterns = [
    path("services/menu/", menu, name="services-menu"),
    path("services/menu/<int:pk>/", service_detail, name="services-menu-detail"),
    path("me/requests/", my_requests, name="services-my-requests"),
    path("me/requests/<int:pk>/cancel/", request_cancel, name="services-request-cancel"),
    path("me/requests/<int:pk>/rate/", request_rate, name="services-request-rate"),
    path("services/wishes/", wishes, name="services-wishes"),
    path("services/wishes/<int:pk>/vote/", wish_vote, name="services-wish-vote"),
    path(
        "services/wishes/<int:pk>/unvote/",
        wish_vote,
        {"withdraw": True},
        name="services-wish-unvote",
    ),
]
