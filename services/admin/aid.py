"""Admin: hardship aid cases, for hardship aid officers only.

Rows are scoped with `Access.AID` and the model permissions are given to the aid role
alone, so union admins, staff and viewers neither see the list nor reach a case (404).
A case is never edited as a form: the step forms on its page call `services.actions.aid`
and are shown only to whoever may use them. Other officers read the figures page
("Hardship aid figures"), which shows counts with small numbers suppressed.
"""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin import ActionFormAdminMixin
from core.audit import record_read
from members.models import Member
from organizations import scope
from organizations.models import Organization

from ..actions import aid as actions
from ..forms.aid import (
    ApproveForm,
    DisburseForm,
    NoticeForm,
    OpenCaseForm,
    ResolveForm,
    ReviewForm,
    VisitForm,
    YearlyReviewForm,
)
from ..models import AidCase
from ..selectors.aid import aid_counts

FIELDS = (
    "member_display",
    "organization",
    "approver",
    "year",
    "status",
    "tier",
    "reason",
    "household_size",
    "household_monthly_income",
    "situation",
    "amount_requested",
    "amount_approved",
    "applied_by_member",
    "notice_starts_on",
    "notice_ends_on",
    "next_review_on",
    "created_by",
    "created_at",
)

STEP_FORMS = {
    "review": (ReviewForm, gettext_lazy("Review the application")),
    "visit": (VisitForm, gettext_lazy("Record the home visit")),
    "approve": (ApproveForm, gettext_lazy("Approve or reject")),
    "notice": (NoticeForm, gettext_lazy("Start the public notice")),
    "resolve": (ResolveForm, gettext_lazy("Decide on an objection")),
    "disburse": (DisburseForm, gettext_lazy("Record the payment")),
    "yearly_review": (YearlyReviewForm, gettext_lazy("Yearly review")),
}


@admin.register(AidCase)
class AidCaseAdmin(ActionFormAdminMixin, scope.RecordAdminMixin, admin.ModelAdmin):
    scope_view_access = scope.Access.AID
    scope_change_access = scope.Access.AID
    list_display = (
        "year",
        "member_display",
        "organization",
        "tier",
        "status",
        "amount_requested",
        "amount_approved",
        "notice_ends_on",
        "next_review_on",
    )
    list_filter = ("status", "tier", "year", "reason")
    search_fields = ("member__membership_number",)
    search_help_text = gettext_lazy("Search by membership number.")
    list_select_related = ("member", "organization")
    list_per_page = 50
    fields = FIELDS
    readonly_fields = FIELDS
    change_form_template = "admin/services/aidcase/change_form.html"
    change_list_template = "admin/services/aidcase/change_list.html"

    @admin.display(description=gettext_lazy("member"), ordering="member__membership_number")
    def member_display(self, obj):
        return f"{obj.member.name} ({obj.member.membership_number})"

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # The record page -------------------------------------------------------------------

    def record_context(self, request, obj) -> dict:
        # Every look at a case (household, income, documents) is in the audit log.
        record_read(
            actor=request.user, action="aid_case.viewed", obj=obj, organization=obj.organization
        )
        steps = actions.available_steps(case=obj, user=request.user)
        return {
            "aid_steps": obj.steps.select_related("actor"),
            "aid_objections": obj.objections.order_by("created_at"),
            "aid_forms": [
                (name, STEP_FORMS[name][1], self._form(name, obj))
                for name in STEP_FORMS
                if name in steps
            ],
        }

    def _form(self, name, case, data=None):
        form_class = STEP_FORMS[name][0]
        if form_class is ResolveForm:
            return form_class(data, objections=case.objections.filter(resolved_at__isnull=True))
        if form_class is ApproveForm:
            return form_class(data, initial={"tier": case.tier, "amount": case.amount_requested})
        return form_class(data)

    # URLs --------------------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("figures/", wrap(self.figures_view), name="services_aidcase_figures"),
            path(
                "<int:pk>/step/<str:step>/",
                wrap(self.step_view),
                name="services_aidcase_step",
            ),
            *super().get_urls(),
        ]

    def _page(self, request, template, **context):
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, **context}
        return TemplateResponse(request, template, context)

    def _back_url(self, case):
        return reverse("admin:services_aidcase_change", args=[case.pk])

    def _back(self, case):
        return redirect(self._back_url(case))

    # Opening a case for a member -------------------------------------------------------

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise Http404(_("Not found."))

        def do(cleaned):
            data = dict(cleaned)
            number = data.pop("membership_number").strip()
            member = (
                scope.filter_queryset(
                    request.user,
                    Member.objects.filter(deleted_at__isnull=True),
                    scope.Access.AID,
                )
                .select_related("organization")
                .filter(membership_number=number)
                .first()
            )
            if member is None:
                raise ValidationError(
                    {"membership_number": _("No member of a union in your area has this number.")}
                )
            case = actions.open_aid_case(member=member, data=data, acting_user=request.user)
            return _("The case was opened."), self._back_url(case)

        return self.action_form_view(
            request,
            OpenCaseForm(request.POST or None),
            do,
            back=reverse("admin:services_aidcase_changelist"),
            title=_("Open a hardship aid case"),
            submit_label=_("Open the case"),
        )

    # Steps -------------------------------------------------------------------------------

    def step_view(self, request, pk, step):
        if step not in STEP_FORMS or not self.has_view_permission(request):
            raise Http404(_("Not found."))
        case = scope.get_object_or_404(
            request.user,
            AidCase.objects.select_related("member", "organization", "approver"),
            scope.Access.AID,
            pk=pk,
        )
        if request.method != "POST":
            return self._back(case)
        return self.action_form_view(
            request,
            self._form(step, case, request.POST),
            lambda cleaned: self._do(step, case, cleaned, request.user),
            back=self._back_url(case),
            title=STEP_FORMS[step][1],
            submit_label=_("Save"),
            original=case,
            action_url=reverse("admin:services_aidcase_step", args=[case.pk, step]),
        )

    def _do(self, step, case, data, user) -> str:
        """Call the step's action; returns the message for the officer."""
        if step == "review":
            accept = data["decision"] == "accept"
            actions.review_case(case=case, accept=accept, text=data["text"], acting_user=user)
            return _("Accepted for a home visit.") if accept else _("The application was rejected.")
        if step == "visit":
            actions.record_home_visit(case=case, acting_user=user, **data)
            return _("The home visit was recorded.")
        if step == "approve":
            if data["decision"] == "reject":
                actions.reject_case(case=case, text=data["text"], acting_user=user)
                return _("The case was rejected.")
            if data["amount"] is None:
                raise ValidationError({"amount": [_("Give the amount approved.")]})
            actions.approve_case(
                case=case,
                amount=data["amount"],
                tier=data["tier"],
                text=data["text"],
                acting_user=user,
            )
            return _("The case was approved.")
        if step == "notice":
            actions.start_notice(case=case, acting_user=user)
            return _("The public notice has started.")
        if step == "resolve":
            objection = case.objections.filter(pk=data["objection"]).first()
            if objection is None:
                raise ValidationError({"objection": [_("Choose an open objection.")]})
            upheld = data["decision"] == "uphold"
            actions.resolve_objection(
                objection=objection,
                upheld=upheld,
                resolution=data["resolution"],
                acting_user=user,
            )
            return (
                _("The objection was upheld; the case is rejected.")
                if upheld
                else _("The objection was dismissed.")
            )
        if step == "disburse":
            actions.record_disbursement(case=case, acting_user=user, **data)
            return _("The payment was recorded.")
        new = actions.yearly_review(
            case=case,
            continue_aid=data["decision"] == "continue",
            text=data["text"],
            acting_user=user,
        )
        if new.pk != case.pk:
            return _("The case was closed and next year's case opened.")
        return _("The case was closed.")

    # Figures for every officer ---------------------------------------------------------------

    def figures_view(self, request):
        user = request.user
        orgs = scope.organizations(user, scope.Access.VIEW).order_by("tree_id", "lft")
        if request.GET.get("organization"):
            org = scope.get_object_or_404(
                user, Organization.objects.all(), scope.Access.VIEW, pk=request.GET["organization"]
            )
        else:
            top = [g.org_id for g in scope.grants(user)]
            org = (
                Organization.objects.filter(pk__in=top).order_by("depth", "pk").first()
                if top
                else orgs.first()
            )
            if org is None:
                raise Http404(_("Not found."))
        return self._page(
            request,
            "admin/services/aidcase/figures.html",
            title=_("Hardship aid figures"),
            figures=aid_counts(user, org),
            choices=orgs[:500],
        )
