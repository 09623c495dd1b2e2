"""Admin: the service menu, members' orders and service wishes.

- Services are defined by admins of the offering union (change access); the form runs the
  action's checks, saving calls `create_service` / `update_service`, and publishing or
  closing are list actions.
- A request is a read-only record with step buttons (accept, start, complete, reject,
  cancel) for the handling union's staff; the member's own union sees it too. Confidential
  notes of legal aid and counselling requests show only to the handling staff.
- Wishes of the user's subtree are ranked by votes; staff decline one or answer it with a
  new service.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import BooleanField, Case, Value, When
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin import ActionFormAdminMixin, error_text
from core.audit import record_read
from members.selectors.people import membership_number_for
from members.validators import mask_membership_number
from organizations import scope

from ..actions import menu as actions
from ..actions import requests as request_actions
from ..actions import union_chain
from ..actions import wishes as wish_actions
from ..forms.menu import (
    SERVICE_FORM_FIELDS,
    DeclineWishForm,
    NoteForm,
    ReasonForm,
    ResultForm,
    ServiceAdminForm,
    ServiceFromWishForm,
)
from ..models import RequestStatus, Service, ServiceRequest, ServiceWish, Station, WishStatus
from ..selectors.menu import can_see_confidential, confidential_notes

# --- Services --------------------------------------------------------------------------------


@admin.register(Service)
class ServiceAdmin(scope.ScopedAdminMixin, admin.ModelAdmin):
    form = ServiceAdminForm
    list_display = (
        "title",
        "organization",
        "category",
        "status",
        "places",
        "starts_on",
        "ends_on",
        "delivery",
    )
    list_filter = ("status", "category", "delivery", "handling", "organization")
    search_fields = ("title",)
    list_select_related = ("organization",)
    filter_horizontal = ("audience_unions",)
    actions = ["publish_selected", "close_selected"]
    readonly_fields = ("status", "taken", "from_wish", "created_by", "created_at")
    list_per_page = 50

    def get_readonly_fields(self, request, obj=None):
        fields = self.readonly_fields
        # The offering union of an existing service stays: its members' orders hang on it.
        return (*fields, "organization") if obj is not None else fields

    def get_fields(self, request, obj=None):
        fields = ["organization", *SERVICE_FORM_FIELDS, "audience_unions"]
        return [*fields, *self.readonly_fields] if obj is not None else fields

    def has_delete_permission(self, request, obj=None):
        return False  # close a service instead: its orders keep their history

    @admin.display(description=gettext_lazy("places taken"))
    def places(self, obj):
        return f"{obj.taken} / {obj.capacity}" if obj.capacity is not None else obj.taken

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in SERVICE_FORM_FIELDS if f in form.cleaned_data}
        unions = list(form.cleaned_data.get("audience_unions") or [])
        if change:
            saved = actions.update_service(
                service=obj, data=data, audience_unions=unions, acting_user=request.user
            )
        else:
            saved = actions.create_service(
                organization=form.cleaned_data["organization"],
                data=data,
                audience_unions=unions,
                acting_user=request.user,
            )
        obj.pk = saved.pk

    def save_related(self, request, form, formsets, change):
        pass  # the audience unions were saved by the action

    def _set_status(self, request, queryset, action, done):
        count = 0
        for service in queryset:
            try:
                action(service=service, acting_user=request.user)
            except (ValidationError, PermissionDenied) as error:
                messages.error(request, f"{service}: {error_text(error)}")
            else:
                count += 1
        if count:
            messages.success(request, done % {"n": count})

    @admin.action(description=gettext_lazy("Publish on the members' menu"), permissions=["change"])
    def publish_selected(self, request, queryset):
        self._set_status(
            request, queryset, actions.publish_service, _("Services published: %(n)s.")
        )

    @admin.action(description=gettext_lazy("Close (take off the menu)"), permissions=["change"])
    def close_selected(self, request, queryset):
        self._set_status(request, queryset, actions.close_service, _("Services closed: %(n)s."))


# --- Requests --------------------------------------------------------------------------------

REQUEST_FIELDS = (
    "service",
    "member_display",
    "organization",
    "member_union",
    "status",
    "note",
    "created_at",
    "due_at",
    "handler",
    "result",
    "rejection_reason",
    "rating",
    "rating_comment",
    "closed_at",
)


def _personal(user):
    """Per request row: whether `user` reaches the ordering member's personal data."""
    if scope.is_operator(user):
        return Value(True)
    reach = scope.org_q(user, scope.Access.PERSONAL, "member__organization__")
    return Case(When(reach, then=Value(True)), default=Value(False), output_field=BooleanField())


@admin.register(ServiceRequest)
class ServiceRequestAdmin(scope.RecordAdminMixin, admin.ModelAdmin):
    # Handling work: staff and admins of the handling union and of the member's own union.
    scope_view_access = scope.Access.HANDLE
    scope_change_access = scope.Access.HANDLE
    list_display = (
        "service",
        "member_display",
        "organization",
        "member_union",
        "status",
        "due_at",
        "is_overdue",
        "rating",
    )
    list_filter = ("status", "service__category", "organization")
    list_select_related = ("service", "member", "organization", "member_union")
    # The membership number (also the member's login name) only where the reader reaches
    # the member's personal data: shown there in full, and searched there only.
    search_fields = ("service__title",)
    search_help_text = gettext_lazy("Search by service title or membership number.")
    fields = REQUEST_FIELDS
    readonly_fields = REQUEST_FIELDS
    change_form_template = "admin/services/servicerequest/change_form.html"
    list_per_page = 50

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(member_personal=_personal(request.user))

    def get_search_results(self, request, queryset, search_term):
        results, duplicates = super().get_search_results(request, queryset, search_term)
        number = search_term.strip()
        if number:
            results |= queryset.filter(member_personal=True, member__membership_number=number)
        return results, duplicates

    @admin.display(description=gettext_lazy("member"), ordering="member__membership_number")
    def member_display(self, obj):
        number = obj.member.membership_number
        if not getattr(obj, "member_personal", False):
            number = mask_membership_number(number)
        return f"{obj.member.masked_name} ({number})"

    @admin.display(description=gettext_lazy("overdue"), boolean=True)
    def is_overdue(self, obj):
        return obj.is_open and obj.due_at <= timezone.now()

    def has_add_permission(self, request):
        return False  # members order in the portal

    def has_delete_permission(self, request, obj=None):
        return False

    def record_context(self, request, obj) -> dict:
        user = request.user
        if obj.service.is_confidential:
            # Legal aid and counselling: every look at the request is in the audit log.
            record_read(
                actor=user,
                action="service_request.viewed",
                obj=obj,
                organization=obj.organization,
            )
        history = list(obj.steps.select_related("actor"))
        for step in history:
            # The member's own steps name the member, never their login (the number).
            if step.actor_id is not None and step.actor_id == obj.member.user_id:
                number = membership_number_for(user, obj.member)
                step.actor_label = f"{obj.member.masked_name} ({number})"
            else:
                step.actor_label = str(step.actor or "")
        context = {
            "request_steps": request_actions.available_steps(request=obj, user=user),
            "history": history,
            "result_form": ResultForm(),
            "reason_form": ReasonForm(),
            "note_form": NoteForm(),
            "confidential": obj.service.is_confidential,
            "can_read_notes": can_see_confidential(user, obj),
            "notes": confidential_notes(request=obj, user=user),
        }
        # Contact details only for officers who keep the member's records.
        if scope.can(user, scope.Access.PERSONAL, obj.member):
            context["member_contact"] = obj.member
        return context

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/step/<str:step>/",
                wrap(self.step_view),
                name="services_servicerequest_step",
            ),
            *super().get_urls(),
        ]

    def step_view(self, request, pk, step):
        if not self.has_view_permission(request):
            raise Http404(_("Not found."))
        obj = scope.get_object_or_404(
            request.user,
            ServiceRequest.objects.select_related("service", "member", "organization"),
            scope.Access.HANDLE,
            pk=pk,
        )
        back = redirect(reverse("admin:services_servicerequest_change", args=[obj.pk]))
        if request.method != "POST":
            return back
        forms = {"complete": ResultForm, "reject": ReasonForm, "note": NoteForm}
        calls = {
            "accept": lambda d: request_actions.accept_request(
                request=obj, acting_user=request.user
            ),
            "start": lambda d: request_actions.start_request(request=obj, acting_user=request.user),
            "complete": lambda d: request_actions.complete_request(
                request=obj, result=d["result"], acting_user=request.user
            ),
            "reject": lambda d: request_actions.reject_request(
                request=obj, reason=d["reason"], acting_user=request.user
            ),
            "cancel": lambda d: request_actions.cancel_request(
                request=obj, reason=request.POST.get("reason", ""), acting_user=request.user
            ),
            "note": lambda d: request_actions.add_confidential_note(
                request=obj, text=d["text"], acting_user=request.user
            ),
        }
        if step not in calls:
            raise Http404(_("Not found."))
        data = {}
        if step in forms:
            form = forms[step](request.POST)
            if not form.is_valid():
                for errors in form.errors.values():
                    for message in errors:
                        messages.error(request, message)
                return back
            data = form.cleaned_data
        try:
            calls[step](data)
        except (ValidationError, PermissionDenied) as error:
            messages.error(request, error_text(error))
        else:
            messages.success(
                request,
                _("The note was saved.")
                if step == "note"
                else _("The request is now: %(status)s.")
                % {"status": RequestStatus(ServiceRequest.objects.get(pk=obj.pk).status).label},
            )
        return back


# --- Wishes ----------------------------------------------------------------------------------

WISH_FIELDS = (
    "title",
    "organization",
    "category",
    "description",
    "status",
    "votes",
    "created_at",
    "answer",
    "answered_by",
    "answered_at",
)


@admin.register(ServiceWish)
class ServiceWishAdmin(ActionFormAdminMixin, scope.RecordAdminMixin, admin.ModelAdmin):
    scope_change_access = scope.Access.HANDLE
    list_display = ("title", "organization", "category", "status", "votes", "created_at")
    list_filter = ("status", "category", "organization")
    list_select_related = ("organization",)
    search_fields = ("title",)
    ordering = ("-votes", "-created_at")
    fields = WISH_FIELDS
    readonly_fields = WISH_FIELDS
    change_form_template = "admin/services/servicewish/change_form.html"
    list_per_page = 50

    def has_add_permission(self, request):
        return False  # members propose wishes in the portal

    def has_delete_permission(self, request, obj=None):
        return False

    def record_context(self, request, obj) -> dict:
        is_open = obj.status == WishStatus.OPEN
        return {
            "can_decline": is_open and scope.can(request.user, scope.Access.HANDLE, obj),
            "can_answer": is_open and self._answer_orgs(request.user, obj).exists(),
        }

    def get_urls(self):
        wrap = self.admin_site.admin_view
        name = "services_servicewish"
        return [
            path("<int:pk>/decline/", wrap(self.decline_view), name=f"{name}_decline"),
            path("<int:pk>/answer/", wrap(self.answer_view), name=f"{name}_answer"),
            *super().get_urls(),
        ]

    @staticmethod
    def _answer_orgs(user, wish):
        ids = [o.pk for o in union_chain(wish.organization)]
        return scope.organizations(user, scope.Access.CHANGE).filter(pk__in=ids)

    def _wish_or_404(self, request, pk) -> ServiceWish:
        if not self.has_view_permission(request):
            raise Http404(_("Not found."))
        return scope.get_object_or_404(
            request.user,
            ServiceWish.objects.select_related("organization"),
            scope.Access.HANDLE,
            pk=pk,
        )

    def _wish_form_view(self, request, wish, form, do, title, submit_label):
        """A step on the wish, on a page that shows the wish first."""
        intro = [
            _("%(votes)s members voted for this wish, addressed to %(union)s.")
            % {"votes": wish.votes, "union": wish.organization.name}
        ]
        if wish.description:
            intro.append(wish.description)
        return self.action_form_view(
            request,
            form,
            do,
            back=reverse("admin:services_servicewish_change", args=[wish.pk]),
            title=title,
            submit_label=submit_label,
            original=wish,
            intro=intro,
        )

    def decline_view(self, request, pk):
        wish = self._wish_or_404(request, pk)

        def do(cleaned):
            wish_actions.decline_wish(wish=wish, answer=cleaned["answer"], acting_user=request.user)
            return _("The wish was declined; its voters are told.")

        return self._wish_form_view(
            request,
            wish,
            DeclineWishForm(request.POST or None),
            do,
            _("Decline the wish"),
            _("Decline"),
        )

    def answer_view(self, request, pk):
        wish = self._wish_or_404(request, pk)
        orgs = self._answer_orgs(request.user, wish)
        if not orgs.exists():
            raise Http404(_("Not found."))
        chain_ids = [o.pk for o in union_chain(wish.organization)]
        stations = Station.objects.filter(organization_id__in=chain_ids, is_active=True)
        form = ServiceFromWishForm(
            request.POST or None,
            organizations=orgs,
            stations=stations,
            initial={
                "organization": wish.organization_id,
                "title": wish.title,
                "category": wish.category,
                "description": wish.description,
            },
        )

        def do(cleaned):
            service = wish_actions.answer_wish_with_service(
                wish=wish,
                data={f: cleaned.get(f) for f in SERVICE_FORM_FIELDS},
                organization=cleaned["organization"],
                publish=cleaned["publish"],
                answer=cleaned["answer"],
                acting_user=request.user,
            )
            message = _("The service “%(s)s” was created; the wish's voters are told.") % {
                "s": service.title
            }
            return message, reverse("admin:services_service_change", args=[service.pk])

        return self._wish_form_view(
            request,
            wish,
            form,
            do,
            _("Answer the wish with a new service"),
            _("Create the service"),
        )
