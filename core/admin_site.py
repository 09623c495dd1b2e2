"""The admin site: union officers enter by their roles, not by the is_staff flag.

Which accounts count as officers is not core's to know: the app that holds the roles
registers the rule with `register_officer_check` (organizations: any `OrgRole` grant).
"""

from collections.abc import Callable

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.forms import AuthenticationForm
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.decorators import method_decorator
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _
from django_ratelimit.decorators import ratelimit

from . import todo

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
    index_template = "admin/union_index.html"

    def has_permission(self, request):
        return may_enter(request.user)

    @method_decorator(
        ratelimit(key="ip", rate=lambda group, request: settings.RATELIMIT_LOGIN, method="POST")
    )
    def login(self, request, extra_context=None):
        """The admin's login form, rate-limited like the site's (django-axes locks out)."""
        return super().login(request, extra_context)

    def each_context(self, request):
        """Every admin page's header shows how much work waits on the officer (counted
        only when a page shows it: the login page does not)."""
        context = super().each_context(request)
        user = request.user
        context["todo_total"] = SimpleLazyObject(
            lambda: sum(_todo_counts(request).values()) if may_enter(user) else 0
        )
        return context

    def get_urls(self):
        return [path("todo/", self.admin_view(self.todo_view), name="todo"), *super().get_urls()]

    def todo_view(self, request):
        """待办: everything waiting on the unions the officer serves, most urgent first, with
        the count of each kind (a kind at a time with ?kind=)."""
        counts = _todo_counts(request)
        kind = request.GET.get("kind")
        if kind not in counts:
            kind = None
        sources = [
            {"key": s.key, "label": s.label, "count": counts[s.key], "more": s.more_url()}
            for s in todo.sources()
        ]
        context = {
            **self.each_context(request),
            "title": _("To-do"),
            "items": todo.items(request.user, limit=TODO_PAGE, kind=kind),
            "sources": sources,
            "kind": kind,
            "shown_total": counts[kind] if kind else sum(counts.values()),
            "limit": TODO_PAGE,
        }
        return TemplateResponse(request, "admin/todo.html", context)

    def index(self, request, extra_context=None):
        extra = {
            "todo_items": todo.items(request.user, limit=TODO_ON_INDEX),
            "todo_limit": TODO_ON_INDEX,
            **(extra_context or {}),
        }
        return super().index(request, extra)


# How many items the to-do page and the admin's index show.
TODO_PAGE = 50
TODO_ON_INDEX = 5


def _todo_counts(request) -> dict[str, int]:
    """The counts of each kind of work waiting on the request's user, once per request."""
    if not hasattr(request, "_todo_counts"):
        request._todo_counts = todo.counts(request.user)
    return request._todo_counts
