from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from . import actions
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
