"""Portal: announcements (通知公告) addressed to the member."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils.translation import gettext as _

from members.selectors.people import member_of

from ..selectors import announcements as selectors


@login_required
def announcement_list(request):
    member = member_of(request.user)
    items = []
    if member is not None:
        items = selectors.announcements_for(member)
    page = Paginator(items, 20).get_page(request.GET.get("page"))
    return render(request, "services/announcements_list.html", {"member": member, "page": page})


@login_required
def announcement_detail(request, pk: int):
    announcement = get_object_or_404(selectors.sent_announcements(), pk=pk)
    # Only the members it addresses read it here; to anyone else it does not exist.
    if not selectors.recipients(announcement).filter(user=request.user).exists():
        raise Http404(_("Not found."))
    return render(request, "services/announcements_detail.html", {"announcement": announcement})


urlpatterns = [
    path("announcements/", announcement_list, name="announcement-list"),
    path("announcements/<int:pk>/", announcement_detail, name="announcement-detail"),
]
