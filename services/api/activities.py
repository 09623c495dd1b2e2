"""API: activities (/api/v1/activities/), their sessions (/api/v1/activity-sessions/) and
registrations (/api/v1/registrations/), scoped by `organizations.scope`.

`POST /api/v1/activities/?organization=<id>` creates a draft in a union where the caller
handles activities; `…/{id}/publish|cancel|finish/` and `…/{id}/sessions/` run it.
`POST /api/v1/activity-sessions/{id}/checkin/` with `card_token` (the token or the card's
verification URL, as a scanner reads it) checks a member in. Registrations show masked
names unless the caller may see the member's personal data.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api import ActionViewSetMixin
from organizations import scope

from ..actions import activities as actions
from ..models import Activity, ActivitySession, Registration


class SessionSerializer(serializers.ModelSerializer):
    places_left = serializers.IntegerField(read_only=True)

    class Meta:
        model = ActivitySession
        fields = ["id", "activity", "starts_at", "ends_at", "capacity", "registered", "places_left"]
        read_only_fields = fields


class ActivitySerializer(serializers.ModelSerializer):
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    # A plain string in the schema: enums named "status" collide across the API.
    status = serializers.CharField(
        read_only=True, help_text="draft, published, cancelled or finished"
    )
    sessions = SessionSerializer(many=True, read_only=True)
    audience_levels = serializers.ListField(child=serializers.CharField(), required=False)
    audience_employment_types = serializers.ListField(child=serializers.CharField(), required=False)

    class Meta:
        model = Activity
        fields = [
            "id",
            "organization",
            "organization_name",
            "title",
            "description",
            "delivery",
            "station",
            "venue",
            "online_url",
            "registration_closes_at",
            "audience_levels",
            "audience_employment_types",
            "audience_unions",
            "status",
            "sessions",
            "created_at",
        ]
        read_only_fields = ["organization", "status", "created_at", "audience_unions"]


class NewSessionSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    capacity = serializers.IntegerField(min_value=1)


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, default="", allow_blank=True, max_length=500)


class CheckinSerializer(serializers.Serializer):
    card_token = serializers.CharField(
        max_length=500, help_text=_("The card's token or its verification URL.")
    )


class RegistrationSerializer(serializers.ModelSerializer):
    member_name = serializers.SerializerMethodField()
    activity = serializers.IntegerField(source="session.activity_id", read_only=True)
    status = serializers.CharField(read_only=True, help_text="registered, waitlisted or cancelled")
    # Declared for the schema: a read-only model field loses `blank`, and "" is a value.
    checkin_method = serializers.ChoiceField(
        choices=Registration._meta.get_field("checkin_method").choices,
        allow_blank=True,
        read_only=True,
        label=_("check-in method"),
    )

    class Meta:
        model = Registration
        fields = [
            "id",
            "activity",
            "session",
            "member_name",
            "member_union",
            "status",
            "created_at",
            "waitlisted_at",
            "cancelled_at",
            "checked_in_at",
            "checkin_method",
        ]
        read_only_fields = fields

    def get_member_name(self, obj) -> str:
        member = obj.member
        user = self.context["request"].user
        if scope.can(user, scope.Access.PERSONAL, member.organization):
            return member.name
        return member.masked_name


class ActivityViewSet(
    scope.TenantCreateMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    scope.ScopedGenericViewSet,
):
    """Activities of the caller's subtree; staff of the organizing union run them."""

    queryset = Activity.objects.select_related("organization").prefetch_related("sessions")
    serializer_class = ActivitySerializer
    read_access = scope.Access.VIEW
    write_access = scope.Access.HANDLE
    filterset_fields = ["status", "organization", "delivery"]
    ordering_fields = ["created_at"]
    http_method_names = ["get", "post", "head", "options"]
    create_input = ActivitySerializer

    def narrow_queryset(self, queryset):
        return queryset.order_by("-created_at", "-pk")

    def perform_create_action(self, owner, data):
        return actions.create_activity(
            organization=owner, data=dict(data), acting_user=self.request.user
        )

    @extend_schema(request=NewSessionSerializer, responses={201: SessionSerializer})
    @action(detail=True, methods=["post"])
    def sessions(self, request, pk=None):
        """Add a session (a date with its own capacity)."""
        activity = self.get_object()
        data = self.validated_body(NewSessionSerializer)
        session = actions.add_session(activity=activity, acting_user=request.user, **data)
        return Response(SessionSerializer(session).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=ActivitySerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        activity = actions.publish_activity(activity=self.get_object(), acting_user=request.user)
        return self.action_response(activity)

    @extend_schema(request=CancelSerializer, responses=ActivitySerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel: open registrations are cancelled and their members told."""
        activity = self.get_object()
        data = self.validated_body(CancelSerializer)
        activity = actions.cancel_activity(
            activity=activity, acting_user=request.user, reason=data["reason"]
        )
        return self.action_response(activity)

    @extend_schema(request=None, responses=ActivitySerializer)
    @action(detail=True, methods=["post"])
    def finish(self, request, pk=None):
        activity = actions.finish_activity(activity=self.get_object(), acting_user=request.user)
        return self.action_response(activity)


class ActivitySessionViewSet(
    ActionViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, scope.ScopedGenericViewSet
):
    """Sessions of the caller's activities; staff check members in by their card."""

    queryset = ActivitySession.objects.select_related("activity")
    serializer_class = SessionSerializer
    read_access = scope.Access.VIEW
    write_access = scope.Access.HANDLE
    filterset_fields = ["activity"]
    http_method_names = ["get", "post", "head", "options"]

    def narrow_queryset(self, queryset):
        return queryset.order_by("starts_at", "pk")

    @extend_schema(request=CheckinSerializer, responses=RegistrationSerializer)
    @action(detail=True, methods=["post"])
    def checkin(self, request, pk=None):
        """Check in the member whose card was scanned (token or verification URL)."""
        session = self.get_object()
        data = self.validated_body(CheckinSerializer)
        reg = actions.check_in_by_card(
            session=session, card_token=data["card_token"], acting_user=request.user
        )
        reg = Registration.objects.select_related("member", "session").get(pk=reg.pk)
        return Response(RegistrationSerializer(reg, context={"request": request}).data)


class RegistrationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, scope.ScopedGenericViewSet
):
    """Registrations for the caller's activities and of their unions' members (read-only)."""

    queryset = Registration.objects.select_related("member", "member__organization", "session")
    serializer_class = RegistrationSerializer
    # They name members (masked): staff work, not for viewers of aggregated figures.
    read_access = scope.Access.HANDLE
    filterset_fields = ["status", "session", "member_union"]
    ordering_fields = ["created_at", "checked_in_at"]
    http_method_names = ["get", "head", "options"]

    def narrow_queryset(self, queryset):
        return queryset.order_by("-created_at", "-pk")


# Basenames prefixed with "api-": the portal already uses names like "activities-list".
ROUTES = [
    ("activities", ActivityViewSet, "api-activity"),
    ("activity-sessions", ActivitySessionViewSet, "api-activity-session"),
    ("registrations", RegistrationViewSet, "api-registration"),
]
