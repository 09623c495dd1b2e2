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

    @extend_schema(parameters=PERIOD_PARAMETERS, responses=OpenApiTypes.OBJECT)
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

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True)
    def children(self, request, pk=None):
        """The child unions with their subtree figures (all of them, largest first)."""
        org = self.get_object()
        return Response(selectors.children(org, page=None))


ROUTES = [("stats/organizations", StatsViewSet, "stats")]
