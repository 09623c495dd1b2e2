from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from core.admin_site import may_enter


def not_found(request, exception=None):
    # An API client gets the API's own error body, not the site's page.
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return render(request, "404.html", status=404)


@login_required
def after_login(request):
    """Where a login without a `next` lands: an officer on the to-do, a member (or anyone
    else, who is told how to join) on their membership."""
    if may_enter(request.user):
        return redirect("admin:todo")
    return redirect("my-membership")


def api_guide(request):
    """The integrators' guide to the API (Chinese or English, as the page's language)."""
    return render(
        request,
        "api_guide.html",
        {
            "base": request.build_absolute_uri("/")[:-1],
            "rate_limits": settings.API_RATE_LIMITS,
            "page_size": settings.REST_FRAMEWORK["PAGE_SIZE"],
        },
    )
