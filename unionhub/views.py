from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def not_found(request, exception=None):
    # An API client gets the API's own error body, not the site's page.
    if request.path_info.startswith("/api/"):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return render(request, "404.html", status=404)
