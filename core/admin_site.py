"""The admin site: union officers enter by their roles, not by the is_staff flag.

Which accounts count as officers is not core's to know: the app that holds the roles
registers the rule with `register_officer_check` (organizations: any `OrgRole` grant).
"""

from collections.abc import Callable

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.forms import AuthenticationForm
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django_ratelimit.decorators import ratelimit

_OFFICER_CHECKS: list[Callable] = []


def register_officer_check(check: Callable) -> None:
    """`check(user) -> bool`: whether the account may enter the admin by a role it holds."""
    _OFFICER_CHECKS.append(check)


def may_enter(user) -> bool:
    return user.is_active and (user.is_staff or any(check(user) for check in _OFFICER_CHECKS))


class OfficerAuthenticationForm(AuthenticationForm):
    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not may_enter(user):
            raise forms.ValidationError(
                _("This account holds no role in any union, so it cannot enter the admin."),
                code="no_role",
            )


class UnionAdminSite(admin.AdminSite):
    site_header = _("UnionHub administration")
    site_title = _("UnionHub")
    index_title = _("Union work")
    login_form = OfficerAuthenticationForm

    def has_permission(self, request):
        return may_enter(request.user)

    @method_decorator(
        ratelimit(key="ip", rate=lambda group, request: settings.RATELIMIT_LOGIN, method="POST")
    )
    def login(self, request, extra_context=None):
        """The admin's login form, rate-limited like the site's (django-axes locks out)."""
        return super().login(request, extra_context)
