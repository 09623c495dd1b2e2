"""API: dues records (/api/v1/dues/), payments and the per-month split.

`GET /api/v1/dues/` (filters `?period=YYYY-MM`, `?arrears=1`), `GET …/{id}/`, and
`POST …/{id}/pay/` (`amount`, `paid_on`, `method`) for the union's administrators.
Records are personal data: reads and writes need personal-data access to the record's
union; outside it a record does not exist (404). `GET …/summary/?organization=&period=`
returns how a grassroots union's collected dues split between the levels (aggregates:
view access to the union).
"""

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from core.api import ActionViewSetMixin
from organizations import scope
from organizations.models import Organization

from ..actions import dues as actions
from ..models import DuesRecord, PaymentMethod
from ..selectors import dues as selectors

# A month as the API writes and reads it: YYYY-MM.
MONTH_PATTERN = r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$"


class DuesRecordSerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="member.masked_name", read_only=True)
    membership_number = serializers.CharField(source="member.membership_number", read_only=True)
    month = serializers.SerializerMethodField()
    outstanding = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True)
    method_display = serializers.CharField(source="get_method_display", read_only=True)
    # Declared for the schema: a read-only model field loses `blank`, and "" is a value.
    method = serializers.ChoiceField(
        choices=PaymentMethod.choices, allow_blank=True, read_only=True, label=_("payment method")
    )

    class Meta:
        model = DuesRecord
        fields = [
            "id",
            "member",
            "member_name",
            "membership_number",
            "organization",
            "period",
            "month",
            "wage_base",
            "amount_due",
            "amount_paid",
            "outstanding",
            "paid_on",
            "method",
            "method_display",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        # The wage base is restricted to those who may change it.
        if request is None or not request.user.has_perm("members.change_wage_base"):
            self.fields.pop("wage_base")

    @extend_schema_field({"type": "string", "pattern": MONTH_PATTERN})
    def get_month(self, obj) -> str:
        return obj.period.strftime("%Y-%m")


class PaymentSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    paid_on = serializers.DateField(required=False)
    method = serializers.ChoiceField(choices=PaymentMethod.choices)


class SplitPartSerializer(serializers.Serializer):
    organization = serializers.IntegerField(source="organization.pk")
    name = serializers.CharField(source="organization.name")
    level = serializers.CharField(source="organization.level")
    percent = serializers.DecimalField(max_digits=5, decimal_places=2)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    kept = serializers.BooleanField()


def _period_param(value: str):
    """A month as the schema gives it (YYYY-MM, nothing else), or a 400."""
    try:
        if not re.fullmatch(MONTH_PATTERN, value):
            raise DjangoValidationError("not YYYY-MM")
        return selectors.parse_month(value)
    except DjangoValidationError:
        raise ValidationError({"period": [_("Give the month as YYYY-MM, e.g. 2025-01.")]}) from None


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "period", OpenApiTypes.STR, description=_("Month, YYYY-MM."), pattern=MONTH_PATTERN
            ),
            OpenApiParameter(
                "arrears", OpenApiTypes.BOOL, description=_("1: only months over and not paid.")
            ),
        ]
    )
)
class DuesRecordViewSet(
    ActionViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, scope.ScopedGenericViewSet
):
    """Dues records of the unions whose members' data the caller handles."""

    queryset = DuesRecord.objects.select_related("member", "organization")
    serializer_class = DuesRecordSerializer
    read_access = scope.Access.PERSONAL
    write_access = scope.Access.CHANGE
    filter_backends = []  # personal data: no free-text search or ordering by name

    def narrow_queryset(self, queryset):
        # Paying needs personal-data access as well, or the record does not exist.
        queryset = scope.filter_queryset(self.request.user, queryset, scope.Access.PERSONAL)
        params = self.request.query_params
        # The list's filters; a period given empty, or as a day, is refused: not a month.
        if self.action == "list" and "period" in params:
            queryset = queryset.filter(period=_period_param(params["period"]))
        if self.action == "list" and params.get("arrears") in ("1", "true", "yes"):
            queryset = selectors.arrears(queryset)
        return queryset.order_by("-period", "-pk")

    @extend_schema(request=PaymentSerializer, responses=DuesRecordSerializer)
    @action(detail=True, methods=["post"])
    def pay(self, request, pk=None):
        """Record a payment; more than the outstanding amount is refused."""
        record = self.get_object()
        data = self.validated_body(PaymentSerializer)
        record = actions.record_payment(
            record=record,
            amount=data["amount"],
            paid_on=data.get("paid_on") or timezone.localdate(),
            method=data["method"],
            acting_user=request.user,
        )
        return self.action_response(record)

    @extend_schema(
        parameters=[
            OpenApiParameter("organization", OpenApiTypes.INT, required=True),
            OpenApiParameter(
                "period",
                OpenApiTypes.STR,
                required=True,
                description=_("Month, YYYY-MM."),
                pattern=MONTH_PATTERN,
            ),
        ],
        responses=inline_serializer(
            "DuesSplit",
            {
                "organization": serializers.IntegerField(),
                "period": serializers.RegexField(MONTH_PATTERN),
                "collected": serializers.DecimalField(max_digits=14, decimal_places=2),
                "parts": SplitPartSerializer(many=True),
            },
        ),
    )
    @action(detail=False, methods=["get"])
    def summary(self, request):
        """How a grassroots union's dues collected in a month split between the levels."""
        org = self.organization_from_query(scope.Access.VIEW)
        period = _period_param(request.query_params.get("period", ""))
        parts = selectors.dues_split(organization=org, period=period)
        totals = selectors.period_summary(
            organizations_qs=Organization.objects.filter(pk=org.pk), period=period
        )
        total = totals[0] if totals else None
        return Response(
            {
                "organization": org.pk,
                "period": period.strftime("%Y-%m"),
                "collected": str(sum((p["amount"] for p in parts), selectors.ZERO)),
                "due": str(total["due"] if total else selectors.ZERO),
                "outstanding": str(total["outstanding"] if total else selectors.ZERO),
                "parts": SplitPartSerializer(parts, many=True).data,
            }
        )


ROUTES = [("dues", DuesRecordViewSet, "dues")]
