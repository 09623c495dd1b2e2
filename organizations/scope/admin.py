"""The admin adapter of the scope: ModelAdmin mixins that scope rows, foreign-key
choices, list filters, autocomplete and saves, and answer 404 outside the scope
(`ScopedAdminMixin.object_or_404`, the admin's one such check). `RecordAdminMixin` adds a
read-only record page whose writes go through dedicated views."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.exceptions import DisallowedModelAdminToField
from django.contrib.admin.options import TO_FIELD_VAR
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from ..models import Organization
from .policy import Access, can, filter_queryset, organizations


class ScopedAdminMixin:
    """Scopes a ModelAdmin: rows, foreign-key choices, list filters, autocomplete and save.

    Autocomplete needs nothing more: Django's autocomplete view asks the related model's
    admin for `get_queryset`, which is scoped here.
    """

    scope_view_access = Access.VIEW
    scope_change_access = Access.CHANGE

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return filter_queryset(request.user, qs, self.scope_view_access)

    def has_view_permission(self, request, obj=None):
        allowed = super().has_view_permission(request, obj)
        return allowed and (obj is None or can(request.user, self.scope_view_access, obj))

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or can(request.user, self.scope_change_access, obj))

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or can(request.user, self.scope_change_access, obj))

    # A user without any permission on the model learns nothing either: not found.
    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise Http404(_("Not found."))
        return super().changelist_view(request, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if object_id is not None:
            self.object_or_404(request, object_id, _to_field(request))
        return super().changeform_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        self.object_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        self.object_or_404(request, object_id, _to_field(request))
        return super().delete_view(request, object_id, extra_context)

    def object_or_404(self, request, object_id, to_field: str | None = None):
        """The object an admin URL names, if it is in the user's scope; otherwise 404.

        The one "not found outside the scope" check of the admin. It runs before Django's
        own views, which refuse a missing model permission with 403 (and only then look the
        object up): outside the scope, or without any permission on the model, the object
        does not exist.
        """
        if not self.has_view_or_change_permission(request):
            raise Http404(_("Not found."))
        if to_field and not self.to_field_allowed(request, to_field):
            raise DisallowedModelAdminToField(f"The field {to_field} cannot be referenced.")
        obj = self.get_object(request, unquote(str(object_id)), to_field)
        if obj is None:
            raise Http404(_("Not found."))
        return obj

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Django's answer to an id it cannot find (a row deleted meanwhile): not found as
        # well, rather than a redirect with a message naming the id.
        raise Http404(_("Not found."))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        scoped = _scoped_choices(request.user, db_field.remote_field.model, self)
        if scoped is not None:
            kwargs["queryset"] = scoped
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        scoped = _scoped_choices(request.user, db_field.remote_field.model, self)
        if scoped is not None:
            kwargs["queryset"] = scoped
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_list_filter(self, request):
        # A related filter lists only values present in the (scoped) rows, never all rows.
        result = []
        for item in super().get_list_filter(request):
            if isinstance(item, str) and "__" not in item:
                field = self.model._meta.get_field(item)
                if field.is_relation:
                    item = (item, admin.RelatedOnlyFieldListFilter)
            result.append(item)
        return result

    def save_model(self, request, obj, form, change):
        if not can(request.user, self.scope_change_access, obj):
            raise PermissionDenied(_("This organization is outside your area of responsibility."))
        super().save_model(request, obj, form, change)


def _scoped_choices(user, model, model_admin) -> QuerySet | None:
    if issubclass(model, Organization):
        return organizations(user, model_admin.scope_change_access)
    if getattr(model, "tenant_path", None) is not None:
        return filter_queryset(user, model._default_manager.all(), Access.VIEW)
    return None


def _to_field(request) -> str | None:
    return request.POST.get(TO_FIELD_VAR, request.GET.get(TO_FIELD_VAR)) or None


class RecordAdminMixin(ScopedAdminMixin):
    """A record whose change page only shows it: writes go through dedicated views.

    Subclasses give the page's extra context in `record_context(request, obj)`. Out of
    scope (or without any permission on the model) the record does not exist; nothing is
    deleted or saved through the generic admin.
    """

    def record_context(self, request, obj) -> dict:
        return {}

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.object_or_404(request, object_id)
        if request.method == "POST":
            return redirect(request.path)  # nothing is edited through the generic form
        extra_context = {
            **(extra_context or {}),
            **self.record_context(request, obj),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        raise Http404(_("Not found."))

    def get_actions(self, request):
        result = super().get_actions(request)
        result.pop("delete_selected", None)
        return result

    def save_model(self, request, obj, form, change):
        pass  # never written through the generic form
