"""Admin: activities with their sessions, the session page for check-in, registrations.

Staff of the organizing union (Access.HANDLE) create and run activities; every write goes
through `services.actions.activities`. The session page shows the session's check-in QR
code, its attendees (full names only for officers who may see the member's personal
data) and a field where a scanner types the member's card. Registrations are read-only.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import qr
from core.admin import ReadOnlyAdminMixin
from organizations import scope

from ..actions import activities as actions
from ..forms.activities import ActivityAdminForm, ScanCardForm, SessionFormSet
from ..models import Activity, ActivitySession, Registration, RegistrationStatus
from ..selectors.activities import attendees


def session_url(session) -> str:
    return reverse("admin:services_activity_session", args=[session.pk])


class ActivitySessionInline(admin.TabularInline):
    model = ActivitySession
    formset = SessionFormSet
    fields = ("starts_at", "ends_at", "capacity", "registered", "session_page")
    readonly_fields = ("registered", "session_page")
    extra = 1

    @admin.display(description=gettext_lazy("check-in"))
    def session_page(self, obj):
        if not obj or not obj.pk:
            return "–"
        return format_html('<a href="{}">{}</a>', session_url(obj), _("Attendees and check-in"))


@admin.register(Activity)
class ActivityAdmin(scope.ScopedAdminMixin, admin.ModelAdmin):
    scope_view_access = scope.Access.VIEW
    scope_change_access = scope.Access.HANDLE
    form = ActivityAdminForm
    inlines = [ActivitySessionInline]
    list_display = ("title", "organization", "status", "delivery", "first_session", "places")
    list_filter = ("status", "delivery", "organization")
    search_fields = ("title",)
    list_select_related = ("organization",)
    readonly_fields = ("status",)
    actions = ["publish_selected", "cancel_selected", "finish_selected"]
    list_per_page = 50

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("sessions")

    def get_readonly_fields(self, request, obj=None):
        # The organizer never changes: registrations and counters hang on it.
        return ("organization", "status") if obj else ("status",)

    @admin.display(description=gettext_lazy("first session"))
    def first_session(self, obj):
        sessions = list(obj.sessions.all())
        return sessions[0].starts_at if sessions else "–"

    @admin.display(description=gettext_lazy("registered / capacity"))
    def places(self, obj):
        sessions = list(obj.sessions.all())
        return f"{sum(s.registered for s in sessions)} / {sum(s.capacity for s in sessions)}"

    # Writes go through the actions ------------------------------------------------------

    def save_model(self, request, obj, form, change):
        cleaned = form.cleaned_data
        data = {f: cleaned.get(f) for f in actions.ACTIVITY_FIELDS if f in cleaned}
        unions = list(form.cleaned_data.get("audience_unions") or [])
        if change:
            saved = actions.update_activity(
                activity=obj, data=data, acting_user=request.user, audience_unions=unions
            )
        else:
            saved = actions.create_activity(
                organization=form.cleaned_data["organization"],
                data=data,
                acting_user=request.user,
                audience_unions=unions,
            )
        # The inline formsets were built on `obj`: give it the saved row's identity.
        for field in Activity._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        # audience_unions were set by the action; only the sessions remain.
        for formset in formsets:
            self.save_formset(request, form, formset, change)

    def save_formset(self, request, form, formset, change):
        activity = form.instance
        # The admin's change message reads what formset.save() would have recorded.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.deleted_forms:
            if inline_form.instance.pk:
                actions.delete_session(session=inline_form.instance, acting_user=request.user)
                formset.deleted_objects.append(inline_form.instance)
        for inline_form in formset.forms:
            if inline_form in formset.deleted_forms or not inline_form.has_changed():
                continue
            data = inline_form.cleaned_data
            if not data:
                continue
            times = {
                "starts_at": data["starts_at"],
                "ends_at": data["ends_at"],
                "capacity": data["capacity"],
            }
            try:
                if inline_form.instance.pk:
                    session = actions.change_session(
                        session=inline_form.instance, acting_user=request.user, **times
                    )
                    formset.changed_objects.append((session, inline_form.changed_data))
                else:
                    session = actions.add_session(
                        activity=activity, acting_user=request.user, **times
                    )
                    formset.new_objects.append(session)
            except ValidationError as error:
                for message in error.messages:
                    messages.error(request, message)

    def has_delete_permission(self, request, obj=None):
        return False  # activities are cancelled, never deleted

    # Bulk steps ---------------------------------------------------------------------------

    def _each(self, request, queryset, action, done):
        ok = 0
        for activity in queryset:
            try:
                action(activity=activity, acting_user=request.user)
            except (ValidationError, PermissionDenied) as error:
                for message in getattr(error, "messages", [str(error)]):
                    messages.error(request, f"{activity.title}: {message}")
            else:
                ok += 1
        if ok:
            messages.success(request, done % {"n": ok})

    @admin.action(description=gettext_lazy("Publish (open for registration)"))
    def publish_selected(self, request, queryset):
        self._each(request, queryset, actions.publish_activity, _("%(n)s activities published."))

    @admin.action(description=gettext_lazy("Cancel (members are told)"))
    def cancel_selected(self, request, queryset):
        self._each(request, queryset, actions.cancel_activity, _("%(n)s activities cancelled."))

    @admin.action(description=gettext_lazy("Mark as finished"))
    def finish_selected(self, request, queryset):
        self._each(request, queryset, actions.finish_activity, _("%(n)s activities finished."))

    # The session page -------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "session/<int:pk>/",
                wrap(self.session_view),
                name="services_activity_session",
            ),
            *super().get_urls(),
        ]

    def session_view(self, request, pk):
        if not self.has_view_permission(request):
            raise Http404(_("Not found."))
        session = scope.get_object_or_404(
            request.user,
            ActivitySession.objects.select_related("activity__organization", "activity__station"),
            scope.Access.HANDLE,
            pk=pk,
        )
        form = ScanCardForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                reg = actions.check_in_by_card(
                    session=session, card_token=form.cleaned_data["scan"], acting_user=request.user
                )
            except PermissionDenied as error:
                messages.error(request, str(error) or _("You may not do this."))
            except ValidationError as error:
                for message in error.messages:
                    messages.error(request, message)
            else:
                member = reg.member
                full = scope.can(request.user, scope.Access.PERSONAL, member.organization)
                messages.success(
                    request,
                    _("Checked in: %(name)s.")
                    % {"name": member.name if full else member.masked_name},
                )
            return redirect(session_url(session))
        checkin_url = request.build_absolute_uri(
            reverse("activities-checkin", args=[session.checkin_code])
        )
        svg = qr.cached_svg(checkin_url, title=str(session))
        rows = attendees(session, request.user)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": str(session),
            "session": session,
            "activity": session.activity,
            "checkin_url": checkin_url,
            "checkin_qr": svg,
            "rows": rows,
            "checked_in": sum(1 for r in rows if r["registration"].checked_in_at),
            "waiting": sum(
                1 for r in rows if r["registration"].status == RegistrationStatus.WAITLISTED
            ),
            "form": form,
        }
        return TemplateResponse(request, "admin/services/activity/session.html", context)


@admin.register(Registration)
class RegistrationAdmin(ReadOnlyAdminMixin, scope.ScopedAdminMixin, admin.ModelAdmin):
    """Read-only: registrations change through the portal, the session page and the API."""

    # They name members (masked): staff work, not for viewers of aggregated figures.
    scope_view_access = scope.Access.HANDLE

    list_display = (
        "member_display",
        "activity_title",
        "session_start",
        "member_union",
        "status",
        "waitlisted_at",
        "checked_in_at",
        "checkin_method",
    )
    list_filter = ("status", "checkin_method", "member_union")
    list_select_related = ("member", "member__organization", "member_union", "session__activity")
    search_fields = ("session__activity__title",)
    search_help_text = gettext_lazy("Search by activity title.")
    date_hierarchy = "created_at"
    list_per_page = 100
    fields = (
        "member_display",
        "activity_title",
        "session_start",
        "member_union",
        "status",
        "created_at",
        "waitlisted_at",
        "cancelled_at",
        "checked_in_at",
        "checkin_method",
    )
    readonly_fields = fields

    @admin.display(description=gettext_lazy("member"))
    def member_display(self, obj):
        return obj.member.masked_name

    def get_list_display(self, request):
        # Full names only where the viewer may see the member's personal data; the column
        # is built per request, so the decision never leaks between users.
        user = request.user

        def member(obj):
            if scope.can(user, scope.Access.PERSONAL, obj.member.organization):
                return f"{obj.member.name} ({obj.member.membership_number})"
            return obj.member.masked_name

        member.short_description = gettext_lazy("member")
        return [member if f == "member_display" else f for f in self.list_display]

    @admin.display(description=gettext_lazy("activity"), ordering="session__activity__title")
    def activity_title(self, obj):
        return obj.session.activity.title

    @admin.display(description=gettext_lazy("session"), ordering="session__starts_at")
    def session_start(self, obj):
        return obj.session.starts_at
