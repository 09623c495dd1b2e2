"""API: the member register (/api/v1/members/), scoped to personal-data access.

Identifiers are masked in every response; the full ID number or phone comes only from
`POST …/{id}/reveal/`, which writes an audit entry. New members are enrolled in the union
named in the URL (`?organization=`), never in one named by the request body.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from core.api import ActionCreateMixin, ActionUpdateMixin
from organizations import scope

from .. import people
from ..actions import records as actions
from ..models import ETHNICITIES, Education, EmploymentType, Member, MembershipEvent


class MemberSerializer(serializers.ModelSerializer):
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    employment_type_display = serializers.CharField(
        source="get_employment_type_display", read_only=True
    )
    # Declared for the schema: a read-only model field loses `blank`, and "" is a value.
    education = serializers.ChoiceField(
        choices=Education.choices, allow_blank=True, read_only=True, label=_("education")
    )

    class Meta:
        model = Member
        fields = [
            "id",
            "membership_number",
            "name",
            "gender",
            "birth_date",
            "ethnicity",
            "id_masked",
            "phone_masked",
            "education",
            "employer",
            "job",
            "employment_type",
            "employment_type_display",
            "join_date",
            "status",
            "status_display",
            "status_changed_on",
            "organization",
            "organization_name",
            "card_number",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class PersonInputSerializer(serializers.Serializer):
    """Real-name data as typed; validated by `members.people.clean_person`."""

    name = serializers.CharField(max_length=60)
    id_number = serializers.CharField(max_length=24, write_only=True)
    phone = serializers.CharField(max_length=20, write_only=True)
    ethnicity = serializers.ChoiceField(choices=ETHNICITIES, default="01")
    # Optional on the record (blank: not given), so "" is accepted and is the default.
    education = serializers.ChoiceField(
        choices=Education.choices, required=False, default="", allow_blank=True
    )
    employer = serializers.CharField(max_length=200)
    job = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    employment_type = serializers.ChoiceField(
        choices=EmploymentType.choices, default=EmploymentType.FULL_TIME
    )
    join_date = serializers.DateField(required=False)


class PersonUpdateSerializer(PersonInputSerializer):
    """A correction: fields left out keep their value."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False
        self.fields.pop("join_date")


class StatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["withdrawn", "expelled", "deceased"])
    reason = serializers.CharField(max_length=500)
    effective_on = serializers.DateField(required=False)


class RevealSerializer(serializers.Serializer):
    field = serializers.ChoiceField(choices=sorted(actions.REVEALABLE))
    reason = serializers.CharField(max_length=200)


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = MembershipEvent
        fields = [
            "id",
            "kind",
            "effective_on",
            "at",
            "from_status",
            "to_status",
            "from_organization",
            "to_organization",
            "reason",
            "transfer",
        ]


class MemberViewSet(
    ActionCreateMixin,
    ActionUpdateMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    scope.ScopedGenericViewSet,
):
    """Members of the grassroots unions where the caller keeps member records."""

    queryset = Member.objects.filter(deleted_at__isnull=True).select_related("organization")
    serializer_class = MemberSerializer
    read_access = scope.Access.PERSONAL
    write_access = scope.Access.PERSONAL
    filterset_fields = ["status", "employment_type", "gender", "organization", "education"]
    search_fields = ["name", "membership_number", "employer"]
    ordering_fields = ["join_date", "name", "membership_number", "created_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    create_input = PersonInputSerializer
    create_parameters = (
        OpenApiParameter(
            "organization",
            OpenApiTypes.INT,
            required=True,
            description=_("For POST: the grassroots union the new member joins."),
        ),
    )
    update_input = PersonUpdateSerializer
    reread_after_action = False

    def narrow_queryset(self, queryset):
        return queryset.order_by("-pk")

    def get_create_owner(self):
        return self.tenant_for_create()

    def perform_create_action(self, owner, data):
        raw = dict(data)
        join_date = raw.pop("join_date", None)
        return actions.create_member(
            organization=owner,
            data=people.clean_person(raw),
            acting_user=self.request.user,
            join_date=join_date,
        )

    def perform_update_action(self, row, data):
        raw = {**row.person_data(), **data}
        return actions.update_member(
            member=row, data=people.clean_person(raw), acting_user=self.request.user
        )

    @extend_schema(request=StatusSerializer, responses=MemberSerializer)
    @action(detail=True, methods=["post"])
    def status(self, request, pk=None):
        """End a membership (withdrawn, expelled, deceased) with a reason."""
        member = self.get_object()
        data = self.validated_body(StatusSerializer)
        member = actions.change_status(member=member, acting_user=request.user, **data)
        return self.action_response(member)

    @extend_schema(
        request=RevealSerializer,
        responses=inline_serializer(
            "Revealed", {"field": serializers.CharField(), "value": serializers.CharField()}
        ),
    )
    @action(detail=True, methods=["post"])
    def reveal(self, request, pk=None):
        """The full ID number or phone; recorded in the audit log."""
        member = self.get_object()
        data = self.validated_body(RevealSerializer)
        value = actions.reveal(member=member, acting_user=request.user, **data)
        response = Response({"field": data["field"], "value": value})
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(responses=EventSerializer(many=True))
    # The whole history, unpaginated and unfiltered (the list's filters are not its own).
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def events(self, request, pk=None):
        """The membership history, oldest first."""
        member = self.get_object()
        events = member.events.order_by("at", "pk")
        return Response(EventSerializer(events, many=True).data)


ROUTES = [("members", MemberViewSet, "member")]
