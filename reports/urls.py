from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("reports/", views.report_list, name="list"),
    path("reports/new/", views.report_request, name="request"),
    path("reports/<int:pk>/", views.report_detail, name="detail"),
    path("reports/<int:pk>/<str:fmt>/", views.report_download, name="download"),
]
