"""API: hardship aid cases (/api/v1/aid-cases/), read-only and for aid officers only.

`GET /api/v1/aid-cases/figures/?organization=<id>` gives the figures of an organization's
subtree to any officer who may view it, with counts under 5 suppressed (null) for those
without hardship aid access. The steps are done in the admin (they call the actions).
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from core.audit import record_read
from organizations import scope
from organizations.models import Organization

from ..models import AidCase
from ..selectors.aid import aid_counts


class AidCaseSerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="member.name", read_only=True)
    membership_number = serializers.CharField(source="member.membership_number", read_only=True)
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    approver_name = serializers.CharField(source="approver.name", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    # Plain strings: as enums they would collide with other "status"/"tier" choice sets.
    status = serializers.CharField(read_only=True)
    tier = serializers.CharField(read_only=True)
    reason = serializers.CharField(read_only=True)

    class Meta:
        model = AidCase
        fields = [
            "id",
            "member",
            "member_name",
            "membership_number",
            "organization",
            "organization_name",
            "approver",
            "approver_name",
            "year",
            "tier",
            "reason",
            "household_size",
            "household_monthly_income",
            "situation",
            "amount_requested",
            "amount_approved",
            "status",
            "status_display",
            "applied_by_member",
            "notice_starts_on",
            "notice_ends_on",
            "next_review_on",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class FigureSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    value = serializers.IntegerField(allow_null=True, help_text="null: fewer than 5")


class AidFiguresSerializer(serializers.Serializer):
    organization = serializers.IntegerField(source="organization.pk")
    full = serializers.BooleanField(help_text="false: counts under 5 are null")
    cases = serializers.IntegerField(allow_null=True)
    approved = serializers.IntegerField(allow_null=True)
    disbursed_count = serializers.IntegerField(allow_null=True)
    disbursed_yuan = serializers.FloatField(allow_null=True)
    by_status = serializers.SerializerMethodField()
    by_tier = serializers.SerializerMethodField()

    def _rows(self, rows):
        return [{"key": k, "label": str(label), "value": v} for k, label, v in rows]

    @extend_schema_field(FigureSerializer(many=True))
    def get_by_status(self, obj) -> list[dict]:
        return self._rows(obj["by_status"])

    @extend_schema_field(FigureSerializer(many=True))
    def get_by_tier(self, obj) -> list[dict]:
        return self._rows(obj["by_tier"])


class AidCaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, scope.ScopedGenericViewSet):
    """Hardship aid cases in the caller's hardship aid area (others get 404)."""

    queryset = AidCase.objects.select_related("member", "organization", "approver")
    serializer_class = AidCaseSerializer
    read_access = scope.Access.AID
    write_access = scope.Access.AID
    filterset_fields = ["status", "tier", "year", "organization"]
    ordering_fields = ["created_at", "year", "notice_ends_on"]
    http_method_names = ["get", "head", "options"]

    def narrow_queryset(self, queryset):
        return queryset.order_by("-created_at", "-pk")

    def retrieve(self, request, *args, **kwargs):
        """One case; every such read is in the audit log."""
        case = self.get_object()
        record_read(
            actor=request.user, action="aid_case.viewed", obj=case, organization=case.organization
        )
        return Response(self.get_serializer(case).data)

    @extend_schema(
        parameters=[OpenApiParameter("organization", int, required=True)],
        responses=AidFiguresSerializer,
    )
    @action(detail=False, methods=["get"])
    def figures(self, request):
        """Figures of an organization's subtree, small counts suppressed unless the caller
        handles hardship aid there."""
        raw = request.query_params.get("organization", "")
        if not raw.isdigit():
            raise ValidationError({"organization": [_("Give the id of an organization.")]})
        org = scope.get_object_or_404(
            request.user, Organization.objects.all(), scope.Access.VIEW, pk=int(raw)
        )
        return Response(AidFiguresSerializer(aid_counts(request.user, org)).data)


ROUTES = [("aid-cases", AidCaseViewSet, "api-aid-case")]
