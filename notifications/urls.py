from django.urls import path

from . import views

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:pk>/read/", views.read, name="inbox-read"),
    path("read-all/", views.read_all, name="inbox-read-all"),
    path("settings/", views.settings_page, name="inbox-settings"),
]
