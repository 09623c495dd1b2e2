"""Portal views: the member's own dues, month by month."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from core.portal import no_member_page

from ..selectors import dues as selectors
from ..selectors.people import member_of


@login_required
@never_cache
def my_dues(request):
    member = member_of(request.user)
    if member is None:
        return no_member_page(
            request,
            title=_("My dues"),
            heading=_("You are not a union member yet"),
            text=_(
                "Dues are shown here for union members. Find the union of your workplace or "
                "area and apply to join online."
            ),
        )
    records = member.dues.order_by("-period", "-pk")
    page = Paginator(records, 24).get_page(request.GET.get("page"))
    context = {
        "member": member,
        "page": page,
        "total_outstanding": selectors.total_outstanding(records),
        "arrears": selectors.arrears(records).count(),
    }
    return render(request, "members/dues_list.html", context)


urlpatterns = [
    path("me/dues/", my_dues, name="my-dues"),
]
