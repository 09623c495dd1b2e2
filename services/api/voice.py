"""API: worker voice (/api/v1/concerns/), scoped to staff work (HANDLE) over the handling
union or the member's own union.

`POST …/{id}/reply|grade|hand-over|close/` are the staff steps; each calls
`services.actions.voice`, which lets only the handling union (or a union above it) act.
The member is named as `member_label` allows: the name for their own union's officers,
"Anonymous worker" above it when they asked to hide it (and to a union outside their own
line it was handed to, unless they agreed), the masked name otherwise.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError

from core.api import ActionViewSetMixin
from organizations import scope
from organizations.models import Organization, OrgStatus

from ..actions import voice as actions
from ..models import Concern, ConcernGrade
from ..selectors.voice import HAND_OVER_TARGETS, history, member_label


class ConcernStepSerializer(serializers.Serializer):
    kind = serializers.CharField()
    kind_display = serializers.CharField(source="get_kind_display")
    at = serializers.DateTimeField()
    from_organization = serializers.IntegerField(source="from_organization_id", allow_null=True)
    to_organization = serializers.IntegerField(source="to_organization_id", allow_null=True)
    text = serializers.CharField()


class ConcernSerializer(serializers.ModelSerializer):
    member_name = serializers.SerializerMethodField()
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    origin_name = serializers.CharField(source="origin.name", read_only=True)
    is_overdue = serializers.BooleanField(read_only=True)
    has_attachment = serializers.SerializerMethodField()
    # Plain strings in the schema: as enums they would collide with the other "status",
    # "category" and "grade" choice sets of the API.
    status = serializers.CharField(read_only=True, help_text="open, answered or closed")
    category = serializers.CharField(read_only=True)
    grade = serializers.CharField(read_only=True, help_text="general, difficult or complex")

    class Meta:
        model = Concern
        fields = [
            "id",
            "member_name",
            "origin",
            "origin_name",
            "organization",
            "organization_name",
            "category",
            "title",
            "text",
            "has_attachment",
            "grade",
            "status",
            "due_at",
            "is_overdue",
            "escalations",
            "created_at",
            "answered_at",
            "closed_at",
            "rating",
            "rating_comment",
        ]
        read_only_fields = fields

    def get_member_name(self, obj) -> str:
        return member_label(obj, self.context["request"].user)

    def get_has_attachment(self, obj) -> bool:
        return bool(obj.attachment)


class ConcernDetailSerializer(ConcernSerializer):
    steps = serializers.SerializerMethodField()

    class Meta(ConcernSerializer.Meta):
        fields = [*ConcernSerializer.Meta.fields, "steps"]
        read_only_fields = fields

    @extend_schema_field(ConcernStepSerializer(many=True))
    def get_steps(self, obj) -> list[dict]:
        return ConcernStepSerializer(history(obj), many=True).data


class ReplySerializer(serializers.Serializer):
    text = serializers.CharField(max_length=5000)


class GradeSerializer(serializers.Serializer):
    grade = serializers.ChoiceField(choices=ConcernGrade.choices)


class HandOverSerializer(serializers.Serializer):
    to_organization = serializers.IntegerField(help_text=HAND_OVER_TARGETS)
    reason = serializers.CharField(max_length=5000)


class CloseSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, default="", allow_blank=True, max_length=5000)


class ConcernViewSet(
    ActionViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, scope.ScopedGenericViewSet
):
    """Concerns handled by, or raised in, the caller's unions."""

    queryset = Concern.objects.select_related("member", "origin", "organization")
    serializer_class = ConcernSerializer
    read_access = scope.Access.HANDLE
    write_access = scope.Access.HANDLE
    filterset_fields = ["status", "grade", "category", "organization", "origin"]
    search_fields = ["title"]
    ordering_fields = ["created_at", "due_at"]
    http_method_names = ["get", "post", "head", "options"]

    def narrow_queryset(self, queryset):
        return queryset.order_by("-created_at", "-pk")

    def get_serializer_class(self):
        if self.action == "list":
            return ConcernSerializer
        return ConcernDetailSerializer

    @extend_schema(request=ReplySerializer, responses=ConcernDetailSerializer)
    @action(detail=True, methods=["post"])
    def reply(self, request, pk=None):
        """Answer the member (the handling union or a union above it)."""
        concern = self.get_object()
        data = self.validated_body(ReplySerializer)
        return self.action_response(
            actions.reply_to_concern(concern=concern, text=data["text"], acting_user=request.user)
        )

    @extend_schema(request=GradeSerializer, responses=ConcernDetailSerializer)
    @action(detail=True, methods=["post"])
    def grade(self, request, pk=None):
        """Grade an open concern; its due time is recomputed."""
        concern = self.get_object()
        data = self.validated_body(GradeSerializer)
        return self.action_response(
            actions.grade_concern(concern=concern, grade=data["grade"], acting_user=request.user)
        )

    @extend_schema(request=HandOverSerializer, responses=ConcernDetailSerializer)
    @action(detail=True, methods=["post"], url_path="hand-over")
    def hand_over(self, request, pk=None):
        """Hand an open concern to another active union (see `to_organization`), e.g. an
        industry union."""
        concern = self.get_object()
        data = self.validated_body(HandOverSerializer)
        target = Organization.objects.filter(
            pk=data["to_organization"], status=OrgStatus.ACTIVE
        ).first()
        if target is None:
            raise ValidationError({"to_organization": [_("No active union has this id.")]})
        return self.action_response(
            actions.hand_over_concern(
                concern=concern,
                to_organization=target,
                reason=data["reason"],
                acting_user=request.user,
            )
        )

    @extend_schema(request=CloseSerializer, responses=ConcernDetailSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """Close the concern; the member may reopen it."""
        concern = self.get_object()
        data = self.validated_body(CloseSerializer)
        return self.action_response(
            actions.close_concern(concern=concern, acting_user=request.user, note=data["note"])
        )


ROUTES = [("concerns", ConcernViewSet, "api-concern")]
