"""Admin: dues records (会费), monthly generation, the payroll import and the dues split.

Dues records are personal data: only officers with personal-data access to the union
(its administrators and staff) see them. Records are not edited through the generic form;
payments and generation go through `members.actions.dues`, the payroll import through
`members.actions.payroll`. Wage bases show only to users holding `members.change_wage_base`.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core import spreadsheets
from core.admin import ActionFormAdminMixin, error_text
from core.forms import add_action_errors
from organizations import scope

from ..actions import dues as actions
from ..actions import payroll
from ..forms.dues import (
    DuesSplitForm,
    FullPaymentForm,
    GenerateDuesForm,
    PaymentForm,
    PayrollUploadForm,
)
from ..models import DuesRecord, ImportJob, ImportKind, ImportStatus
from ..selectors import dues as selectors
from ..selectors import member_record_unions

RUNNING_STATUSES = {ImportStatus.UPLOADED, ImportStatus.VALIDATING, ImportStatus.IMPORTING}


class PeriodListFilter(admin.SimpleListFilter):
    title = gettext_lazy("month")
    parameter_name = "period"

    def lookups(self, request, model_admin):
        months = model_admin.get_queryset(request).dates("period", "month", order="DESC")[:36]
        return [(m.strftime("%Y-%m"), m.strftime("%Y-%m")) for m in months]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            return queryset.filter(period=selectors.parse_month(self.value()))
        except ValidationError:
            return queryset.none()


class ArrearsListFilter(admin.SimpleListFilter):
    title = gettext_lazy("in arrears")
    parameter_name = "arrears"

    def lookups(self, request, model_admin):
        return [("yes", gettext_lazy("Yes")), ("no", gettext_lazy("No"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return selectors.arrears(queryset)
        if self.value() == "no":
            return queryset.exclude(selectors.arrears_q())
        return queryset


@admin.register(DuesRecord)
class DuesRecordAdmin(ActionFormAdminMixin, scope.RecordAdminMixin, admin.ModelAdmin):
    scope_view_access = scope.Access.PERSONAL
    list_display = (
        "member_display",
        "period_display",
        "amount_due",
        "amount_paid",
        "outstanding_display",
        "paid_on",
        "method",
    )
    list_filter = (PeriodListFilter, "method", ArrearsListFilter)
    search_fields = ("member__membership_number",)
    search_help_text = gettext_lazy("Search by membership number.")
    list_select_related = ("member",)
    list_per_page = 100
    show_full_result_count = False
    actions = ["record_full_payment"]
    change_form_template = "admin/members/duesrecord/change_form.html"

    @admin.display(description=gettext_lazy("member"), ordering="member__membership_number")
    def member_display(self, obj):
        return f"{obj.member.masked_name} ({obj.member.membership_number})"

    @admin.display(description=gettext_lazy("month"), ordering="period")
    def period_display(self, obj):
        return obj.period.strftime("%Y-%m")

    @admin.display(description=gettext_lazy("outstanding (yuan)"))
    def outstanding_display(self, obj):
        return obj.outstanding

    # Read-only records, and outside the scope nothing exists -------------------------

    def _can_see_wages(self, request) -> bool:
        return request.user.has_perm("members.change_wage_base")

    def get_fields(self, request, obj=None):
        fields = ["member_display", "organization", "period_display"]
        if self._can_see_wages(request):
            fields.append("wage_base")
        return [
            *fields,
            "amount_due",
            "amount_paid",
            "outstanding_display",
            "paid_on",
            "method",
            "recorded_by",
            "created_at",
            "updated_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def has_add_permission(self, request):
        return False  # records come from the monthly generation and the payroll import

    def has_delete_permission(self, request, obj=None):
        return False  # money records are kept

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_generate": self._dues_unions(request).exists()
            and self.has_change_permission(request),
            "can_import": self._can_import(request),
        }
        return super().changelist_view(request, extra_context)

    def record_context(self, request, obj):
        # Payments go through the payment page.
        return {"can_pay": obj.outstanding > 0 and self.has_change_permission(request, obj)}

    # Payments ------------------------------------------------------------------------

    @admin.action(
        description=gettext_lazy("Record full payment of the selected dues"),
        permissions=["change"],
    )
    def record_full_payment(self, request, queryset):
        form = FullPaymentForm(request.POST if "apply" in request.POST else None)
        records = queryset.select_related("member", "organization")
        if form.is_bound and form.is_valid():
            paid, skipped = 0, 0
            today = timezone.localdate()
            for record in records:
                if record.outstanding <= 0:
                    skipped += 1
                    continue
                try:
                    if not self.has_change_permission(request, record):
                        raise PermissionDenied
                    actions.record_payment(
                        record=record,
                        amount=record.outstanding,
                        paid_on=today,
                        method=form.cleaned_data["method"],
                        acting_user=request.user,
                    )
                except (PermissionDenied, ValidationError) as error:
                    self.message_user(
                        request,
                        f"{self.member_display(record)} {self.period_display(record)}: "
                        f"{error_text(error)}",
                        messages.ERROR,
                    )
                else:
                    paid += 1
            if paid:
                self.message_user(
                    request,
                    _("%(count)d dues record(s) recorded as paid in full.") % {"count": paid},
                    messages.SUCCESS,
                )
            if skipped:
                self.message_user(
                    request,
                    _("%(count)d record(s) were already paid and left unchanged.")
                    % {"count": skipped},
                    messages.INFO,
                )
            return None
        return self.action_form_page(
            request,
            form,
            title=_("Record full payment"),
            submit_label=_("Record as paid"),
            cancel_url=reverse("admin:members_duesrecord_changelist"),
            breadcrumbs=self._breadcrumbs(),
            intro=[
                _(
                    "The outstanding amount of each selected record is recorded as paid today "
                    "with the method you choose. Records already paid are left unchanged."
                )
            ],
            selected=(
                [_("Member"), _("Month"), _("Outstanding (yuan)")],
                [
                    (
                        f"{r.member.masked_name} ({r.member.membership_number})",
                        r.period.strftime("%Y-%m"),
                        r.outstanding,
                    )
                    for r in records
                ],
            ),
            bulk_action="record_full_payment",
            selected_pks=[r.pk for r in records],
        )

    def _breadcrumbs(self, record=None) -> list[tuple[str, str]]:
        """Home › the app › dues records [› the record], as on the other dues pages."""
        opts = self.model._meta
        crumbs = [
            (reverse("admin:app_list", args=[opts.app_label]), opts.app_config.verbose_name),
            (reverse("admin:members_duesrecord_changelist"), capfirst(opts.verbose_name_plural)),
        ]
        if record is not None:
            label = f"{self.member_display(record)} {self.period_display(record)}"
            crumbs.append((reverse("admin:members_duesrecord_change", args=[record.pk]), label))
        return crumbs

    def pay_view(self, request, pk):
        record = scope.get_object_or_404(
            request.user,
            DuesRecord.objects.select_related("member", "organization"),
            scope.Access.PERSONAL,
            pk=pk,
        )
        if not self.has_change_permission(request, record):
            raise PermissionDenied

        def do(cleaned):
            actions.record_payment(record=record, acting_user=request.user, **cleaned)
            return _("The payment was recorded.")

        return self.action_form_view(
            request,
            PaymentForm(
                request.POST if request.method == "POST" else None,
                initial={"amount": record.outstanding, "method": "cash"},
            ),
            do,
            back=reverse("admin:members_duesrecord_change", args=[record.pk]),
            refusal=None,
            title=_("Record a payment"),
            submit_label=_("Record the payment"),
            original=record,
            breadcrumbs=self._breadcrumbs(record),
            summary=[
                (_("Member"), self.member_display(record)),
                (_("Month"), self.period_display(record)),
                (_("Amount due (yuan)"), record.amount_due),
                (_("Amount paid (yuan)"), record.amount_paid),
                (_("Outstanding (yuan)"), record.outstanding),
            ],
        )

    # Tools: generation, payroll import, split -----------------------------------------

    def get_urls(self):
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("generate/", wrap(self.generate_view), name=f"{name}_generate"),
            path("payroll/", wrap(self.payroll_upload_view), name=f"{name}_payroll"),
            path(
                "payroll/template/",
                wrap(self.payroll_template_view),
                name=f"{name}_payroll_template",
            ),
            path("payroll/<int:job_id>/", wrap(self.payroll_job_view), name=f"{name}_payroll_job"),
            path(
                "payroll/<int:job_id>/confirm/",
                wrap(require_POST(self.payroll_confirm_view)),
                name=f"{name}_payroll_confirm",
            ),
            path("split/", wrap(self.split_view), name=f"{name}_split"),
            path("<int:pk>/pay/", wrap(self.pay_view), name=f"{name}_pay"),
            *super().get_urls(),
        ]

    def _page(self, request, template, title, **context):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            **context,
        }
        return TemplateResponse(request, template, context)

    def _dues_unions(self, request):
        return member_record_unions(request.user)

    def _can_import(self, request) -> bool:
        return (
            request.user.has_perm("members.change_wage_base")
            and self._dues_unions(request).exists()
        )

    def generate_view(self, request):
        unions = self._dues_unions(request)
        if not (self.has_change_permission(request) and unions.exists()):
            raise PermissionDenied
        changelist = reverse("admin:members_duesrecord_changelist")

        def do(cleaned):
            created = actions.generate_monthly_dues(
                organization=cleaned["organization"],
                period=cleaned["period"],
                acting_user=request.user,
            )
            month = cleaned["period"].strftime("%Y-%m")
            message = _("%(count)d dues record(s) created for %(month)s.") % {
                "count": created,
                "month": month,
            }
            return message, f"{changelist}?period={month}"

        return self.action_form_view(
            request,
            GenerateDuesForm(request.POST if request.method == "POST" else None, unions=unions),
            do,
            back=changelist,
            title=_("Generate monthly dues"),
            submit_label=_("Generate"),
            breadcrumbs=self._breadcrumbs(),
            intro=[
                _(
                    "Creates the month's dues record of every active member with a wage base "
                    "who has none yet. Running it again for the same month creates nothing "
                    "twice. Members without a wage base are skipped: set it on the member, or "
                    "import the payroll."
                )
            ],
        )

    def payroll_upload_view(self, request):
        if not self._can_import(request):
            raise PermissionDenied
        unions = self._dues_unions(request)
        form = PayrollUploadForm(
            request.POST if request.method == "POST" else None,
            request.FILES if request.method == "POST" else None,
            unions=unions,
        )
        if form.is_bound and form.is_valid():
            try:
                job = payroll.create_payroll_job(
                    organization=form.cleaned_data["organization"],
                    period=form.cleaned_data["period"],
                    file=form.cleaned_data["file"],
                    acting_user=request.user,
                )
            except ValidationError as error:
                add_action_errors(form, error)
            except PermissionDenied as error:
                form.add_error(None, error_text(error))
            else:
                return HttpResponseRedirect(
                    reverse("admin:members_duesrecord_payroll_job", args=[job.pk])
                )
        return self._page(
            request,
            "admin/members/duesrecord/payroll_upload.html",
            _("Payroll import"),
            form=form,
            headers=payroll.PAYROLL_HEADERS,
        )

    def payroll_template_view(self, request):
        if not self.has_view_or_change_permission(request):
            raise Http404(_("Not found."))
        content = spreadsheets.write_xlsx(
            payroll.PAYROLL_HEADERS, [payroll.PAYROLL_EXAMPLE_ROW], sheet_title="payroll"
        )
        response = HttpResponse(
            content,
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = 'attachment; filename="payroll-template.xlsx"'
        return response

    def _payroll_job(self, request, job_id) -> ImportJob:
        if not request.user.has_perm("members.change_wage_base"):
            raise Http404(_("Not found."))
        return scope.get_object_or_404(
            request.user,
            ImportJob.objects.filter(kind=ImportKind.PAYROLL).select_related(
                "organization", "created_by"
            ),
            scope.Access.PERSONAL,
            pk=job_id,
        )

    def payroll_job_view(self, request, job_id):
        job = self._payroll_job(request, job_id)
        errors = Paginator(job.errors or [], 200).get_page(request.GET.get("page"))
        period = job.result.get("period", "")
        return self._page(
            request,
            "admin/members/duesrecord/payroll_job.html",
            _("Payroll import"),
            job=job,
            period=period[:7],
            running=job.status in RUNNING_STATUSES,
            errors=errors,
            error_count=job.result.get("error_count", len(job.errors or [])),
            can_confirm=job.status == ImportStatus.VALIDATED and not job.errors,
        )

    def payroll_confirm_view(self, request, job_id):
        job = self._payroll_job(request, job_id)
        try:
            payroll.confirm_payroll_file(job=job, acting_user=request.user)
        except (PermissionDenied, ValidationError) as error:
            self.message_user(request, error_text(error), messages.ERROR)
        return HttpResponseRedirect(reverse("admin:members_duesrecord_payroll_job", args=[job.pk]))

    def split_view(self, request):
        if not self.has_view_or_change_permission(request):
            raise Http404(_("Not found."))
        unions = selectors.summary_unions(request.user)
        form = DuesSplitForm(request.GET if "organization" in request.GET else None, unions=unions)
        parts, summary = None, None
        if form.is_bound and form.is_valid():
            org, period = form.cleaned_data["organization"], form.cleaned_data["period"]
            try:
                parts = selectors.dues_split(organization=org, period=period)
            except ValidationError as error:
                add_action_errors(form, error)
            else:
                rows = selectors.period_summary(
                    organizations_qs=unions.filter(pk=org.pk), period=period
                )
                summary = rows[0] if rows else None
        return self._page(
            request,
            "admin/members/duesrecord/split.html",
            _("Dues split summary"),
            form=form,
            parts=parts,
            summary=summary,
            collected=sum((p["amount"] for p in parts), selectors.ZERO) if parts else None,
        )
