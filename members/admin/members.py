"""Admin: the member register of a grassroots union, and each member's history.

Only officers with personal-data access to the member's union (its administrators and
staff) see members at all; higher levels see figures on their dashboards instead. Every
write goes through `members.actions`; full ID numbers and phones are shown only through
the audited reveal view.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _

from core import crypto
from core.admin import ActionFormAdminMixin
from organizations import scope

from .. import validators
from ..actions import records as actions
from ..actions.cards import issue_card
from ..actions.permissions import require_member_admin
from ..forms.dues import WageBaseForm, can_change_wage_base
from ..forms.person import MemberAddForm, MemberChangeForm, RevealForm, StatusChangeForm
from ..models import PERSON_FIELDS, Member, MembershipEvent
from ..selectors.records import existing_member_for
from .spreadsheets import MemberSpreadsheetAdminMixin


class MemberAdminAddForm(MemberAddForm, forms.ModelForm):
    class Meta:
        model = Member
        fields = []

    def clean(self):
        cleaned = super().clean()
        person = getattr(self, "person", None)
        if person and existing_member_for(crypto.id_hash(person["id_number"])):
            self.add_error(
                "id_number", _("This person is already a member; transfer them instead.")
            )
        return cleaned


class MemberAdminChangeForm(MemberChangeForm, forms.ModelForm):
    class Meta:
        model = Member
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, member=kwargs["instance"], **kwargs)

    def clean(self):
        cleaned = super().clean()
        person = getattr(self, "person", None)
        if person:
            other = existing_member_for(crypto.id_hash(person["id_number"]))
            if other is not None and other.pk != self.instance.pk:
                self.add_error("id_number", _("This person is already a member."))
        return cleaned


@admin.register(Member)
class MemberAdmin(
    ActionFormAdminMixin, MemberSpreadsheetAdminMixin, scope.ScopedAdminMixin, admin.ModelAdmin
):
    scope_view_access = scope.Access.PERSONAL
    list_display = (
        "name",
        "membership_number",
        "id_masked",
        "phone_masked",
        "gender",
        "employment_type",
        "status",
        "organization",
        "join_date",
    )
    list_filter = ("status", "employment_type", "gender", "education", "organization")
    search_fields = ("name", "membership_number", "employer")
    list_select_related = ("organization",)
    list_per_page = 50
    show_full_result_count = False  # counting a large union's members on every page costs
    change_form_template = "admin/members/member/change_form.html"

    # Forms ---------------------------------------------------------------------------

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:

            class BoundAddForm(MemberAdminAddForm):
                def __init__(self, *args, **kw):
                    super().__init__(*args, user=request.user, **kw)

            kwargs["form"] = BoundAddForm
        else:
            kwargs["form"] = MemberAdminChangeForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [
                (None, {"fields": ("organization", "join_date")}),
                (_("Person"), {"fields": PERSON_FIELDS}),
            ]
        return [
            (
                _("Membership"),
                {
                    "fields": (
                        "membership_number",
                        "organization",
                        "status",
                        "status_changed_on",
                        "join_date",
                        "card_number",
                    )
                },
            ),
            (_("Person"), {"fields": ("gender", "birth_date", *PERSON_FIELDS)}),
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (
            "membership_number",
            "organization",
            "status",
            "status_changed_on",
            "join_date",
            "card_number",
            "gender",
            "birth_date",
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # The history is shown whole: the member's row itself is in the user's scope.
        events = (
            MembershipEvent.objects.filter(member_id=object_id)
            .select_related("from_organization", "to_organization", "actor")
            .order_by("at", "pk")
        )
        member = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "history": events,
            "can_change_wage": member is not None and can_change_wage_base(request.user, member),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def has_delete_permission(self, request, obj=None):
        return False  # memberships end through a status change; records are kept

    def get_search_results(self, request, queryset, search_term):
        # A full ID number or phone is found through its keyed hash, never by LIKE.
        term = search_term.strip()
        if len(term) == 18:
            try:
                number = validators.validate_id_number(term)
            except ValidationError:
                pass
            else:
                return queryset.filter(id_hash=crypto.id_hash(number)), False
        if len(term) == 11 and term.isdigit():
            return queryset.filter(phone_hash=crypto.phone_hash(term)), False
        return super().get_search_results(request, queryset, search_term)

    # Writes go through members.actions ----------------------------------------------

    def save_form(self, request, form, change):
        if not change:
            return actions.create_member(
                organization=form.cleaned_data["organization"],
                data=form.person,
                acting_user=request.user,
                join_date=form.cleaned_data.get("join_date"),
            )
        return actions.update_member(
            member=form.instance, data=form.person, acting_user=request.user
        )

    def save_model(self, request, obj, form, change):
        pass  # saved by save_form

    def save_related(self, request, form, formsets, change):
        pass  # the history inline is read-only

    # Object tools: status change, reveal, card ---------------------------------------

    def get_urls(self):
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/status/", wrap(self.status_view), name=f"{name}_status"),
            path("<int:pk>/reveal/", wrap(self.reveal_view), name=f"{name}_reveal"),
            path("<int:pk>/card/", wrap(self.card_view), name=f"{name}_card"),
            path("<int:pk>/wage/", wrap(self.wage_view), name=f"{name}_wage"),
            *super().get_urls(),
        ]

    def _member_or_404(self, request, pk, access=scope.Access.PERSONAL):
        return scope.get_object_or_404(
            request.user, Member.objects.select_related("organization"), access, pk=pk
        )

    def _action_page(self, request, member, form, title, submit):
        return self.action_form_page(
            request,
            form,
            title=title,
            submit_label=submit,
            cancel_url=self._back_url(member),
            original=member,
        )

    def _back_url(self, member):
        return reverse("admin:members_member_change", args=[member.pk])

    def _back(self, member):
        return redirect(self._back_url(member))

    def status_view(self, request, pk):
        member = self._member_or_404(request, pk)

        def do(cleaned):
            actions.change_status(
                member=member,
                status=cleaned["status"],
                reason=cleaned["reason"],
                effective_on=cleaned["effective_on"],
                acting_user=request.user,
            )
            return _("The membership status was changed.")

        return self.action_form_view(
            request,
            StatusChangeForm(request.POST or None),
            do,
            back=self._back_url(member),
            refusal="back",
            # Every message above the form, none next to a field.
            show_errors=lambda form, error: form.add_error(None, error.messages),
            title=_("Change membership status"),
            submit_label=_("Save"),
            original=member,
        )

    def reveal_view(self, request, pk):
        member = self._member_or_404(request, pk)
        form = RevealForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                value = actions.reveal(
                    member=member,
                    field=form.cleaned_data["field"],
                    acting_user=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except PermissionDenied as error:
                messages.error(request, str(error))
                return self._back(member)
            context = {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "original": member,
                "title": _("Full %(field)s")
                % {"field": dict(form.fields["field"].choices)[form.cleaned_data["field"]]},
                "value": value,
            }
            response = TemplateResponse(request, "admin/members/member/reveal.html", context)
            response["Cache-Control"] = "no-store"
            return response
        return self._action_page(request, member, form, _("Show full data"), _("Show"))

    def card_view(self, request, pk):
        member = self._member_or_404(request, pk)
        if request.method == "POST":
            try:
                with transaction.atomic():
                    require_member_admin(request.user, member.organization)
                    issue_card(member=member, acting_user=request.user)
            except (PermissionDenied, ValidationError) as error:
                messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
            else:
                messages.success(
                    request, _("A new card was issued; the old card's code no longer verifies.")
                )
        return self._back(member)

    def wage_view(self, request, pk):
        """The restricted wage base: only the union's administrators see or change it."""
        member = self._member_or_404(request, pk)
        if not can_change_wage_base(request.user, member):
            raise Http404(_("Not found."))
        form = WageBaseForm(request.POST or None, member=member)
        if request.method == "POST" and form.is_valid() and form.save(acting_user=request.user):
            messages.success(request, _("The wage base was saved."))
            return self._back(member)
        return self._action_page(request, member, form, _("Monthly wage base"), _("Save"))
