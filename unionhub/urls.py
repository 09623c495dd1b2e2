from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from members.api import ROUTES as MEMBER_ROUTES
from notifications import views as notification_views
from organizations import views as org_views
from organizations.api import OrganizationViewSet
from organizations.openapi import SchemaView
from reports.api import ROUTES as REPORT_ROUTES
from services.api import ROUTES as SERVICE_ROUTES
from unionhub import health, views

# No ".json" suffix routes: the custom actions take no `format` argument (a suffix made them
# fail with a server error), and `?format=json` or the Accept header choose the format.
router = DefaultRouter()
router.include_format_suffixes = False
router.register("organizations", OrganizationViewSet, basename="organization")
for prefix, viewset, basename in [*MEMBER_ROUTES, *SERVICE_ROUTES, *REPORT_ROUTES]:
    router.register(prefix, viewset, basename=basename)

urlpatterns = [
    path("", org_views.directory, name="directory"),
    path("unions/<int:pk>/", org_views.union_detail, name="union-detail"),
    path("accounts/", include("accounts.urls")),
    path("welcome/", views.after_login, name="after-login"),
    path("inbox/", include("notifications.urls")),
    path("", include("members.urls")),
    path("", include("services.urls")),
    path("", include("reports.urls")),
    # The language switch also remembers a logged-in user's language for emails and SMS.
    path("i18n/setlang/", notification_views.set_language, name="set_language"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/guide/", views.api_guide, name="api-guide"),
    path("healthz/", health.health, name="health"),
    path("metrics", health.metrics, name="metrics"),
]

handler404 = "unionhub.views.not_found"
# MEDIA_ROOT is never served, in development or production: it holds concern attachments
# and uploaded member spreadsheets, which only the scoped views hand out.
