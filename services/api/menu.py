"""API: the service menu (/api/v1/services/), requests (/api/v1/service-requests/) and
wishes (/api/v1/service-wishes/), scoped like the admin.

- `POST /services/?organization=<id>` adds a draft service to that union's menu (change
  access); `PATCH /services/{id}/` edits it; `POST …/{id}/publish|close/`.
- Requests: the handling union's and the member's own union's staff list them; the
  handling staff `POST …/{id}/accept|start|complete|reject|cancel/`; `GET|POST …/notes/`
  for confidential notes, only for the handling staff.
- Wishes of the caller's subtree, ranked by votes; `POST …/{id}/decline|answer/`.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from core.api import ActionUpdateMixin, ActionViewSetMixin
from core.audit import record_read
from members.models import EmploymentType
from members.selectors.people import membership_number_for
from organizations import scope
from organizations.models import Level

from ..actions import menu as actions
from ..actions import requests as request_actions
from ..actions import wishes as wish_actions
from ..models import (
    ConfidentialNote,
    Delivery,
    Handling,
    Service,
    ServiceCategory,
    ServiceRequest,
    ServiceWish,
    Station,
)
from ..selectors.menu import can_see_confidential, confidential_notes


class ServiceSerializer(serializers.ModelSerializer):
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    # Plain strings in the schema: as enums they would collide with the other "status"
    # and "category" choice sets of the API (drf-spectacular names enums by field name).
    status = serializers.CharField(read_only=True, help_text="draft, published or closed")
    category = serializers.CharField(read_only=True, help_text=", ".join(ServiceCategory.values))
    delivery = serializers.CharField(read_only=True, help_text="online or station")
    handling = serializers.CharField(read_only=True, help_text="offering or members_union")
    places_left = serializers.IntegerField(read_only=True, allow_null=True)
    audience_unions = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Service
        fields = [
            "id",
            "organization",
            "organization_name",
            "title",
            "category",
            "description",
            "capacity",
            "taken",
            "places_left",
            "starts_on",
            "ends_on",
            "delivery",
            "station",
            "handling",
            "due_days",
            "audience_levels",
            "audience_employment_types",
            "audience_unions",
            "status",
            "from_wish",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ServiceInputSerializer(serializers.Serializer):
    """Service fields as typed; the action checks them together."""

    title = serializers.CharField(max_length=120, required=False)
    category = serializers.CharField(required=False, help_text=", ".join(ServiceCategory.values))
    description = serializers.CharField(required=False)
    capacity = serializers.IntegerField(min_value=1, allow_null=True, required=False)
    starts_on = serializers.DateField(allow_null=True, required=False)
    ends_on = serializers.DateField(allow_null=True, required=False)
    delivery = serializers.CharField(required=False, help_text=", ".join(Delivery.values))
    station = serializers.IntegerField(allow_null=True, required=False)
    handling = serializers.CharField(required=False, help_text=", ".join(Handling.values))
    due_days = serializers.IntegerField(min_value=1, max_value=365, required=False)
    audience_levels = serializers.ListField(
        child=serializers.CharField(), required=False, help_text=", ".join(Level.values)
    )
    audience_employment_types = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text=", ".join(EmploymentType.values),
    )
    audience_unions = serializers.ListField(child=serializers.IntegerField(), required=False)


def _action_args(validated_data: dict, user) -> tuple[dict, list | None]:
    """(data, audience unions) of a `ServiceInputSerializer`'s validated data, with ids
    resolved within what the user may reach."""
    data = dict(validated_data)
    unions = data.pop("audience_unions", None)
    if unions is not None:
        found = list(scope.organizations(user, scope.Access.VIEW).filter(pk__in=unions))
        if len(found) != len(set(unions)):
            raise ValidationError({"audience_unions": [_("No such union of yours.")]})
        unions = found
    if data.get("station") is not None:
        station = Station.objects.filter(pk=data["station"]).first()
        if station is None:
            raise ValidationError({"station": [_("No such station.")]})
        data["station"] = station
    return data, unions


def _create_fields_required(data: dict) -> None:
    missing = {
        f: [_("This field is required.")]
        for f in ("title", "category", "description")
        if f not in data
    }
    if missing:
        raise ValidationError(missing)


class ServiceViewSet(
    scope.TenantCreateMixin,
    ActionUpdateMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    scope.ScopedGenericViewSet,
):
    """Services of the unions the caller reaches; admins create and change them."""

    queryset = Service.objects.select_related("organization").prefetch_related("audience_unions")
    serializer_class = ServiceSerializer
    filterset_fields = ["status", "category", "organization"]
    ordering_fields = ["created_at", "title"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    create_input = ServiceInputSerializer
    update_input = ServiceInputSerializer

    def narrow_queryset(self, queryset):
        return queryset.order_by("-created_at", "-pk")

    def perform_create_action(self, owner, data):
        _create_fields_required(data)
        data, unions = _action_args(data, self.request.user)
        return actions.create_service(
            organization=owner,
            data=data,
            audience_unions=unions or [],
            acting_user=self.request.user,
        )

    def perform_update_action(self, row, data):
        data, unions = _action_args(data, self.request.user)
        return actions.update_service(
            service=row, data=data, audience_unions=unions, acting_user=self.request.user
        )

    @extend_schema(request=None, responses=ServiceSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        """Put the service on the menu of every member of the union's subtree."""
        return self.action_response(
            actions.publish_service(service=self.get_object(), acting_user=request.user)
        )

    @extend_schema(request=None, responses=ServiceSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """Take the service off the menu; open orders are still handled."""
        return self.action_response(
            actions.close_service(service=self.get_object(), acting_user=request.user)
        )


# --- Requests --------------------------------------------------------------------------------


class ServiceRequestSerializer(serializers.ModelSerializer):
    service_title = serializers.CharField(source="service.title", read_only=True)
    member_name = serializers.CharField(source="member.masked_name", read_only=True)
    membership_number = serializers.SerializerMethodField(
        help_text="In full for officers who reach the member's personal data, else masked."
    )
    status = serializers.CharField(
        read_only=True,
        help_text="submitted, accepted, in_progress, completed, rejected or cancelled",
    )
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = ServiceRequest
        fields = [
            "id",
            "service",
            "service_title",
            "member",
            "member_name",
            "membership_number",
            "organization",
            "member_union",
            "status",
            "status_display",
            "note",
            "due_at",
            "handler",
            "result",
            "rejection_reason",
            "rating",
            "rating_comment",
            "created_at",
            "closed_at",
        ]
        read_only_fields = fields

    def get_membership_number(self, obj) -> str:
        return membership_number_for(self.context["request"].user, obj.member)


class RequestResultSerializer(serializers.Serializer):
    result = serializers.CharField(max_length=2000)


class RequestReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class RequestCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)


class ConfidentialNoteSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConfidentialNote
        fields = ["id", "author", "text", "created_at"]
        read_only_fields = ["id", "author", "created_at"]


class ServiceRequestViewSet(
    ActionViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, scope.ScopedGenericViewSet
):
    """Requests handled by, or ordered by members of, the unions the caller handles."""

    queryset = ServiceRequest.objects.select_related("service", "member__organization")
    serializer_class = ServiceRequestSerializer
    read_access = scope.Access.HANDLE
    write_access = scope.Access.HANDLE
    filterset_fields = ["status", "service", "organization", "member_union"]
    ordering_fields = ["created_at", "due_at"]
    http_method_names = ["get", "post", "head", "options"]

    def narrow_queryset(self, queryset):
        return queryset.order_by("due_at", "pk")

    def retrieve(self, request, *args, **kwargs):
        """One request; reads of a legal-aid or counselling request are in the audit log."""
        req = self.get_object()
        if req.service.is_confidential:
            record_read(
                actor=request.user,
                action="service_request.viewed",
                obj=req,
                organization=req.organization,
            )
        return Response(self.get_serializer(req).data)

    @extend_schema(request=None, responses=ServiceRequestSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """The handling staff accept the order."""
        return self.action_response(
            request_actions.accept_request(request=self.get_object(), acting_user=request.user)
        )

    @extend_schema(request=None, responses=ServiceRequestSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        """Work on the order has begun."""
        return self.action_response(
            request_actions.start_request(request=self.get_object(), acting_user=request.user)
        )

    @extend_schema(request=RequestResultSerializer, responses=ServiceRequestSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        """The service was given; the result is shown to the member."""
        req = self.get_object()
        data = self.validated_body(RequestResultSerializer)
        return self.action_response(
            request_actions.complete_request(
                request=req, result=data["result"], acting_user=request.user
            )
        )

    @extend_schema(request=RequestReasonSerializer, responses=ServiceRequestSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Turn the order down with a reason; the place is freed."""
        req = self.get_object()
        data = self.validated_body(RequestReasonSerializer)
        return self.action_response(
            request_actions.reject_request(
                request=req, reason=data["reason"], acting_user=request.user
            )
        )

    @extend_schema(request=RequestCancelSerializer, responses=ServiceRequestSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """The handling staff cancel an open order; the place is freed."""
        req = self.get_object()
        data = self.validated_body(RequestCancelSerializer)
        return self.action_response(
            request_actions.cancel_request(
                request=req, reason=data["reason"], acting_user=request.user
            )
        )

    @extend_schema(methods=["GET"], responses=ConfidentialNoteSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request=ConfidentialNoteSerializer,
        responses={201: ConfidentialNoteSerializer},
    )
    # All notes, unpaginated and unfiltered (the list's filters are not its own).
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def notes(self, request, pk=None):
        """Confidential notes of a legal-aid or counselling request: handling staff only."""
        req = self.get_object()
        allowed = can_see_confidential(request.user, req)
        if request.method == "GET" or not allowed:
            record_read(
                actor=request.user,
                action="service_request.notes_viewed",
                obj=req,
                organization=req.organization,
                refused=not allowed,
            )
        if not allowed:
            raise NotFound()
        if request.method == "POST":
            data = self.validated_body(ConfidentialNoteSerializer)
            note = request_actions.add_confidential_note(
                request=req, text=data["text"], acting_user=request.user
            )
            return Response(ConfidentialNoteSerializer(note).data, status=status.HTTP_201_CREATED)
        notes = confidential_notes(request=req, user=request.user)
        return Response(ConfidentialNoteSerializer(notes, many=True).data)


# --- Wishes ----------------------------------------------------------------------------------


class ServiceWishSerializer(serializers.ModelSerializer):
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    status = serializers.CharField(read_only=True, help_text="open, answered or declined")
    category = serializers.CharField(read_only=True, help_text=", ".join(ServiceCategory.values))

    class Meta:
        model = ServiceWish
        fields = [
            "id",
            "organization",
            "organization_name",
            "title",
            "description",
            "category",
            "status",
            "votes",
            "answer",
            "answered_at",
            "created_at",
        ]
        read_only_fields = fields


class WishDeclineSerializer(serializers.Serializer):
    answer = serializers.CharField(max_length=2000)


class WishAnswerSerializer(ServiceInputSerializer):
    organization = serializers.IntegerField(
        required=False, help_text=_("The addressed union (default) or a union above it.")
    )
    publish = serializers.BooleanField(required=False, default=False)
    answer = serializers.CharField(required=False, default="", allow_blank=True, max_length=2000)


class ServiceWishViewSet(
    ActionViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, scope.ScopedGenericViewSet
):
    """Wishes addressed to the unions of the caller's subtree, most voted first."""

    queryset = ServiceWish.objects.select_related("organization")
    serializer_class = ServiceWishSerializer
    write_access = scope.Access.HANDLE
    filterset_fields = ["status", "category", "organization"]
    http_method_names = ["get", "post", "head", "options"]

    def narrow_queryset(self, queryset):
        return queryset.order_by("-votes", "-created_at", "-pk")

    @extend_schema(request=WishDeclineSerializer, responses=ServiceWishSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        """Decline the wish; its proposer and voters are told why."""
        wish = self.get_object()
        data = self.validated_body(WishDeclineSerializer)
        wish = wish_actions.decline_wish(wish=wish, answer=data["answer"], acting_user=request.user)
        return self.action_response(wish)

    @extend_schema(request=WishAnswerSerializer, responses={201: ServiceSerializer})
    @action(detail=True, methods=["post"])
    def answer(self, request, pk=None):
        """Answer the wish with a new service; its proposer and voters are told."""
        wish = self.get_object()
        body = self.validated_body(WishAnswerSerializer)
        _create_fields_required(body)
        extra = {k: body.pop(k) for k in ("publish", "answer")}
        org_id = body.pop("organization", None)
        organization = wish.organization
        if org_id is not None:
            organization = (
                scope.organizations(request.user, scope.Access.CHANGE).filter(pk=org_id).first()
            )
            if organization is None:
                raise ValidationError({"organization": [_("No such union of yours.")]})
        data, unions = _action_args(body, request.user)
        service = wish_actions.answer_wish_with_service(
            wish=wish,
            data=data,
            audience_unions=unions or [],
            organization=organization,
            acting_user=request.user,
            **extra,
        )
        return Response(
            ServiceSerializer(Service.objects.get(pk=service.pk)).data,
            status=status.HTTP_201_CREATED,
        )


ROUTES = [
    ("services", ServiceViewSet, "api-service"),
    ("service-requests", ServiceRequestViewSet, "api-service-request"),
    ("service-wishes", ServiceWishViewSet, "api-service-wish"),
]
