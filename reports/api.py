"""Statistics as JSON: /api/v1/stats/organizations/<id>/{totals,dashboard,children}/.

The same figures as the dashboard, for the organizations in the caller's statistics scope
(subtrees of grants above grassroots level); any other id answers 404.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from organizations import scope
from organizations.models import Organization

from . import selectors
from .replica import ReplicaReadsMixin

PERIOD_PARAMETERS = [
    OpenApiParameter("period", str, enum=[code for code, _label in selectors.PERIOD_CHOICES]),
    OpenApiParameter("from", OpenApiTypes.DATE, description=_("Start of a custom period")),
    OpenApiParameter("to", OpenApiTypes.DATE, description=_("End of a custom period")),
]


class OrganizationRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    level = serializers.CharField()


class TotalsSerializer(serializers.Serializer):
    organization = OrganizationRefSerializer()
    figures = serializers.DictField(child=serializers.IntegerField(allow_null=True))


# The figures of `selectors.dashboard()` and `selectors.children()`, documented for the
# schema (the views answer the selectors' plain data as it is).
class OrganizationLabelSerializer(OrganizationRefSerializer):
    level_label = serializers.CharField()


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    code = serializers.CharField(help_text=_("The preset's code, or custom."))


class HeadlineSerializer(serializers.Serializer):
    members = serializers.IntegerField()
    retained = serializers.IntegerField()
    grassroots_unions = serializers.IntegerField()
    union_groups = serializers.IntegerField()
    employees = serializers.IntegerField()
    membership_rate = serializers.FloatField(allow_null=True)
    requests = serializers.IntegerField()
    requests_completed = serializers.IntegerField()
    completion_rate = serializers.FloatField(allow_null=True)
    satisfaction = serializers.FloatField(allow_null=True)
    concerns_raised = serializers.IntegerField()
    concerns_open = serializers.IntegerField()
    concerns_overdue = serializers.IntegerField()
    concern_escalations = serializers.IntegerField()
    concern_response_hours = serializers.FloatField(allow_null=True)
    concern_satisfaction = serializers.FloatField(allow_null=True)
    activity_registrations = serializers.IntegerField()
    activity_attendance = serializers.IntegerField()
    wishes_open = serializers.IntegerField()
    wish_votes = serializers.IntegerField()
    dues_due = serializers.FloatField(help_text=_("Yuan."))
    dues_paid = serializers.FloatField(help_text=_("Yuan."))
    dues_collection_rate = serializers.FloatField(allow_null=True)
    aid_cases = serializers.IntegerField(allow_null=True, help_text=_("Null: under five."))
    aid_approved = serializers.IntegerField(allow_null=True, help_text=_("Null: under five."))
    aid_disbursed = serializers.FloatField(allow_null=True, help_text=_("Yuan; null: suppressed."))
    legal_aid_requests = serializers.IntegerField(allow_null=True)


class FlowsSerializer(serializers.Serializer):
    values = serializers.DictField(
        child=serializers.IntegerField(allow_null=True),
        help_text=_("Each flow's change within the period; null: unknown."),
    )
    since = serializers.DateField(
        allow_null=True, help_text=_("From which day the daily figures are kept.")
    )


class TrendPointSerializer(serializers.Serializer):
    date = serializers.DateField()
    members = serializers.IntegerField()
    joined = serializers.IntegerField(required=False)
    withdrawn = serializers.IntegerField(required=False)


class TrendSerializer(serializers.Serializer):
    granularity = serializers.ChoiceField(choices=["day", "month"])
    points = TrendPointSerializer(many=True)


class BreakdownRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    value = serializers.IntegerField()


class CategoryRowSerializer(BreakdownRowSerializer):
    value = serializers.IntegerField(allow_null=True, help_text=_("Null: under five."))
    sensitive = serializers.BooleanField()


class UnionFiguresRowSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True)
    label = serializers.CharField()
    members = serializers.IntegerField()
    grassroots_unions = serializers.IntegerField()


class ChildRowSerializer(OrganizationLabelSerializer):
    members = serializers.IntegerField()
    grassroots_unions = serializers.IntegerField()
    employees = serializers.IntegerField()
    membership_rate = serializers.FloatField(allow_null=True)
    concerns_open = serializers.IntegerField()
    requests = serializers.IntegerField()


class ChildrenSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    pages = serializers.IntegerField()
    rows = ChildRowSerializer(many=True)


class DashboardSerializer(serializers.Serializer):
    organization = OrganizationLabelSerializer()
    period = PeriodSerializer()
    as_of = serializers.DateTimeField()
    headline = HeadlineSerializer()
    flows = FlowsSerializer()
    trend = TrendSerializer()
    by_employment = BreakdownRowSerializer(many=True)
    by_gender = BreakdownRowSerializer(many=True)
    by_age = BreakdownRowSerializer(many=True)
    by_industry = UnionFiguresRowSerializer(many=True)
    by_category = CategoryRowSerializer(many=True)
    children = ChildrenSerializer()
    affiliated_by_region = UnionFiguresRowSerializer(many=True)


PAGE_PARAMETER = OpenApiParameter(
    "page", OpenApiTypes.INT, description=_("The page of the child unions (50 a page).")
)


class StatsViewSet(ReplicaReadsMixin, scope.ScopedGenericViewSet):
    """Subtree figures of one organization: exact, from the roll-ups."""

    queryset = Organization.objects.all()
    serializer_class = TotalsSerializer

    def narrow_queryset(self, queryset):
        return queryset.filter(scope.statistics_q(self.request.user))

    def _period(self) -> selectors.Period:
        params = self.request.query_params
        try:
            return selectors.parse_period(
                params.get("period"), params.get("from"), params.get("to")
            )
        except selectors.PeriodError as error:
            raise ValidationError({"period": [str(error)]}) from None

    @extend_schema(responses=TotalsSerializer)
    @action(detail=True)
    def totals(self, request, pk=None):
        """Every subtree counter of the organization (keys as in the counters), exact."""
        org = self.get_object()
        values = selectors.suppress_counters(selectors.current(org))
        return Response(
            {
                "organization": {"id": org.pk, "name": org.name, "level": org.level},
                "figures": values,
            }
        )

    @extend_schema(parameters=[*PERIOD_PARAMETERS, PAGE_PARAMETER], responses=DashboardSerializer)
    @action(detail=True)
    def dashboard(self, request, pk=None):
        """The dashboard's figures: headline, period flows, trend, breakdowns, children."""
        org = self.get_object()
        page = request.query_params.get("page") or 1
        try:
            page = int(page)
        except ValueError:
            raise ValidationError({"page": [_("A page is a whole number.")]}) from None
        return Response(selectors.dashboard(org, self._period(), child_page=page))

    @extend_schema(responses=ChildrenSerializer)
    @action(detail=True)
    def children(self, request, pk=None):
        """The child unions with their subtree figures (all of them, largest first)."""
        org = self.get_object()
        return Response(selectors.children(org, page=None))


ROUTES = [("stats/organizations", StatsViewSet, "stats")]
