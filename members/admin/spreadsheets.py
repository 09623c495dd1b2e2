"""Admin: spreadsheet import and export of members.

The member admin gets an upload page (`import/`), the template download
(`import/template/`), an export of the whole filtered list (`export/`) and export actions
for selected rows. An upload becomes an `ImportJob` (kind "members"), shown on its own page
with progress, the row report and the confirm and cancel buttons; every step calls
`members.actions.spreadsheets`. Exports carry masked identifiers only.
"""

from django.contrib import admin
from django.contrib.admin.options import IS_POPUP_VAR, IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin_imports import XLSX, ImportJobAdminMixin, download, start_upload
from organizations import scope

from .. import exports
from ..actions import spreadsheets as actions
from ..actions.permissions import keeps_member_records
from ..forms.spreadsheets import MemberImportForm
from ..importing import columns, template
from ..models import ImportJob, ImportKind

CSV = "text/csv; charset=utf-8"
EXPORT_ACTIONS = ("export_selected_xlsx", "export_selected_csv")
FORMAT_VAR = "_format"


def _export_response(content: bytes, fmt: str) -> HttpResponse:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return download(content, f"members-{stamp}.{fmt}", XLSX if fmt == "xlsx" else CSV)


class MemberSpreadsheetAdminMixin:
    """Adds the import views and export actions to the member admin."""

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_view), name="members_member_import"),
            path(
                "import/template/",
                wrap(self.import_template_view),
                name="members_member_import_template",
            ),
            path("export/", wrap(self.export_view), name="members_member_export"),
            *super().get_urls(),
        ]

    # Export --------------------------------------------------------------------------

    def get_actions(self, request):
        found = super().get_actions(request)
        if self.actions is None or IS_POPUP_VAR in request.GET:
            return found
        if self.has_view_permission(request):
            for name in EXPORT_ACTIONS:
                found.setdefault(name, self.get_action(name))
        return found

    @admin.action(description=gettext_lazy("Export selected members (Excel)"))
    def export_selected_xlsx(self, request, queryset):
        return self._export(request, queryset, "xlsx")

    @admin.action(description=gettext_lazy("Export selected members (CSV)"))
    def export_selected_csv(self, request, queryset):
        return self._export(request, queryset, "csv")

    def _export(self, request, queryset, fmt):
        if not self.has_view_permission(request):
            raise PermissionDenied
        content = exports.export_members(queryset=queryset, acting_user=request.user, fmt=fmt)
        return _export_response(content, fmt)

    def export_view(self, request):
        """Every member of the current filter and search (the querystring of the list)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        params = request.GET.copy()
        fmt = params.pop(FORMAT_VAR, ["xlsx"])[-1]
        if fmt not in ("xlsx", "csv"):
            fmt = "xlsx"
        request.GET = params
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            url = reverse("admin:members_member_changelist")
            return redirect(f"{url}?{ERROR_FLAG}=1")
        queryset = changelist.get_queryset(request)
        return self._export(request, queryset, fmt)

    # Import --------------------------------------------------------------------------

    def import_template_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return download(template.template_xlsx(), "member-import-template.xlsx", XLSX)

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = MemberImportForm(request.POST or None, request.FILES or None, user=request.user)
        job = start_upload(request, form, actions.start_member_import)
        if job is not None:
            return redirect(reverse("admin:members_importjob_change", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import members from a spreadsheet"),
            "form": form,
            "has_unions": form.fields["organization"].queryset.exists(),
            "columns": columns.COLUMNS,
        }
        return TemplateResponse(request, "admin/members/importjob/upload.html", context)


@admin.register(ImportJob)
class ImportJobAdmin(ImportJobAdminMixin, scope.ScopedAdminMixin, admin.ModelAdmin):
    """Member import jobs (payroll imports have their own pages)."""

    scope_view_access = scope.Access.PERSONAL
    change_list_template = "admin/members/importjob/change_list.html"
    change_form_template = "admin/members/importjob/change_form.html"

    def get_queryset(self, request):
        return super().get_queryset(request).filter(kind=ImportKind.MEMBERS)

    def job_or_404(self, request, pk) -> ImportJob:
        if not self.has_view_permission(request):
            raise Http404(_("Not found."))
        return scope.get_object_or_404(
            request.user,
            self.get_queryset(request).select_related("organization", "created_by"),
            scope.Access.PERSONAL,
            pk=pk,
        )

    def may_decide(self, request, job) -> bool:
        user = request.user
        return user.has_perm("members.add_member") and keeps_member_records(user, job.organization)

    def confirm_view(self, request, pk):
        self.job_or_404(request, pk)
        if request.method == "POST" and not request.user.has_perm("members.add_member"):
            raise PermissionDenied
        return super().confirm_view(request, pk)

    def confirm_job(self, request, job):
        actions.confirm_member_import(job=job, acting_user=request.user)

    def cancel_job(self, request, job):
        actions.cancel_member_import(job=job, acting_user=request.user)
