"""Pieces shared by the members admin modules."""

from django.contrib.admin.utils import unquote
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _


class RecordAdminMixin:
    """A record whose change page only shows it: writes go through dedicated views.

    Subclasses give the page's extra context in `record_context(request, obj)`. Out of
    scope (or without any permission on the model) the record does not exist.
    """

    def record_context(self, request, obj) -> dict:
        return {}

    def _in_scope_or_404(self, request, object_id):
        obj = self.get_object(request, unquote(str(object_id)))
        if obj is None:
            raise Http404(_("Not found."))
        return obj

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise Http404(_("Not found."))
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self._in_scope_or_404(request, object_id)
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

    def history_view(self, request, object_id, extra_context=None):
        self._in_scope_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        raise Http404(_("Not found."))

    def get_actions(self, request):
        result = super().get_actions(request)
        result.pop("delete_selected", None)
        return result

    def save_model(self, request, obj, form, change):
        pass  # never written through the generic form
