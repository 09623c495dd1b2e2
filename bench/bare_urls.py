"""The project's URLs plus `/bench/bare/`: a view that does nothing, the floor the portal's
pages are measured against (same server, same middleware)."""

from django.http import HttpResponse
from django.urls import path

from unionhub.urls import urlpatterns as project_urlpatterns


def bare(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/bare/", bare), *project_urlpatterns]
handler404 = "unionhub.views.not_found"
