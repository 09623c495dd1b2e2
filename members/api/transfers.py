"""API: transfers between unions (/api/v1/transfers/), scoped to personal-data access over
the sending or the receiving union.

`POST /api/v1/transfers/` starts one: the sending union names one of its members
(`side=sending`, `member`, `to_organization` = any active grassroots union), the receiving
union names a worker by `id_number` and exact `name` (`side=receiving`, `to_organization` =
its own union). `POST …/{id}/release|accept|refuse|cancel/` are the steps.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from core.api import ActionViewSetMixin
from organizations import scope
from organizations.models import Level, Organization, OrgStatus

from ..actions import transfers as actions
from ..models import CURRENT_STATUSES, Member, Transfer, TransferSide


class TransferSerializer(serializers.ModelSerializer):
    member_name = serializers.CharField(source="member.masked_name", read_only=True)
    membership_number = serializers.CharField(source="member.membership_number", read_only=True)
    from_organization_name = serializers.CharField(source="from_organization.name", read_only=True)
    to_organization_name = serializers.CharField(source="to_organization.name", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    # Plain strings in the schema: as enums they would collide with the other "status" and
    # side choice sets of the API (drf-spectacular names enums by field name).
    status = serializers.CharField(
        read_only=True, help_text="open, completed, refused, expired or cancelled"
    )
    initiated_by_side = serializers.CharField(
        read_only=True, help_text="member, sending or receiving"
    )
    refused_by_side = serializers.CharField(
        read_only=True, help_text="sending or receiving; empty unless refused"
    )

    class Meta:
        model = Transfer
        fields = [
            "id",
            "member",
            "member_name",
            "membership_number",
            "from_organization",
            "from_organization_name",
            "to_organization",
            "to_organization_name",
            "status",
            "status_display",
            "initiated_by_side",
            "reason",
            "new_employer",
            "released_at",
            "accepted_at",
            "refused_by_side",
            "refusal_reason",
            "expires_at",
            "closed_at",
            "created_at",
        ]
        read_only_fields = fields


class TransferStartSerializer(serializers.Serializer):
    side = serializers.ChoiceField(choices=[TransferSide.SENDING, TransferSide.RECEIVING])
    to_organization = serializers.IntegerField(
        help_text=_(
            "Sending: any active grassroots union. Receiving: your own union the member joins."
        )
    )
    member = serializers.IntegerField(
        required=False, help_text=_("Sending: the id of one of your union's members.")
    )
    id_number = serializers.CharField(
        required=False, max_length=24, write_only=True, help_text=_("Receiving.")
    )
    name = serializers.CharField(
        required=False, max_length=60, write_only=True, help_text=_("Receiving: exact name.")
    )
    reason = serializers.CharField(required=False, default="", allow_blank=True, max_length=500)
    new_employer = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=200
    )

    def validate(self, attrs):
        if attrs["side"] == TransferSide.SENDING:
            if not attrs.get("member"):
                raise ValidationError({"member": [_("Give the member's id.")]})
        else:
            missing = {
                f: [_("This field is required for the receiving side.")]
                for f in ("id_number", "name")
                if not attrs.get(f, "").strip()
            }
            if missing:
                raise ValidationError(missing)
        return attrs


class RefuseSerializer(serializers.Serializer):
    side = serializers.ChoiceField(choices=[TransferSide.SENDING, TransferSide.RECEIVING])
    reason = serializers.CharField(max_length=500)


class TransferViewSet(
    ActionViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, scope.ScopedGenericViewSet
):
    """Transfers where the caller keeps the member records of the sending or receiving union."""

    queryset = Transfer.objects.select_related("member", "from_organization", "to_organization")
    serializer_class = TransferSerializer
    # Transfers name members: viewing them is personal-data work, as are the steps (which
    # the actions restrict further to the unions' administrators).
    read_access = scope.Access.PERSONAL
    write_access = scope.Access.PERSONAL
    filterset_fields = ["status", "initiated_by_side", "from_organization", "to_organization"]
    ordering_fields = ["created_at", "expires_at"]
    http_method_names = ["get", "post", "head", "options"]

    def narrow_queryset(self, queryset):
        return queryset.order_by("-created_at", "-pk")

    def _start_member(self, data) -> tuple[Member, Organization]:
        user = self.request.user
        if data["side"] == TransferSide.SENDING:
            member = (
                scope.filter_queryset(
                    user,
                    Member.objects.filter(deleted_at__isnull=True, status__in=CURRENT_STATUSES),
                    scope.Access.PERSONAL,
                )
                .select_related("organization")
                .filter(pk=data["member"])
                .first()
            )
            if member is None:
                raise ValidationError({"member": [_("No such current member in your union.")]})
            target = Organization.objects.filter(
                pk=data["to_organization"], level=Level.GRASSROOTS, status=OrgStatus.ACTIVE
            ).first()
            if target is None:
                raise ValidationError(
                    {"to_organization": [_("No active grassroots union has this id.")]}
                )
            return member, target
        target = (
            scope.organizations(user, scope.Access.PERSONAL)
            .filter(pk=data["to_organization"], level=Level.GRASSROOTS, status=OrgStatus.ACTIVE)
            .first()
        )
        if target is None:
            raise ValidationError({"to_organization": [_("No such union of yours.")]})
        member = actions.find_member_for_receiving(id_number=data["id_number"], name=data["name"])
        if member is None:
            raise ValidationError(
                {"id_number": [_("No current member has this ID number and this name.")]}
            )
        return member, target

    @extend_schema(request=TransferStartSerializer, responses={201: TransferSerializer})
    def create(self, request, *args, **kwargs):
        data = self.validated_body(TransferStartSerializer)
        member, target = self._start_member(data)
        transfer = actions.request_transfer(
            member=member,
            to_organization=target,
            side=data["side"],
            acting_user=request.user,
            reason=data["reason"],
            new_employer=data["new_employer"],
        )
        return Response(TransferSerializer(transfer).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=TransferSerializer)
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        """The sending union releases the member (completes the transfer if accepted)."""
        transfer = actions.release_transfer(transfer=self.get_object(), acting_user=request.user)
        return self.action_response(transfer)

    @extend_schema(request=None, responses=TransferSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """The receiving union accepts the member (completes the transfer if released)."""
        transfer = actions.accept_transfer(transfer=self.get_object(), acting_user=request.user)
        return self.action_response(transfer)

    @extend_schema(request=RefuseSerializer, responses=TransferSerializer)
    @action(detail=True, methods=["post"])
    def refuse(self, request, pk=None):
        """Either union refuses the transfer, with a reason."""
        transfer = self.get_object()
        data = self.validated_body(RefuseSerializer)
        transfer = actions.refuse_transfer(transfer=transfer, acting_user=request.user, **data)
        return self.action_response(transfer)

    @extend_schema(request=None, responses=TransferSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Whoever started the transfer withdraws it."""
        transfer = actions.cancel_transfer(transfer=self.get_object(), acting_user=request.user)
        return self.action_response(transfer)


# Not "transfer": the router would name its URLs "transfer-list", "transfer-cancel"…, the
# names of the portal pages (members.views.transfers).
ROUTES = [("transfers", TransferViewSet, "api-transfer")]
