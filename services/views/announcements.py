"""Portal: announcements (通知公告) addressed to the member."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils.translation import gettext as _

from members.selectors.people import member_of

from ..actions import audience_allows, union_chain
from ..actions.announcements import recipients
from ..models import Announcement, AnnouncementStatus

# The newest announcements of the member's chain that the list looks through.
RECENT = 200
OUT = (AnnouncementStatus.SENDING, AnnouncementStatus.SENT)


@login_required
def announcement_list(request):
    member = member_of(request.user)
    items = []
    if member is not None:
        chain_ids = [o.pk for o in union_chain(member.organization)]
        recent = (
            Announcement.objects.filter(organization_id__in=chain_ids, status__in=OUT)
            .select_related("organization")
            .prefetch_related("audience_unions")
            .order_by("-published_at", "-pk")[:RECENT]
        )
        items = [a for a in recent if audience_allows(a, member, chain_ids)]
    page = Paginator(items, 20).get_page(request.GET.get("page"))
    return render(request, "services/announcements_list.html", {"member": member, "page": page})


@login_required
def announcement_detail(request, pk: int):
    announcement = get_object_or_404(
        Announcement.objects.select_related("organization"), pk=pk, status__in=OUT
    )
    # Only the members it addresses read it here; to anyone else it does not exist.
    if not recipients(announcement).filter(user=request.user).exists():
        raise Http404(_("Not found."))
    return render(request, "services/announcements_detail.html", {"announcement": announcement})


urlpatterns = [
    path("announcements/", announcement_list, name="announcement-list"),
    path("announcements/<int:pk>/", announcement_detail, name="announcement-detail"),
]
