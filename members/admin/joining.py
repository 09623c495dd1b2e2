"""Admin: reviewing online join applications (网上入会审核).

Only officers with personal-data access to the union applied to (its administrators and
staff) see applications. The application itself is read-only; approving, rejecting and
asking for a correction are buttons on its page and bulk actions on the list, each calling
`members.actions.joining`.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from core.admin import ActionFormAdminMixin, error_text
from organizations import scope

from ..actions import joining
from ..models import JoinApplication


class ApproveForm(forms.Form):
    """Nothing to fill in: the page only asks for confirmation."""


APPROVE_NOTE = gettext_lazy(
    "Approving admits the applicant: a member record with a membership number and a portal "
    "account are created, and the applicant is notified."
)


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("Shown to the applicant on their status page."),
    )


class CorrectionForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("What needs correcting"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("Shown to the applicant, who corrects and sends it again."),
    )


PERSON_FIELDS = (
    "name",
    "id_masked",
    "phone_masked",
    "gender",
    "birth_date",
    "ethnicity",
    "education",
    "employer",
    "job",
    "employment_type",
)
APPLICATION_FIELDS = (
    "organization",
    "status",
    "submitted_at",
    "privacy_notice_version",
    "privacy_consent_at",
    "sensitive_consent_at",
)
REVIEW_FIELDS = ("review_note", "reviewed_by", "reviewed_at", "member")


@admin.register(JoinApplication)
class JoinApplicationAdmin(ActionFormAdminMixin, scope.RecordAdminMixin, admin.ModelAdmin):
    scope_view_access = scope.Access.PERSONAL
    # Reviewing is staff work: the union's staff approve and reject, as its admins do.
    scope_change_access = scope.Access.HANDLE
    list_display = (
        "applicant",
        "id_masked",
        "phone_masked",
        "organization",
        "employment_type",
        "status",
        "submitted_at",
    )
    list_filter = ("status", "employment_type")
    search_fields = ("name",)
    list_select_related = ("organization",)
    list_per_page = 50
    actions = ["approve_selected", "reject_selected"]
    change_form_template = "admin/members/joinapplication/change_form.html"
    fieldsets = [
        (gettext_lazy("Application"), {"fields": APPLICATION_FIELDS}),
        (gettext_lazy("Applicant"), {"fields": PERSON_FIELDS}),
        (gettext_lazy("Review"), {"fields": REVIEW_FIELDS}),
    ]
    readonly_fields = APPLICATION_FIELDS + PERSON_FIELDS + REVIEW_FIELDS

    @admin.display(description=pgettext_lazy("person", "name"), ordering="name")
    def applicant(self, obj):
        return obj.masked_name

    # Read-only, and outside the scope nothing exists ----------------------------------

    def has_add_permission(self, request):
        return False  # applications come from the portal

    def has_delete_permission(self, request, obj=None):
        return False  # closed applications are kept as the record of the decision

    def record_context(self, request, obj):
        # Decisions go through the review buttons.
        return {"can_review": obj.is_open and self.has_change_permission(request, obj)}

    # Review buttons -------------------------------------------------------------------

    def get_urls(self):
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/approve/", wrap(self.approve_view), name=f"{name}_approve"),
            path("<int:pk>/reject/", wrap(self.reject_view), name=f"{name}_reject"),
            path("<int:pk>/correction/", wrap(self.correction_view), name=f"{name}_correction"),
            *super().get_urls(),
        ]

    def _reviewable(self, request, pk) -> JoinApplication:
        application = scope.get_object_or_404(
            request.user,
            JoinApplication.objects.select_related("organization"),
            scope.Access.PERSONAL,
            pk=pk,
        )
        if not self.has_change_permission(request, application):
            raise PermissionDenied
        return application

    def _review(self, request, pk, form_class, title, submit, do):
        """One review page: a small form, then the action; errors shown on the form."""
        application = self._reviewable(request, pk)
        return self.action_form_view(
            request,
            form_class(request.POST if request.method == "POST" else None),
            lambda cleaned: do(application, cleaned),
            back=reverse("admin:members_joinapplication_change", args=[application.pk]),
            refusal="back",
            title=title,
            submit_label=submit,
            original=application,
            summary=[
                (_("Applicant"), f"{application.masked_name} ({application.id_masked})"),
                (_("Union applied to"), application.organization),
                (_("Employer"), application.employer),
                (_("Status"), application.get_status_display()),
            ],
            intro=[] if form_class.base_fields else [APPROVE_NOTE],
        )

    def approve_view(self, request, pk):
        def do(application, cleaned):
            member = joining.approve_join_application(
                application=application, acting_user=request.user
            )
            return _("%(name)s was admitted with membership number %(number)s.") % {
                "name": application.masked_name,
                "number": member.membership_number,
            }

        return self._review(
            request, pk, ApproveForm, _("Approve the application"), _("Approve"), do
        )

    def reject_view(self, request, pk):
        def do(application, cleaned):
            joining.reject_join_application(
                application=application, acting_user=request.user, reason=cleaned["reason"]
            )
            return _("The application was rejected.")

        return self._review(request, pk, RejectForm, _("Reject the application"), _("Reject"), do)

    def correction_view(self, request, pk):
        def do(application, cleaned):
            joining.request_correction(
                application=application, acting_user=request.user, note=cleaned["note"]
            )
            return _("The applicant was asked to correct the application.")

        return self._review(
            request,
            pk,
            CorrectionForm,
            _("Ask for a correction"),
            _("Send back for correction"),
            do,
        )

    # Bulk actions ---------------------------------------------------------------------

    def _each(self, request, queryset, do, done_message):
        """Run `do` on each application, reporting every success and failure."""
        for application in queryset.select_related("organization"):
            try:
                if not self.has_change_permission(request, application):
                    raise PermissionDenied
                result = do(application)
            except (PermissionDenied, ValidationError) as error:
                self.message_user(
                    request,
                    f"{application.masked_name}: {error_text(error)}",
                    messages.ERROR,
                )
            else:
                self.message_user(
                    request,
                    f"{application.masked_name}: {done_message(result)}",
                    messages.SUCCESS,
                )

    @admin.action(description=gettext_lazy("Approve selected applications"), permissions=["change"])
    def approve_selected(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda application: joining.approve_join_application(
                application=application, acting_user=request.user
            ),
            lambda member: (
                _("admitted with membership number %(number)s.")
                % {"number": member.membership_number}
            ),
        )

    @admin.action(description=gettext_lazy("Reject selected applications"), permissions=["change"])
    def reject_selected(self, request, queryset):
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            self._each(
                request,
                queryset,
                lambda application: joining.reject_join_application(
                    application=application, acting_user=request.user, reason=reason
                ),
                lambda _result: _("rejected."),
            )
            return None
        applications = queryset.select_related("organization")
        return self.action_form_page(
            request,
            form,
            title=_("Reject the selected applications"),
            submit_label=_("Reject"),
            cancel_url=reverse("admin:members_joinapplication_changelist"),
            intro=[
                _(
                    "These applications will be rejected with the reason you give. The "
                    "applicants see it on their status pages."
                )
            ],
            selected=(
                [_("Applicant"), _("Union applied to"), _("Status")],
                [(a.masked_name, a.organization, a.get_status_display()) for a in applications],
            ),
            bulk_action="reject_selected",
            selected_pks=[a.pk for a in applications],
        )
