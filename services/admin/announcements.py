"""Admin: announcements (通知公告). Staff write a draft and publish it; the change page
then shows how far the sending has come, refreshing itself until it is done."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from organizations import scope

from ..actions import announcements as actions
from ..forms.announcements import AnnouncementAdminForm
from ..models import Announcement, AnnouncementStatus

CONTENT = ["title", "body", "audience_levels", "audience_employment_types"]
PROGRESS = ("status", "progress_display", "recipients_done", "published_by", "published_at")


@admin.register(Announcement)
class AnnouncementAdmin(scope.ScopedAdminMixin, admin.ModelAdmin):
    scope_view_access = scope.Access.HANDLE
    scope_change_access = scope.Access.HANDLE
    form = AnnouncementAdminForm
    list_display = ("title", "organization", "status", "progress_display", "published_at")
    list_filter = ("status", "organization")
    search_fields = ("title",)
    list_select_related = ("organization",)
    filter_horizontal = ("audience_unions",)
    actions = ["publish_selected"]
    change_form_template = "admin/services/announcement/change_form.html"
    list_per_page = 50

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["organization", *CONTENT, "audience_unions"]
        return ["organization", *CONTENT, "audience_unions", *PROGRESS, "finished_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        if obj.status != AnnouncementStatus.DRAFT:
            # As the members received it.
            return ["organization", *CONTENT, "audience_unions", *PROGRESS, "finished_at"]
        return ["organization", *PROGRESS, "finished_at"]

    def has_delete_permission(self, request, obj=None):
        return False  # what was sent stays on record

    @admin.display(description=gettext_lazy("progress"))
    def progress_display(self, obj):
        return f"{obj.progress} %"

    def save_model(self, request, obj, form, change):
        cleaned = form.cleaned_data
        fields = {
            "title": cleaned.get("title"),
            "body": cleaned.get("body"),
            "levels": cleaned.get("audience_levels"),
            "employment_types": cleaned.get("audience_employment_types"),
            "unions": list(cleaned.get("audience_unions") or []),
        }
        if change:
            saved = actions.update_announcement(
                announcement=obj, acting_user=request.user, **fields
            )
        else:
            saved = actions.create_announcement(
                organization=cleaned["organization"], acting_user=request.user, **fields
            )
        obj.pk = saved.pk

    def save_related(self, request, form, formsets, change):
        pass  # the audience unions were saved by the action

    def response_change(self, request, obj):
        if "_publish" in request.POST:
            self._publish(request, obj)
            return self.response_post_save_change(request, obj)
        return super().response_change(request, obj)

    def _publish(self, request, announcement) -> bool:
        try:
            actions.publish_announcement(announcement=announcement, acting_user=request.user)
        except (ValidationError, PermissionDenied) as error:
            text = " ".join(getattr(error, "messages", [str(error)]))
            messages.error(request, f"{announcement}: {text}")
            return False
        return True

    @admin.action(description=gettext_lazy("Publish to the members"), permissions=["change"])
    def publish_selected(self, request, queryset):
        count = sum(self._publish(request, a) for a in queryset)
        if count:
            messages.success(
                request, _("Announcements published: %(n)s. They are being sent.") % {"n": count}
            )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["sending"] = obj is not None and obj.status == AnnouncementStatus.SENDING
        context["can_publish"] = obj is not None and obj.status == AnnouncementStatus.DRAFT
        return super().render_change_form(request, context, add, change, form_url, obj)
