"""Admin: worker voice (职工之声). Staff of the handling union and of the member's own union
(and the unions above them) see a concern; only the handling union (or a union above it)
answers, grades, hands it over or closes it, through buttons calling
`services.actions.voice`. The member is named as `services.selectors.voice.member_label`
allows; the attachment is downloaded through a scoped view, never a public media URL.
"""

from django.contrib import admin
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, JsonResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from core.admin import ActionFormAdminMixin, ReadOnlyAdminMixin
from organizations import scope
from organizations.selectors import directory

from ..actions import voice as actions
from ..forms.voice import CloseForm, GradeForm, HandOverForm, ReplyForm
from ..models import Concern, ConcernStatus
from ..selectors.voice import (
    hand_over_targets,
    handling_neighbourhood,
    history,
    member_label,
)

FIELDS = (
    "title",
    "category",
    "text",
    "attachment_link",
    "origin",
    "organization",
    "grade",
    "status",
    "due_at",
    "escalations",
    "created_at",
    "answered_at",
    "closed_at",
    "rating",
    "rating_comment",
)


class OverdueFilter(admin.SimpleListFilter):
    title = gettext_lazy("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Overdue now")), ("escalated", _("Escalated at least once"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(status=ConcernStatus.OPEN, due_at__lte=timezone.now())
        if self.value() == "escalated":
            return queryset.filter(escalations__gt=0)
        return queryset


@admin.register(Concern)
class ConcernAdmin(
    ActionFormAdminMixin, ReadOnlyAdminMixin, scope.RecordAdminMixin, admin.ModelAdmin
):
    # Concerns are staff work: viewers (aggregates only) do not read them.
    scope_view_access = scope.Access.HANDLE
    scope_change_access = scope.Access.HANDLE
    list_filter = ("status", OverdueFilter, "grade", "category", "organization")
    search_fields = ("title",)
    search_help_text = gettext_lazy("Search by subject.")
    list_select_related = ("member", "origin", "organization")
    list_per_page = 50
    # Open first ("open" sorts after "closed" and "answered"), the most urgent on top.
    ordering = ("-status", "due_at")
    date_hierarchy = "created_at"
    fields = FIELDS
    readonly_fields = FIELDS
    change_form_template = "admin/services/concern/change_form.html"

    def get_list_display(self, request):
        # The member's name depends on who looks (hidden above the member's own union).
        def member(obj):
            return member_label(obj, request.user)

        member.short_description = gettext_lazy("member")
        return (
            "title",
            member,
            "category",
            "grade",
            "status",
            "is_overdue_flag",
            "organization",
            "origin",
            "due_at",
            "escalations",
        )

    @admin.display(description=gettext_lazy("overdue"), boolean=True)
    def is_overdue_flag(self, obj):
        return obj.is_overdue

    @admin.display(description=gettext_lazy("attachment"))
    def attachment_link(self, obj):
        if not obj.attachment:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:services_concern_attachment", args=[obj.pk]),
            _("Download the attachment"),
        )

    # Read-only: concerns come from the portal and change only through the actions --------

    def record_context(self, request, obj):
        handles = scope.can(request.user, scope.Access.HANDLE, obj.organization)
        return {
            "member_label": member_label(obj, request.user),
            "steps": history(obj),
            "can_answer": handles and obj.status != ConcernStatus.CLOSED,
            "can_move": handles and obj.status == ConcernStatus.OPEN,
        }

    # Step pages ---------------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        name = "services_concern"
        return [
            path("<int:pk>/reply/", wrap(self.reply_view), name=f"{name}_reply"),
            path("<int:pk>/grade/", wrap(self.grade_view), name=f"{name}_grade"),
            path("<int:pk>/hand-over/", wrap(self.hand_over_view), name=f"{name}_hand_over"),
            path("<int:pk>/close/", wrap(self.close_view), name=f"{name}_close"),
            path("<int:pk>/attachment/", wrap(self.attachment_view), name=f"{name}_attachment"),
            path("organizations/", wrap(self.organizations_view), name=f"{name}_organizations"),
            *super().get_urls(),
        ]

    def _concern_or_404(self, request, pk) -> Concern:
        if not self.has_view_permission(request):
            raise Http404(_("Not found."))
        return scope.get_object_or_404(
            request.user,
            Concern.objects.select_related("member", "origin", "organization"),
            scope.Access.HANDLE,
            pk=pk,
        )

    def _step(self, request, pk, form_class, title, submit, do, **form_kwargs):
        """One step page: a small form, then the action; errors shown on the form."""
        concern = self._concern_or_404(request, pk)
        due = timezone.localtime(concern.due_at).strftime("%Y-%m-%d %H:%M")
        return self.action_form_view(
            request,
            form_class(request.POST if request.method == "POST" else None, **form_kwargs),
            lambda cleaned: do(concern, cleaned),
            back=reverse("admin:services_concern_change", args=[concern.pk]),
            refusal="back",
            title=title,
            submit_label=submit,
            original=concern,
            intro=[
                f"{_('Raised by')}: {member_label(concern, request.user)} · "
                f"{_('Handled by')}: {concern.organization.name} · {_('Answer due')}: {due}"
            ],
        )

    def reply_view(self, request, pk):
        def do(concern, cleaned):
            actions.reply_to_concern(
                concern=concern, text=cleaned["text"], acting_user=request.user
            )
            return _("Your answer was sent to the member.")

        return self._step(request, pk, ReplyForm, _("Answer the concern"), _("Send"), do)

    def grade_view(self, request, pk):
        def do(concern, cleaned):
            concern = actions.grade_concern(
                concern=concern, grade=cleaned["grade"], acting_user=request.user
            )
            return _("Graded. The answer is now due by %(due)s.") % {
                "due": timezone.localtime(concern.due_at).strftime("%Y-%m-%d %H:%M")
            }

        return self._step(request, pk, GradeForm, _("Grade the concern"), _("Save"), do)

    def hand_over_view(self, request, pk):
        def do(concern, cleaned):
            concern = actions.hand_over_concern(
                concern=concern,
                to_organization=cleaned["to_organization"],
                reason=cleaned["reason"],
                acting_user=request.user,
            )
            return _("The concern was handed over to %(union)s.") % {
                "union": concern.organization.name
            }

        return self._step(
            request,
            pk,
            HandOverForm,
            _("Hand the concern over to another union"),
            _("Hand over"),
            do,
            admin_site=self.admin_site,
            concern=self._concern_or_404(request, pk),
        )

    def close_view(self, request, pk):
        def do(concern, cleaned):
            actions.close_concern(concern=concern, acting_user=request.user, note=cleaned["note"])
            return _("The concern was closed.")

        return self._step(
            request, pk, CloseForm, _("Close the concern"), pgettext("concern", "Close"), do
        )

    def attachment_view(self, request, pk):
        concern = self._concern_or_404(request, pk)
        if not concern.attachment:
            raise Http404(_("Not found."))
        return FileResponse(
            concern.attachment.open("rb"),
            as_attachment=True,
            filename=f"concern-{concern.pk}.{concern.attachment.name.rsplit('.', 1)[-1]}",
        )

    def organizations_view(self, request):
        """Select2 answers for the hand-over form: by name, pinyin or code, the unions the
        concern of `?concern=` may be handed to; without it, those in the trees of the
        unions whose concerns the user handles and above them."""
        if not self.has_view_permission(request):
            raise Http404(_("Not found."))
        if request.GET.get("concern"):
            targets = hand_over_targets(self._concern_or_404(request, request.GET["concern"]))
        else:
            targets = handling_neighbourhood(request.user)
        unions = directory(query=request.GET.get("term", "")).filter(pk__in=targets.values("pk"))
        page = Paginator(unions, 20).get_page(request.GET.get("page") or 1)
        return JsonResponse(
            {
                "results": [{"id": str(o.pk), "text": o.name} for o in page],
                "pagination": {"more": page.has_next()},
            }
        )
