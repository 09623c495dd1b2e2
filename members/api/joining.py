"""API: online join applications, for the reviewing union's officers.

`GET /api/v1/join-applications/` (filter `?status=`), `GET …/{id}/`, and the decisions
`POST …/{id}/approve/`, `…/reject/` (`reason`), `…/request-correction/` (`note`).
Applications hold personal data: every endpoint needs personal-data access to the union
applied to, reads and writes alike; outside it an application does not exist (404).
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError

from core.api import ActionViewSetMixin
from organizations import scope

from ..actions import joining
from ..models import ApplicationStatus, Education, JoinApplication


class JoinApplicationSerializer(serializers.ModelSerializer):
    masked_name = serializers.CharField(read_only=True)
    # Declared for the schema: a read-only model field loses `blank`, and "" is a value.
    education = serializers.ChoiceField(
        choices=Education.choices, allow_blank=True, read_only=True, label=_("education")
    )

    class Meta:
        model = JoinApplication
        fields = [
            "id",
            "organization",
            "masked_name",
            "id_masked",
            "phone_masked",
            "gender",
            "birth_date",
            "ethnicity",
            "education",
            "employer",
            "job",
            "employment_type",
            "status",
            "review_note",
            "submitted_at",
            "reviewed_at",
            "member",
        ]
        read_only_fields = fields


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text=_("Shown to the applicant."))


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500, help_text=_("What the applicant must correct."))


class JoinApplicationViewSet(
    ActionViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, scope.ScopedGenericViewSet
):
    """Join applications to the unions whose members' data the caller handles."""

    queryset = JoinApplication.objects.all()
    serializer_class = JoinApplicationSerializer
    read_access = scope.Access.PERSONAL
    write_access = scope.Access.HANDLE
    filter_backends = []  # personal data: no free-text search or ordering by name

    def narrow_queryset(self, queryset):
        # Deciding also needs personal-data access, or the application does not exist.
        queryset = scope.filter_queryset(self.request.user, queryset, scope.Access.PERSONAL)
        status = self.request.query_params.get("status")
        if status:
            if status not in ApplicationStatus.values:
                raise ValidationError({"status": [_("Unknown status.")]})
            queryset = queryset.filter(status=status)
        return queryset.order_by("-submitted_at", "-pk")

    @extend_schema(
        parameters=[
            OpenApiParameter("status", enum=ApplicationStatus.values, required=False),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=None, responses=JoinApplicationSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        application = self.get_object()
        joining.approve_join_application(application=application, acting_user=request.user)
        return self.action_response(application)

    @extend_schema(request=ReasonSerializer, responses=JoinApplicationSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        application = self.get_object()
        data = self.validated_body(ReasonSerializer)
        joining.reject_join_application(
            application=application, acting_user=request.user, reason=data["reason"]
        )
        return self.action_response(application)

    @extend_schema(request=NoteSerializer, responses=JoinApplicationSerializer)
    @action(detail=True, methods=["post"], url_path="request-correction")
    def request_correction(self, request, pk=None):
        application = self.get_object()
        data = self.validated_body(NoteSerializer)
        joining.request_correction(
            application=application, acting_user=request.user, note=data["note"]
        )
        return self.action_response(application)


ROUTES = [("join-applications", JoinApplicationViewSet, "join-application")]
