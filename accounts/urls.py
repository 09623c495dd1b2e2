from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("two-factor/", views.two_factor, name="two-factor"),
    path("security/", views.security, name="account-security"),
    path("security/end-others/", views.end_other_sessions, name="account-end-others"),
    path("security/tokens/", views.api_tokens, name="account-tokens"),
    path("security/tokens/<int:pk>/revoke/", views.revoke_api_token, name="account-token-revoke"),
    path("first-login/<uidb64>/<token>/", views.FirstLoginView.as_view(), name="first-login"),
]
