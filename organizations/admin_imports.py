"""Admin: importing and exporting unions by spreadsheet.

The union list gets an upload page (`import/`), the template download (`import/template/`)
and, on each union, an export of its subtree in the same template (`<id>/export/`). An
upload becomes a `UnionImport`, shown on its own page with progress, the row report and the
confirm and cancel buttons; every step calls `actions.import_jobs`.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.validators import FileExtensionValidator
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin_imports import ImportJobAdminMixin, download, start_upload

from . import scope, selectors
from .actions import import_jobs
from .importing import columns, export, template
from .models import UnionImport


class UnionImportForm(forms.Form):
    organization = forms.ModelChoiceField(
        label=gettext_lazy("Import under"),
        queryset=None,
        help_text=gettext_lazy(
            "The union the file's unions go under; a row may name any union of its subtree "
            "as its parent."
        ),
    )
    file = forms.FileField(
        label=gettext_lazy("Spreadsheet"),
        validators=[FileExtensionValidator(["xlsx", "csv"])],
        help_text=gettext_lazy(
            "An .xlsx or .csv file laid out like the template (CSV in UTF-8 or GB18030)."
        ),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        roots = selectors.import_roots(user).order_by("tree_id", "lft")
        self.fields["organization"].queryset = roots
        only = list(roots[:2])
        if len(only) == 1:
            self.fields["organization"].initial = only[0].pk
            self.fields["organization"].empty_label = None

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > import_jobs.MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 50 MB; split it."))
        return upload


class UnionSpreadsheetAdminMixin:
    """Adds the import pages and the subtree export to the union admin."""

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_view), name="organizations_organization_import"),
            path(
                "import/template/",
                wrap(self.import_template_view),
                name="organizations_organization_import_template",
            ),
            path(
                "<int:pk>/export/",
                wrap(self.export_view),
                name="organizations_organization_export",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "may_import": selectors.import_roots(request.user).exists(),
        }
        return super().changelist_view(request, extra_context)

    def import_template_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return download(template.template_xlsx(), "union-import-template.xlsx")

    def export_view(self, request, pk):
        root = self.object_or_404(request, str(pk))
        content = export.export_subtree(root=root, acting_user=request.user)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        return download(content, f"unions-{root.pk}-{stamp}.xlsx")

    def import_view(self, request):
        form = UnionImportForm(request.POST or None, request.FILES or None, user=request.user)
        if not form.fields["organization"].queryset.exists():
            raise PermissionDenied
        job = start_upload(request, form, import_jobs.start_union_import)
        if job is not None:
            return redirect(reverse("admin:organizations_unionimport_change", args=[job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import unions from a spreadsheet"),
            "form": form,
            "columns": columns.COLUMNS,
            "officer_headers": columns.OFFICER_HEADERS,
        }
        return TemplateResponse(request, "admin/organizations/unionimport/upload.html", context)


@admin.register(UnionImport)
class UnionImportAdmin(ImportJobAdminMixin, scope.ScopedAdminMixin, admin.ModelAdmin):
    change_form_template = "admin/organizations/unionimport/change_form.html"

    def job_or_404(self, request, pk) -> UnionImport:
        if not self.has_view_permission(request):
            raise Http404(_("Not found."))
        return self.object_or_404(request, str(pk))

    def may_decide(self, request, job) -> bool:
        return import_jobs.may_import_under(request.user, job.organization)

    def confirm_job(self, request, job):
        import_jobs.confirm_union_import(job=job, acting_user=request.user)

    def cancel_job(self, request, job):
        import_jobs.cancel_union_import(job=job, acting_user=request.user)
