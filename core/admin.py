"""Admin machinery shared by every app's ModelAdmins: read-only record pages, and the admin
page with a form for one admin action.

Rejecting with a reason, handing over, recording a payment, approving after a look at the
record: each is a small form on its own page (`admin/action_form.html`), posted to a view
that calls an action, shows the action's errors on the form and goes back to the record
with a message. `ActionFormAdminMixin` gives a ModelAdmin that page and that flow once.
"""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from .forms import add_action_errors


def error_text(error: Exception) -> str:
    """An action's refusal or validation error as one line for a message."""
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or _("You may not do this.")


class ActionFormAdminMixin:
    """A ModelAdmin's pages with a form for one admin action (see the module docstring)."""

    action_form_template = "admin/action_form.html"

    def action_form_view(
        self,
        request,
        form,
        do: Callable[[dict], str | tuple[str, str]],
        *,
        back: str,
        refusal: str | None = "form",
        show_errors: Callable = add_action_errors,
        **page,
    ) -> HttpResponse:
        """Call `do(cleaned_data)` when the form was posted valid, then redirect to `back`
        with the message it returns (or to the URL of its `(message, url)`).

        An action's ValidationError goes on the form through `show_errors`; its
        PermissionDenied on the form too (`refusal="form"`), in a message on `back`
        (`"back"`), or on to Django (None: 403). Otherwise the page with the form, whose
        `page` keywords are those of `action_form_page`; its Cancel link is `back`.
        """
        if form.is_bound and form.is_valid():
            try:
                done = do(form.cleaned_data)
            except PermissionDenied as error:
                if refusal is None:
                    raise
                if refusal == "back":
                    self.message_user(request, error_text(error), messages.ERROR)
                    return HttpResponseRedirect(back)
                form.add_error(None, error_text(error))
            except ValidationError as error:
                show_errors(form, error)
            else:
                message, url = done if isinstance(done, tuple) else (done, back)
                self.message_user(request, message, messages.SUCCESS)
                return HttpResponseRedirect(url)
        return self.action_form_page(request, form, cancel_url=back, **page)

    def action_form_page(
        self,
        request,
        form,
        *,
        title: str,
        submit_label: str,
        cancel_url: str,
        original=None,
        original_label: str | None = None,
        breadcrumbs: list[tuple[str, str]] | None = None,
        **context,
    ) -> TemplateResponse:
        """The page: breadcrumbs (by default the list, then `original` named by
        `original_label` or its `str()`), then in order the optional `summary` rows
        (label, value), `intro` paragraphs and `selected` table (headers, rows), then the
        form with its submit button and a Cancel link.

        For a bulk action of the change list, `bulk_action` (its name) and `selected_pks`
        post the selection back with the form."""
        opts = self.model._meta
        if breadcrumbs is None:
            name = f"admin:{opts.app_label}_{opts.model_name}"
            breadcrumbs = [(reverse(f"{name}_changelist"), capfirst(opts.verbose_name_plural))]
            if original is not None:
                label = original if original_label is None else original_label
                breadcrumbs.append((reverse(f"{name}_change", args=[original.pk]), label))
        context = {
            **self.admin_site.each_context(request),
            "opts": opts,
            "title": title,
            "original": original,
            "breadcrumbs": breadcrumbs,
            "form": form,
            "media": self.media + form.media,
            "submit_label": submit_label,
            "cancel_url": cancel_url,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            **context,
        }
        return TemplateResponse(request, self.action_form_template, context)


class ReadOnlyAdminMixin:
    """A record list and page that nobody adds, changes or deletes through the admin: the
    records come from elsewhere (the portal, an import, the audit) and change only through
    their actions."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
