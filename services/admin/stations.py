"""Admin: service stations, members' ratings of visits, and each organization's settings.

Stations are managed by the administrators of their union (and of the unions above it);
staff see them. Ratings are read-only and show members only by their masked name, since a
station's union may sit above the members' own unions. Every write goes through
`services.actions.stations`.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.admin import error_text
from organizations import scope
from organizations.models import Level

from ..actions import stations as actions
from ..forms.stations import ServiceSettingsAdminForm, StationAdminForm
from ..models import ServiceSettings, Station, StationVisit


def _service_link(service) -> str:
    try:
        return reverse("admin:services_service_change", args=[service.pk])
    except NoReverseMatch:
        return "#"


def _rating_text(station: Station) -> str:
    if station.rating is None:
        return _("Not rated yet")
    return _("%(rating)s of 5 (%(count)s ratings)") % {
        "rating": station.rating,
        "count": station.rating_count,
    }


@admin.register(Station)
class StationAdmin(scope.ScopedAdminMixin, admin.ModelAdmin):
    form = StationAdminForm
    list_display = ("name", "kind", "organization", "rating_display", "is_active")
    list_filter = ("is_active", "kind", "organization")
    search_fields = ("name", "address")
    list_select_related = ("organization",)
    list_per_page = 50
    show_full_result_count = False
    actions = ["close_selected", "reopen_selected"]

    @admin.display(description=gettext_lazy("rating"), ordering="rating_count")
    def rating_display(self, obj):
        return _rating_text(obj)

    @admin.display(description=gettext_lazy("services offered here"))
    def services_display(self, obj):
        rows = obj.services.select_related("organization").order_by("title")
        if not rows:
            return _("None yet. Choose this station on a service of the menu.")
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                '<li><a href="{}">{}</a> · {} · {}</li>',
                (
                    (
                        _service_link(s),
                        s.title,
                        s.organization.name,
                        s.get_status_display(),
                    )
                    for s in rows
                ),
            ),
        )

    @admin.display(description=gettext_lazy("activities held here"))
    def activities_display(self, obj):
        rows = obj.activities.order_by("-pk")[:20]
        if not rows:
            return _("None yet.")
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "", "<li>{} · {}</li>", ((a.title, a.get_status_display()) for a in rows)
            ),
        )

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["organization", *actions.STATION_FIELDS]
        return [
            "organization",
            *actions.STATION_FIELDS,
            "is_active",
            "rating_display",
            "services_display",
            "activities_display",
            "created_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (
            "organization",
            "is_active",
            "rating_display",
            "services_display",
            "activities_display",
            "created_at",
        )

    def has_delete_permission(self, request, obj=None):
        return False  # a station with ratings and services is closed, never deleted

    def get_actions(self, request):
        result = super().get_actions(request)
        if not self.has_change_permission(request):
            result.pop("close_selected", None)
            result.pop("reopen_selected", None)
        return result

    # Writes go through services.actions.stations ---------------------------------------

    def save_form(self, request, form, change):
        if change:
            return actions.update_station(
                station=form.instance, data=form.station_data, acting_user=request.user
            )
        return actions.create_station(
            organization=form.cleaned_data["organization"],
            data=form.station_data,
            acting_user=request.user,
        )

    def save_model(self, request, obj, form, change):
        pass  # saved by save_form

    def save_related(self, request, form, formsets, change):
        pass  # no related rows are edited here

    def _set_open(self, request, queryset, action, done_message):
        done = 0
        for station in queryset:
            try:
                action(station=station, acting_user=request.user)
            except (PermissionDenied, ValidationError) as error:
                messages.error(request, f"{station.name}: {error_text(error)}")
            else:
                done += 1
        if done:
            messages.success(request, done_message % {"count": done})

    @admin.action(description=gettext_lazy("Close the selected stations"))
    def close_selected(self, request, queryset):
        self._set_open(request, queryset, actions.close_station, _("Stations closed: %(count)s."))

    @admin.action(description=gettext_lazy("Reopen the selected stations"))
    def reopen_selected(self, request, queryset):
        self._set_open(
            request, queryset, actions.reopen_station, _("Stations reopened: %(count)s.")
        )


@admin.register(StationVisit)
class StationVisitAdmin(scope.ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("station", "visited_on", "rating", "member_display", "comment")
    list_filter = ("rating", "station")
    date_hierarchy = "visited_on"
    list_select_related = ("station", "member")
    list_per_page = 100
    show_full_result_count = False
    fields = ("station", "visited_on", "rating", "comment", "member_display", "created_at")
    readonly_fields = fields

    @admin.display(description=gettext_lazy("member"))
    def member_display(self, obj):
        # The station's union may be above the member's own: a masked name only.
        return obj.member.masked_name

    def has_add_permission(self, request):
        return False  # members rate their visits in the portal

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ServiceSettings)
class ServiceSettingsAdmin(scope.ScopedAdminMixin, admin.ModelAdmin):
    """One row per organization, for its administrators only."""

    form = ServiceSettingsAdminForm
    scope_view_access = scope.Access.CHANGE
    list_display = (
        "organization",
        "concern_days_general",
        "concern_days_difficult",
        "concern_days_complex",
        "aid_level_display",
        "aid_notice_days",
    )
    list_select_related = ("organization",)
    search_fields = ("organization__name",)
    show_full_result_count = False

    @admin.display(description=gettext_lazy("hardship aid approved at level"))
    def aid_level_display(self, obj):
        if not obj.aid_approval_level:
            return _("Default")
        return dict(Level.choices).get(obj.aid_approval_level, obj.aid_approval_level)

    def get_fields(self, request, obj=None):
        return ["organization", *actions.SETTINGS_FIELDS]

    def get_readonly_fields(self, request, obj=None):
        return ("organization",) if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False  # change the values instead; the defaults are one edit away

    def save_form(self, request, form, change):
        organization = form.instance.organization if change else form.cleaned_data["organization"]
        return actions.save_settings(
            organization=organization, data=form.settings_data, acting_user=request.user
        )

    def save_model(self, request, obj, form, change):
        pass  # saved by save_form

    def save_related(self, request, form, formsets, change):
        pass
