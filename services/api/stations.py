"""API: service stations (/api/v1/stations/) and each organization's service settings
(/api/v1/service-settings/), scoped to the caller's unions.

Officers see the stations of their subtrees; administrators create them in the union named
by `?organization=` (never by the request body), correct them, and close or reopen them.
Settings are for administrators only; `POST ?organization=` creates or changes a union's
row, `PATCH …/{id}/` changes it.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api import ActionUpdateMixin
from organizations import scope

from ..actions import stations as actions
from ..models import ServiceSettings, Station, StationKind
from ..selectors import stations as selectors


class StationSerializer(serializers.ModelSerializer):
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    rating = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = Station
        fields = [
            "id",
            "organization",
            "organization_name",
            "name",
            "kind",
            "kind_display",
            "address",
            "opening_hours",
            "latitude",
            "longitude",
            "phone",
            "description",
            "is_active",
            "rating",
            "rating_count",
            "created_at",
        ]
        read_only_fields = fields


class NearbyStationSerializer(StationSerializer):
    distance_km = serializers.FloatField(read_only=True)

    class Meta(StationSerializer.Meta):
        fields = [*StationSerializer.Meta.fields, "distance_km"]
        read_only_fields = fields


class StationInputSerializer(serializers.Serializer):
    """A station's fields as typed; validated by `actions.clean_station_data`."""

    name = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(choices=StationKind.choices, default=StationKind.WORKERS_HOME)
    address = serializers.CharField(max_length=255)
    opening_hours = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True
    )
    latitude = serializers.DecimalField(
        max_digits=9,
        decimal_places=6,
        min_value=-90,
        max_value=90,
        coerce_to_string=False,  # documented as a number, with its limits
        required=False,
        allow_null=True,
        default=None,
    )
    longitude = serializers.DecimalField(
        max_digits=9,
        decimal_places=6,
        min_value=-180,
        max_value=180,
        coerce_to_string=False,
        required=False,
        allow_null=True,
        default=None,
    )
    phone = serializers.CharField(max_length=32, required=False, default="", allow_blank=True)
    description = serializers.CharField(required=False, default="", allow_blank=True)


class StationUpdateSerializer(StationInputSerializer):
    """A correction: fields left out keep their value."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False
            field.default = serializers.empty


class NearbySerializer(serializers.Serializer):
    # Numbers in the schema, with their limits (a query parameter is text all the same).
    lat = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=-90, max_value=90, coerce_to_string=False
    )
    lon = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=-180, max_value=180, coerce_to_string=False
    )
    limit = serializers.IntegerField(min_value=1, max_value=50, default=10)


class StationViewSet(
    scope.TenantCreateMixin,
    ActionUpdateMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    scope.ScopedGenericViewSet,
):
    """Service stations of the caller's unions and the unions below them."""

    queryset = Station.objects.select_related("organization")
    serializer_class = StationSerializer
    read_access = scope.Access.VIEW
    write_access = scope.Access.CHANGE
    filterset_fields = ["organization", "kind", "is_active"]
    search_fields = ["name", "address"]
    ordering_fields = ["name", "rating_count", "created_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    create_input = StationInputSerializer
    update_input = StationUpdateSerializer
    reread_after_action = False

    def narrow_queryset(self, queryset):
        return queryset.order_by("name", "pk")

    def perform_create_action(self, owner, data):
        return actions.create_station(organization=owner, data=data, acting_user=self.request.user)

    def perform_update_action(self, row, data):
        return actions.update_station(station=row, data=data, acting_user=self.request.user)

    @extend_schema(request=None, responses=StationSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """Close the station: members no longer see it or rate it; its history stays."""
        station = actions.close_station(station=self.get_object(), acting_user=request.user)
        return self.action_response(station)

    @extend_schema(request=None, responses=StationSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        station = actions.reopen_station(station=self.get_object(), acting_user=request.user)
        return self.action_response(station)

    @extend_schema(
        parameters=[NearbySerializer],
        responses=NearbyStationSerializer(many=True),
    )
    # At most `limit` stations, unpaginated; the list's filters are not its own.
    @action(detail=False, methods=["get"], pagination_class=None, filter_backends=[])
    def nearby(self, request):
        """The open stations of your scope nearest to a point, nearest first."""
        query = NearbySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = selectors.nearby(
            query.validated_data["lat"],
            query.validated_data["lon"],
            query.validated_data["limit"],
            self.get_queryset().filter(is_active=True),
        )
        return Response(
            [
                {**StationSerializer(station).data, "distance_km": round(km, 2)}
                for station, km in rows
            ]
        )


class ServiceSettingsSerializer(serializers.ModelSerializer):
    organization_name = serializers.CharField(source="organization.name", read_only=True)

    class Meta:
        model = ServiceSettings
        fields = [
            "id",
            "organization",
            "organization_name",
            *actions.SETTINGS_FIELDS,
        ]
        read_only_fields = fields


class ServiceSettingsInputSerializer(serializers.Serializer):
    """Validated by `actions.clean_settings`; fields left out keep their value."""

    concern_days_general = serializers.IntegerField(required=False)
    concern_days_difficult = serializers.IntegerField(required=False)
    concern_days_complex = serializers.IntegerField(required=False)
    aid_approval_level = serializers.CharField(
        required=False, allow_blank=True, max_length=20, help_text=_("A level above grassroots.")
    )
    aid_notice_days = serializers.IntegerField(required=False)


class ServiceSettingsViewSet(
    scope.TenantCreateMixin,
    ActionUpdateMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    scope.ScopedGenericViewSet,
):
    """Service settings of the unions the caller administers."""

    queryset = ServiceSettings.objects.select_related("organization")
    serializer_class = ServiceSettingsSerializer
    read_access = scope.Access.CHANGE
    write_access = scope.Access.CHANGE
    filterset_fields = ["organization"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    create_input = ServiceSettingsInputSerializer
    update_input = ServiceSettingsInputSerializer
    reread_after_action = False

    def narrow_queryset(self, queryset):
        return queryset.order_by("organization__tree_id", "organization__lft")

    def perform_create_action(self, owner, data):
        return actions.save_settings(organization=owner, data=data, acting_user=self.request.user)

    def perform_update_action(self, row, data):
        return actions.save_settings(
            organization=row.organization, data=data, acting_user=self.request.user
        )


# Basenames prefixed "api-": the portal's pages are named "stations-list", "stations-detail".
ROUTES = [
    ("stations", StationViewSet, "api-station"),
    ("service-settings", ServiceSettingsViewSet, "api-service-settings"),
]
