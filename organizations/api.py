"""REST API for the union tree: /api/v1/organizations/ (scoped)."""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import MethodNotAllowed, NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from . import actions, scope, selectors
from .models import Organization


def exception_handler(exc, context):
    """Turn the actions' Django errors into API errors (400/403) with their messages, and a
    404 into the generic "Not found." (Django's message names the model: "No Concern
    matches the given query.")."""
    if isinstance(exc, Http404):
        exc = NotFound()
    elif isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = ValidationError(detail)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = PermissionDenied(str(exc) or None)
    return drf_exception_handler(exc, context)


class OrganizationSerializer(serializers.ModelSerializer):
    level_display = serializers.CharField(source="get_level_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    region_name = serializers.CharField(read_only=True)

    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "short_name",
            "level",
            "level_display",
            "parent",
            "uscc",
            "region_code",
            "region_name",
            "address",
            "contact_phone",
            "founded_on",
            "dues_share_percent",
            "keeps_retained_members",
            "industry",
            "employees",
            "status",
            "status_display",
            "dissolved_on",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["parent", "status", "dissolved_on", "created_at", "updated_at"]
        # Uniqueness is checked by the action with a clear message; DRF's generic
        # validator would bypass the conditional constraint.
        validators = []


class OrganizationBriefSerializer(serializers.ModelSerializer):
    level_display = serializers.CharField(source="get_level_display", read_only=True)

    class Meta:
        model = Organization
        fields = ["id", "name", "level", "level_display"]


class MoveSerializer(serializers.Serializer):
    parent = serializers.IntegerField(help_text=_("Id of the new parent organization."))


# No create: organizations are made under their parent, so the collection takes no POST
# (and its `Allow` does not offer one).
class OrganizationViewSet(
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    mixins.ListModelMixin,
    scope.ScopedGenericViewSet,
):
    """Organizations in the caller's scope. New ones are created under a parent:
    `POST /api/v1/organizations/{id}/children/`."""

    queryset = Organization.objects.all()
    serializer_class = OrganizationSerializer
    filterset_fields = ["level", "status", "region_code", "parent"]
    search_fields = ["name", "short_name", "name_initials", "name_pinyin", "uscc"]
    ordering_fields = ["name", "level", "founded_on", "created_at"]
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def narrow_queryset(self, queryset):
        return queryset.order_by("tree_id", "lft")

    def http_method_not_allowed(self, request, *args, **kwargs):
        if request.method == "POST" and "pk" not in kwargs:
            raise MethodNotAllowed(
                request.method,
                detail=_("Create an organization under its parent: POST …/{id}/children/."),
            )
        return super().http_method_not_allowed(request, *args, **kwargs)

    def perform_update(self, serializer):
        data = actions.editable_data(serializer.validated_data)
        serializer.instance = actions.update_organization(
            organization=serializer.instance, data=data, acting_user=self.request.user
        )

    def perform_destroy(self, instance):
        actions.delete_organization(organization=instance, acting_user=self.request.user)

    @extend_schema(
        methods=["GET"],
        responses=OrganizationSerializer(many=True),
        summary="List the direct subordinates of an organization",
    )
    @extend_schema(
        methods=["POST"],
        request=OrganizationSerializer,
        responses={201: OrganizationSerializer},
        summary="Create an organization under this one",
    )
    @action(detail=True, methods=["get", "post"])
    def children(self, request, pk=None):
        parent = self.get_object()
        if request.method == "POST":
            serializer = OrganizationSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = actions.editable_data(serializer.validated_data)
            org = actions.create_organization(parent=parent, data=data, acting_user=request.user)
            return Response(OrganizationSerializer(org).data, status=status.HTTP_201_CREATED)
        children = self.get_queryset().filter(parent=parent)
        page = self.paginate_queryset(self.filter_queryset(children))
        return self.get_paginated_response(OrganizationSerializer(page, many=True).data)

    @extend_schema(responses=OrganizationBriefSerializer(many=True))
    # The whole chain, unpaginated and unfiltered (the list's filters are not its own).
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def ancestors(self, request, pk=None):
        """The chain of parent federations, national federation first (public facts)."""
        org = self.get_object()
        return Response(OrganizationBriefSerializer(selectors.chain(org), many=True).data)

    @extend_schema(request=MoveSerializer, responses=OrganizationSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        org = self.get_object()
        body = MoveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        new_parent = (
            scope.organizations(request.user, scope.Access.CHANGE)
            .filter(pk=body.validated_data["parent"])
            .first()
        )
        if new_parent is None:
            raise ValidationError({"parent": [_("No such organization in your area.")]})
        org = actions.move_organization(
            organization=org, new_parent=new_parent, acting_user=request.user
        )
        return Response(OrganizationSerializer(org).data)

    @extend_schema(
        request=None,
        responses=inline_serializer("DissolveResult", {"status": serializers.CharField()}),
    )
    @action(detail=True, methods=["post"])
    def dissolve(self, request, pk=None):
        org = self.get_object()
        org = actions.dissolve_organization(organization=org, acting_user=request.user)
        return Response({"status": org.status})
