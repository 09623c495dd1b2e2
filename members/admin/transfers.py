"""Admin: transfers between unions, seen by both unions while open and afterwards.

Rows are scoped with personal-data access over both the sending and the receiving union
(the model's tuple `tenant_path`), so higher-level officers and sibling unions see nothing.
A transfer is never edited as a form: the release, accept, refuse and cancel buttons call
`members.actions.transfers`, and are shown only to whoever may press them. The "add" page
starts a transfer from either side; the receiving union may name any union's member only
by ID number and exact name.
"""

from functools import partial

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin import ActionFormAdminMixin
from core.forms import add_action_errors
from organizations import scope

from ..actions import transfers as actions
from ..forms.transfers import RefuseForm, RetainForm, TransferStartForm
from ..models import Member, Transfer, TransferSide
from ..selectors import member_record_unions

FIELDS = (
    "member_display",
    "from_organization",
    "to_organization",
    "status",
    "initiated_by_side",
    "initiated_by",
    "created_at",
    "reason",
    "new_employer",
    "released_at",
    "released_by",
    "accepted_at",
    "accepted_by",
    "refused_by_side",
    "refusal_reason",
    "expires_at",
    "closed_at",
)


@admin.register(Transfer)
class TransferAdmin(ActionFormAdminMixin, scope.ScopedAdminMixin, admin.ModelAdmin):
    scope_view_access = scope.Access.PERSONAL
    list_display = (
        "member_display",
        "from_organization",
        "to_organization",
        "status",
        "initiated_by_side",
        "is_released",
        "is_accepted",
        "expires_at",
    )
    list_filter = ("status", "initiated_by_side")
    search_fields = ("member__membership_number",)
    search_help_text = gettext_lazy("Search by membership number.")
    list_select_related = ("member", "from_organization", "to_organization")
    list_per_page = 50
    fields = FIELDS
    readonly_fields = FIELDS
    change_form_template = "admin/members/transfer/change_form.html"

    # Display -------------------------------------------------------------------------

    @admin.display(description=gettext_lazy("member"), ordering="member__membership_number")
    def member_display(self, obj):
        # Masked: the receiving union sees the person before they are its member.
        return f"{obj.member.masked_name} ({obj.member.membership_number})"

    @admin.display(description=gettext_lazy("released"), boolean=True)
    def is_released(self, obj):
        return obj.released_at is not None

    @admin.display(description=gettext_lazy("accepted"), boolean=True)
    def is_accepted(self, obj):
        return obj.accepted_at is not None

    # Permissions: transfers change only through the actions ----------------------------

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return super().has_add_permission(request) and member_record_unions(request.user).exists()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        steps = actions.available_steps(transfer=obj, user=request.user) if obj else set()
        extra_context = {**(extra_context or {}), "transfer_steps": steps}
        return super().change_view(request, object_id, form_url, extra_context)

    # Starting a transfer ---------------------------------------------------------------

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        # ?member=<id> preselects a member (link from the member's page).
        initial = {"member": request.GET.get("member")} if request.GET.get("member") else {}
        form = TransferStartForm(
            request.POST or None, user=request.user, admin_site=self.admin_site, initial=initial
        )
        if request.method == "POST" and form.is_valid():
            mode = form.cleaned_data["mode"]
            try:
                transfer = actions.request_transfer(
                    member=form.transfer_member,
                    to_organization=form.cleaned_data["to_organization"],
                    side=mode,
                    acting_user=request.user,
                    reason=form.cleaned_data["reason"],
                    new_employer=form.cleaned_data["new_employer"],
                )
            except PermissionDenied as error:
                form.add_error(None, str(error))
            except ValidationError as error:
                target = "target" if mode == TransferSide.SENDING else "own_union"
                add_action_errors(
                    form, error, field_map={"to_organization": target, "side": "mode"}
                )
            else:
                messages.success(request, _("The transfer was started."))
                return redirect(reverse("admin:members_transfer_change", args=[transfer.pk]))
        return self._page(
            request,
            "admin/members/transfer/start_form.html",
            title=_("Start a membership transfer"),
            form=form,
            media=self.media + form.media,
        )

    # Steps on a transfer -----------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        name = "members_transfer"
        return [
            path("<int:pk>/release/", wrap(self.release_view), name=f"{name}_release"),
            path("<int:pk>/accept/", wrap(self.accept_view), name=f"{name}_accept"),
            path("<int:pk>/refuse/", wrap(self.refuse_view), name=f"{name}_refuse"),
            path("<int:pk>/cancel/", wrap(self.cancel_view), name=f"{name}_cancel"),
            path("retain/<int:member_pk>/", wrap(self.retain_view), name=f"{name}_retain"),
            *super().get_urls(),
        ]

    def _page(self, request, template, **context):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            **context,
        }
        return TemplateResponse(request, template, context)

    def _transfer_or_404(self, request, pk) -> Transfer:
        if not self.has_view_permission(request):
            raise Http404(_("Not found."))
        return scope.get_object_or_404(
            request.user,
            Transfer.objects.select_related("member", "from_organization", "to_organization"),
            scope.Access.PERSONAL,
            pk=pk,
        )

    def _back_url(self, transfer):
        return reverse("admin:members_transfer_change", args=[transfer.pk])

    def _back(self, transfer):
        return redirect(self._back_url(transfer))

    def _step(self, request, pk, action, done_message):
        transfer = self._transfer_or_404(request, pk)
        if request.method != "POST":
            return self._back(transfer)
        try:
            action(transfer=transfer, acting_user=request.user)
        except PermissionDenied as error:
            messages.error(request, str(error) or _("You may not do this."))
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(request, done_message)
        return self._back(transfer)

    def release_view(self, request, pk):
        return self._step(request, pk, actions.release_transfer, _("The member was released."))

    def accept_view(self, request, pk):
        return self._step(request, pk, actions.accept_transfer, _("The member was accepted."))

    def cancel_view(self, request, pk):
        return self._step(request, pk, actions.cancel_transfer, _("The transfer was cancelled."))

    def refuse_view(self, request, pk):
        transfer = self._transfer_or_404(request, pk)
        steps = actions.available_steps(transfer=transfer, user=request.user)
        sides = [
            side
            for side, step in (
                (TransferSide.SENDING, "refuse_sending"),
                (TransferSide.RECEIVING, "refuse_receiving"),
            )
            if step in steps
        ]

        def do(cleaned):
            actions.refuse_transfer(
                transfer=transfer,
                side=cleaned["side"],
                acting_user=request.user,
                reason=cleaned["reason"],
            )
            return _("The transfer was refused.")

        return self.action_form_view(
            request,
            RefuseForm(request.POST or None, sides=sides),
            do,
            back=self._back_url(transfer),
            title=_("Refuse the transfer"),
            submit_label=_("Refuse"),
            original=transfer,
            # Not str(transfer): it names the member, whom the receiving union sees masked.
            original_label=f"{transfer.from_organization} → {transfer.to_organization}",
        )

    # Retained membership (保留会籍) -----------------------------------------------------

    def retain_view(self, request, member_pk):
        if not request.user.has_perm("members.change_member"):
            raise Http404(_("Not found."))
        member = scope.get_object_or_404(
            request.user,
            Member.objects.filter(deleted_at__isnull=True).select_related("organization"),
            scope.Access.PERSONAL,
            pk=member_pk,
        )

        def do(cleaned):
            actions.retain_membership(
                member=member,
                at_organization=cleaned["keeper"],
                acting_user=request.user,
                reason=cleaned["reason"],
            )
            return _("The membership is now retained."), reverse("admin:members_member_changelist")

        member_url = reverse("admin:members_member_change", args=[member.pk])
        return self.action_form_view(
            request,
            RetainForm(request.POST or None),
            do,
            back=member_url,
            show_errors=partial(add_action_errors, field_map={"at_organization": "keeper"}),
            title=_("Retain the membership of %(member)s")
            % {"member": f"{member.name} ({member.membership_number})"},
            submit_label=_("Retain the membership"),
            breadcrumbs=[(member_url, member.membership_number)],
        )
