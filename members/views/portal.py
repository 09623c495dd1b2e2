"""Portal views: the member's own page with the card, and public card verification."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from core import qr
from core.portal import no_member_page

from .. import cards as actions
from ..models import Member
from ..selectors.people import member_of


@login_required
@never_cache
def my_membership(request):
    member = member_of(request.user)
    if member is None:
        return no_member_page(
            request,
            title=_("My membership"),
            heading=_("You are not a union member yet"),
            text=_(
                "Find the union of your workplace or area and apply to join online. After the "
                "union approves, you log in here with your membership number or mobile phone."
            ),
        )
    member = Member.objects.select_related("organization").get(pk=member.pk)
    context = {
        "member": member,
        "history": member.events.select_related("from_organization", "to_organization").order_by(
            "-at", "-pk"
        ),
    }
    if member.card_is_valid:
        url = request.build_absolute_uri(reverse("card-verify", args=[actions.card_token(member)]))
        context.update(card_url=url, card_qr=qr.cached_svg(url, title=str(member.card_number)))
    return render(request, "members/portal_me.html", context)


@never_cache
def verify_card(request, token: str):
    """Public: anyone scanning a card sees the masked name, the union and the status."""
    member, valid = actions.member_for_card_token(token)
    return render(
        request,
        "members/portal_verify.html",
        {"member": member, "valid": valid},
        status=200 if member is not None else 404,
    )


urlpatterns = [
    path("me/", my_membership, name="my-membership"),
    path("verify/<str:token>/", verify_card, name="card-verify"),
]
