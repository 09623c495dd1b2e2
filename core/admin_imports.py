"""The admin pages of a spreadsheet import job (`core.models.ImportJobBase`), shared by the
member and union imports: the list with progress, and the job's page (state, progress bar,
counts, row report, confirm and cancel) that refreshes itself while the job runs, with the
report as a workbook. A concrete admin names its actions and may-decide rule; the upload
page is the app's own (its form differs).
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import imports
from .admin import ReadOnlyAdminMixin
from .forms import add_action_errors
from .models import ImportStatus

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ERRORS_SHOWN = 1000


def download(content: bytes, filename: str, content_type: str = XLSX) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # Personal data: no copy in shared caches or the browser's cache.
    response["Cache-Control"] = "no-store"
    return response


def start_upload(request, form, start):
    """On a valid post of an upload form, `start(organization=, uploaded_file=,
    acting_user=)` the job and say so; returns the job, or None with the refusal on the form."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        job = start(
            organization=form.cleaned_data["organization"],
            uploaded_file=form.cleaned_data["file"],
            acting_user=request.user,
        )
    except PermissionDenied as error:
        form.add_error(None, str(error) or _("This is outside your area of responsibility."))
    except ValidationError as error:
        add_action_errors(form, error)
    else:
        messages.success(
            request, _("The file was uploaded and is being checked. Nothing is imported yet.")
        )
        return job
    return None


class ImportJobAdminMixin(ReadOnlyAdminMixin):
    """Read-only job list and page; subclasses set `change_form_template` and implement
    `job_or_404(request, pk)`, `may_decide(request, job)`, `confirm_job(request, job)` and
    `cancel_job(request, job)` (which call the app's actions)."""

    list_display = (
        "original_name",
        "organization",
        "status",
        "progress_display",
        "total_rows",
        "created_by",
        "created_at",
    )
    list_filter = ("status",)
    list_select_related = ("organization", "created_by")
    list_per_page = 50

    @admin.display(description=gettext_lazy("progress"))
    def progress_display(self, obj):
        return format_html("{} %", min(obj.progress_percent, 100))

    def _url_name(self, view: str) -> str:
        opts = self.model._meta
        return f"{opts.app_label}_{opts.model_name}_{view}"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/confirm/", wrap(self.confirm_view), name=self._url_name("confirm")),
            path("<int:pk>/cancel/", wrap(self.cancel_view), name=self._url_name("cancel")),
            path("<int:pk>/errors/", wrap(self.errors_view), name=self._url_name("errors")),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.job_or_404(request, object_id)
        may_decide = self.may_decide(request, job)
        errors = job.errors or []
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": job.original_name,
            "job": job,
            "result": job.result or {},
            "errors": errors[:ERRORS_SHOWN],
            "errors_total": len(errors),
            "errors_truncated": len(errors) > ERRORS_SHOWN,
            "with_sheets": any(e.get("sheet") for e in errors),
            "refresh": job.status
            in (ImportStatus.UPLOADED, ImportStatus.VALIDATING, ImportStatus.IMPORTING),
            "progress": min(job.progress_percent, 100),
            "can_confirm": may_decide and job.status == ImportStatus.VALIDATED,
            "can_cancel": may_decide and job.status in imports.ACTIVE_STATUSES,
            "is_done": job.status == ImportStatus.DONE,
            "confirm_url": reverse(f"admin:{self._url_name('confirm')}", args=[job.pk]),
            "cancel_url": reverse(f"admin:{self._url_name('cancel')}", args=[job.pk]),
            "errors_url": reverse(f"admin:{self._url_name('errors')}", args=[job.pk]),
            **(extra_context or {}),
        }
        return TemplateResponse(request, self.change_form_template, context)

    def _decide(self, request, pk, action, success):
        job = self.job_or_404(request, pk)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            action(request, job)
        except (PermissionDenied, ValidationError) as error:
            messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        else:
            messages.success(request, success)
        return redirect(reverse(f"admin:{self._url_name('change')}", args=[job.pk]))

    def confirm_view(self, request, pk):
        return self._decide(
            request,
            pk,
            self.confirm_job,
            _("The import has started; this page shows its progress."),
        )

    def cancel_view(self, request, pk):
        return self._decide(
            request, pk, self.cancel_job, _("The import was cancelled and its file deleted.")
        )

    def errors_view(self, request, pk):
        job = self.job_or_404(request, pk)
        return download(imports.errors_xlsx(job.errors), f"import-{job.pk}-errors.xlsx")
