"""Admin for unions: the organization tree, roles and the audit log, all scoped."""

import json

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import BooleanField, Case, Exists, OuterRef, Q, Value, When
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from mptt.admin import DraggableMPTTAdmin

from core.admin import ReadOnlyAdminMixin
from core.models import AuditEntry
from core.text import mask_middle

from . import actions, scope, selectors
from .admin_imports import UnionSpreadsheetAdminMixin
from .models import Level, Organization, OrgRole, Role


class OrganizationForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = ["name", "short_name", "level", "parent", *actions.EDITABLE_FIELDS[2:]]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if "dues_share_percent" in self.fields:
            self.fields["dues_share_percent"].required = False

    def clean_dues_share_percent(self):
        # Left empty, a union takes no share of the dues.
        value = self.cleaned_data.get("dues_share_percent")
        return 0 if value is None else value

    def clean(self):
        cleaned = super().clean()
        parent = cleaned.get("parent")
        level = cleaned.get("level")
        if "parent" in self.fields and parent is None and level != Level.NATIONAL:
            self.add_error("parent", _("Choose the parent organization."))
        if parent is not None and level:
            if self.user is not None and not scope.can(self.user, scope.Access.CHANGE, parent):
                self.add_error("parent", _("This organization is outside your area."))
            try:
                actions.check_placement(level=level, parent=parent)
                actions.check_not_into_own_subtree(org=self.instance, parent=parent)
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned


@admin.register(Organization)
class OrganizationAdmin(UnionSpreadsheetAdminMixin, scope.ScopedAdminMixin, DraggableMPTTAdmin):
    form = OrganizationForm
    list_display = ("tree_actions", "indented_title", "level", "region_code", "status")
    list_display_links = ("indented_title",)
    list_filter = ("level", "status")
    search_fields = ("name", "short_name", "name_initials", "name_pinyin", "uscc", "region_code")
    autocomplete_fields = ("parent",)
    readonly_fields = ("status", "dissolved_on")
    list_per_page = 200
    actions = ["dissolve_selected"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change, **kwargs)

        class BoundUserForm(form_class):
            def __init__(self, *args, **kw):
                super().__init__(*args, user=request.user, **kw)

        return BoundUserForm

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "industry":
            kwargs["queryset"] = selectors.industry_unions()
            return db_field.formfield(**kwargs)
        if db_field.name == "parent":
            # A union is chosen by its full name, which says where it is; django-mptt's
            # dashes ("--------- 西湖区北山街道总工会") say nothing to an officer.
            kwargs["level_indicator"] = ""
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        # The place of a union in the tree belongs to whoever manages its parent.
        if obj is not None and (
            obj.parent is None or not scope.can(request.user, scope.Access.CHANGE, obj.parent)
        ):
            # So is its share of the dues and whether it keeps retained memberships.
            fields += ["parent", "level", "dues_share_percent", "keeps_retained_members"]
        return fields

    def get_actions(self, request):
        result = super().get_actions(request)
        result.pop("delete_selected", None)  # deletes go one by one through the action
        return result

    def has_delete_permission(self, request, obj=None):
        if obj is not None and (
            obj.parent is None or not scope.can(request.user, scope.Access.CHANGE, obj.parent)
        ):
            return False
        return super().has_delete_permission(request, obj)

    # Display -------------------------------------------------------------------------

    def _logical_depth(self, item):
        # Each tree restarts at depth 0; below the national federation count one more.
        return item.depth + (0 if item.level == Level.NATIONAL else 1)

    def tree_actions(self, item):
        return format_html(
            '<div class="drag-handle"></div><div class="tree-node" data-pk="{}" '
            'data-level="{}"></div>',
            item.pk,
            self._logical_depth(item),
        )

    tree_actions.short_description = ""

    def indented_title(self, item):
        # A class per depth (static/css/admin.css), not a style attribute: the CSP refuses
        # inline styles.
        return format_html(
            '<div class="tree-depth-{}">{}</div>', min(self._logical_depth(item), 8), item
        )

    indented_title.short_description = _("name")

    # Writes go through organizations.actions ----------------------------------------

    def save_form(self, request, form, change):
        data = actions.editable_data(form.cleaned_data)
        if not change:
            return actions.create_organization(
                parent=form.cleaned_data["parent"], data=data, acting_user=request.user
            )
        with transaction.atomic():
            org = actions.update_organization(
                organization=form.instance, data=data, acting_user=request.user
            )
            new_parent = form.cleaned_data.get("parent")
            if "parent" in form.changed_data and new_parent is not None:
                org = actions.move_organization(
                    organization=org, new_parent=new_parent, acting_user=request.user
                )
        return org

    def save_model(self, request, obj, form, change):
        pass  # saved by save_form

    def save_related(self, request, form, formsets, change):
        pass  # no inlines or many-to-many fields

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), level=messages.ERROR)
            return HttpResponseRedirect(
                reverse("admin:organizations_organization_change", args=[object_id])
            )

    def delete_model(self, request, obj):
        actions.delete_organization(organization=obj, acting_user=request.user)

    @admin.action(description=_("Dissolve selected organizations"))
    def dissolve_selected(self, request, queryset):
        done = 0
        for org in queryset.filter(status="active"):
            if not self.has_change_permission(request, org):
                continue
            try:
                actions.dissolve_organization(organization=org, acting_user=request.user)
                done += 1
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), level=messages.ERROR)
            except PermissionDenied as error:
                # Dissolving belongs to whoever manages the parent, which the change
                # permission on the union itself does not imply.
                self.message_user(request, f"{org}: {error}", level=messages.ERROR)
        if done:
            self.message_user(request, _("%(count)d organization(s) dissolved.") % {"count": done})

    def _move_node(self, request):
        """Drag and drop: dropping on a node makes it the parent, beside a node a sibling."""
        position = request.POST.get("position")
        queryset = self.get_queryset(request)
        try:
            cut_item = queryset.get(pk=request.POST.get("cut_item"))
            pasted_on = queryset.get(pk=request.POST.get("pasted_on"))
        except (Organization.DoesNotExist, TypeError, ValueError):
            self.message_user(request, _("That organization was not found."), messages.ERROR)
            return HttpResponse("FAIL, invalid objects.")
        new_parent = pasted_on if position == "last-child" else pasted_on.parent
        if position not in ("last-child", "left", "right") or new_parent is None:
            self.message_user(request, _("This move is not possible."), messages.ERROR)
            return HttpResponse("FAIL, invalid move.")
        try:
            actions.move_organization(
                organization=cut_item, new_parent=new_parent, acting_user=request.user
            )
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return HttpResponse("FAIL, invalid move.")
        except PermissionDenied as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponse("FAIL, no permission.")
        self.message_user(
            request,
            _("%(node)s now belongs to %(parent)s.") % {"node": cut_item, "parent": new_parent},
        )
        return HttpResponse("OK")


class OrgRoleForm(forms.ModelForm):
    username = forms.CharField(label=_("username"), max_length=150)
    full_name = forms.CharField(label=_("full name"), max_length=150, required=False)
    email = forms.EmailField(label=_("email"), required=False)
    password = forms.CharField(
        label=_("initial password"),
        required=False,
        widget=forms.PasswordInput,
        help_text=_("Only for a new account: the officer changes it after logging in."),
    )

    class Meta:
        model = OrgRole
        fields = ["organization", "role"]

    def clean(self):
        cleaned = super().clean()
        username = cleaned.get("username", "").strip()
        User = get_user_model()
        self.user_obj = User.objects.filter(username=username).first()
        if self.user_obj is None and username:
            password = cleaned.get("password")
            if not password:
                self.add_error(
                    "password",
                    _("There is no account %(name)s yet; give an initial password to create it.")
                    % {"name": username},
                )
            else:
                try:
                    validate_password(password, User(username=username))
                except ValidationError as error:
                    self.add_error("password", error)
        return cleaned


@admin.register(OrgRole)
class OrgRoleAdmin(scope.ScopedAdminMixin, admin.ModelAdmin):
    form = OrgRoleForm
    list_display = ("user", "organization", "role", "created_at")
    list_filter = ("role", "organization")
    search_fields = ("user__username", "organization__name")
    autocomplete_fields = ("organization",)
    list_select_related = ("user", "organization")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["username", "full_name", "email", "password", "organization", "role"]
        return ["user", "organization", "role", "granted_by", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["user", "organization", "role", "granted_by", "created_at"]

    def has_change_permission(self, request, obj=None):
        return False  # a grant is added or revoked, never edited

    def save_form(self, request, form, change):
        user = form.user_obj
        with transaction.atomic():
            if user is None:
                user = get_user_model().objects.create_user(
                    username=form.cleaned_data["username"].strip(),
                    email=form.cleaned_data.get("email", ""),
                    password=form.cleaned_data["password"],
                    first_name=form.cleaned_data.get("full_name", ""),
                )
            return actions.grant_role(
                user=user,
                organization=form.cleaned_data["organization"],
                role=form.cleaned_data["role"],
                acting_user=request.user,
            )

    def save_model(self, request, obj, form, change):
        pass  # saved by save_form

    def save_related(self, request, form, formsets, change):
        pass

    def delete_model(self, request, obj):
        actions.revoke_role(grant=obj, acting_user=request.user)

    def delete_queryset(self, request, queryset):
        for grant in queryset:
            actions.revoke_role(grant=grant, acting_user=request.user)


def _actor_shown(user):
    """Per entry: whether `user` may see the actor's login name. Officers' names are shown;
    a member's login is their membership number, shown only to readers who reach the
    personal data of the entry's union."""
    if scope.is_operator(user):
        return Value(True)
    officer = Exists(OrgRole.objects.filter(user=OuterRef("actor")))
    reach = scope.org_q(user, scope.Access.PERSONAL, "organization__")
    shown = When(Q(officer) | reach, then=Value(True))
    return Case(shown, default=Value(False), output_field=BooleanField())


def _restricted_objects() -> dict[str, list[str]]:
    """Object types whose audit details need an access of their own (a model's
    `audit_access`, such as hardship aid cases): access -> object types."""
    by_access: dict[str, list[str]] = {}
    for model in apps.get_models():
        access = getattr(model, "audit_access", None)
        if access:
            by_access.setdefault(access, []).append(model._meta.label_lower)
    return by_access


def _details_shown(user):
    """Per entry: whether `user` may read its details (the changed values and the reason,
    which an officer types and may name a person). Shown to readers who reach the personal
    data of the entry's union, or for an object with an access of its own (an aid case) to
    those who hold that access there; others see which fields changed, not to what."""
    if scope.is_operator(user):
        return Value(True)
    whens = []
    for access, types in _restricted_objects().items():
        reach = scope.org_q(user, scope.Access(access), "organization__")
        whens.append(When(Q(object_type__in=types) & reach, then=Value(True)))
        whens.append(When(object_type__in=types, then=Value(False)))
    whens.append(When(scope.org_q(user, scope.Access.PERSONAL, "organization__"), then=Value(True)))
    return Case(*whens, default=Value(False), output_field=BooleanField())


AUDIT_FIELDS = (
    "at",
    "actor_display",
    "action",
    "object_type",
    "object_id",
    "organization",
    "changes_display",
    "reason_display",
    "result",
)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, scope.ScopedAdminMixin, admin.ModelAdmin):
    list_display = tuple(field for field in AUDIT_FIELDS if field != "changes_display")
    list_filter = ("action", "result")
    search_fields = ("object_id", "action")
    list_select_related = ("actor", "organization")
    fields = AUDIT_FIELDS
    readonly_fields = AUDIT_FIELDS

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                actor_shown=_actor_shown(request.user),
                details_shown=_details_shown(request.user),
            )
        )

    @admin.display(description=_("changes"))
    def changes_display(self, obj):
        if not obj.changes:
            return "-"
        if getattr(obj, "details_shown", False):
            return json.dumps(obj.changes, ensure_ascii=False, sort_keys=True)
        return _("%(fields)s (the values are shown only to officers who may see them)") % {
            "fields": ", ".join(sorted(obj.changes))
        }

    @admin.display(description=_("reason"))
    def reason_display(self, obj):
        if not obj.reason:
            return "-"
        if getattr(obj, "details_shown", False):
            return obj.reason
        return _("(shown only to officers who may see it)")

    @admin.display(description=_("actor"), ordering="actor__username")
    def actor_display(self, obj):
        if obj.actor is None:
            return "-"
        name = obj.actor.get_username()
        return name if getattr(obj, "actor_shown", False) else mask_middle(name)


__all__ = ["AuditEntryAdmin", "OrgRoleAdmin", "OrganizationAdmin", "Role"]
