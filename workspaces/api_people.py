"""REST face of people: the workspace's members (invite, role, capacity, rates, deactivate), and
``/api/v1/workspaces``, the workspaces a caller can reach."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from workspaces.api import StrictSerializer
from workspaces.api_audit import AuditedAPIView
from workspaces.api_base import ClientApplicationRateThrottle, Cursor, PrincipalRateThrottle, WorkspaceAPIView
from workspaces.member_services import member_deactivate, member_edit, member_invite
from workspaces.models import Membership, Role, User
from workspaces.policies import Perm
from workspaces.principals import Principal
from workspaces.redaction import MEMBER_COST_FIELDS, RedactedSerializerMixin
from workspaces.selectors import member_get, member_list, membership_list_for_caller

INACTIVE_PARAM = OpenApiParameter("include_inactive", bool, description="Also list deactivated members")


class MemberOutput(RedactedSerializerMixin, serializers.Serializer[Any]):
    """A member; the cost rate is sensitive (null and listed in ``redacted`` unless you may see it)."""

    sensitive_fields = MEMBER_COST_FIELDS

    id = serializers.IntegerField()
    username = serializers.CharField(source="user.username")
    name = serializers.CharField(source="user.get_full_name")
    email = serializers.EmailField(source="user.email")
    role = serializers.ChoiceField(choices=Role.choices)
    is_active = serializers.BooleanField()
    weekly_capacity_hours = serializers.DecimalField(max_digits=5, decimal_places=2)
    billable_rate = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    cost_rate = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True, help_text="Sensitive: null unless you may see it"
    )
    redacted = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Fields withheld from you (value null)"
    )


class MemberInviteInput(StrictSerializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices, default=Role.MEMBER, help_text="Only owners grant owner")


class MemberUpdateInput(StrictSerializer):
    role = serializers.ChoiceField(choices=Role.choices, required=False, help_text="Only owners touch owner")
    weekly_capacity_hours = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, required=False)
    billable_rate = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    cost_rate = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        allow_null=True,
        help_text="Sensitive: needs sensitive access",
    )


def include_inactive(request: Request) -> bool:
    value = request.query_params.get("include_inactive", "false").lower()
    if value not in {"true", "false", "1", "0"}:
        raise serializers.ValidationError({"include_inactive": ["Use true or false."]})
    return value in {"true", "1"}


def member_out(view: WorkspaceAPIView, member: Membership) -> Any:
    return MemberOutput(member, context={"principal": view.principal}).data


class MemberListView(WorkspaceAPIView):
    """The workspace's members with role, capacity and rates (cost rates redacted unless you may see them)."""

    perms = {"GET": Perm.MEMBER_VIEW}
    audit_name = "member"
    ordering = ("created_at", "id")

    @extend_schema(parameters=[INACTIVE_PARAM], responses=MemberOutput(many=True))
    def get(self, request: Request, workspace_slug: str) -> Response:
        members = member_list(actor=self.principal, include_inactive=include_inactive(request))
        return self.page(members, MemberOutput)


class MemberInviteView(WorkspaceAPIView):
    """Add the person with this email (a login is made for a new address) and email them a link."""

    perms = {"POST": Perm.MEMBER_MANAGE}
    audit_name = "member"

    @extend_schema(request=MemberInviteInput, responses={201: MemberOutput})
    def post(self, request: Request, workspace_slug: str) -> Response:
        data = MemberInviteInput(data=request.data)
        data.is_valid(raise_exception=True)
        return self.single(member_out(self, member_invite(actor=self.principal, **data.validated_data)), status=201)


class MemberDetailView(WorkspaceAPIView):
    perms = {"GET": Perm.MEMBER_VIEW, "PATCH": Perm.MEMBER_MANAGE}
    audit_name = "member"

    @extend_schema(responses=MemberOutput)
    def get(self, request: Request, workspace_slug: str, pk: int) -> Response:
        return self.single(member_out(self, member_get(actor=self.principal, member_id=pk)))

    @extend_schema(request=MemberUpdateInput, responses=MemberOutput)
    def patch(self, request: Request, workspace_slug: str, pk: int) -> Response:
        data = MemberUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        member = member_get(actor=self.principal, member_id=pk)
        self.check_if_match(member_out(self, member))
        return self.single(member_out(self, member_edit(actor=self.principal, member=member, data=data.validated_data)))


class MemberDeactivateView(WorkspaceAPIView):
    perms = {"POST": Perm.MEMBER_MANAGE}
    audit_name = "member"

    @extend_schema(request=None, responses=MemberOutput)
    def post(self, request: Request, workspace_slug: str, pk: int) -> Response:
        member = member_get(actor=self.principal, member_id=pk)
        return self.single(member_out(self, member_deactivate(actor=self.principal, member=member)))


# --- /api/v1/workspaces ---------------------------------------------------------------------------


class WorkspaceSummaryOutput(serializers.Serializer[Any]):
    slug = serializers.CharField(source="workspace.slug")
    name = serializers.CharField(source="workspace.name")
    role = serializers.ChoiceField(choices=Role.choices, help_text="Your role there")
    timezone = serializers.CharField(source="workspace.timezone")
    currency = serializers.CharField(source="workspace.currency")


class WorkspaceListView(AuditedAPIView):
    """The workspaces you can reach: a connection its own one; a signed-in person every active membership."""

    permission_classes = [IsAuthenticated]
    throttle_classes = [PrincipalRateThrottle, ClientApplicationRateThrottle]
    pagination_class = Cursor  # tells the OpenAPI schema the list comes in cursor pages
    audit_name = "workspace"
    ordering = ("created_at", "id")

    @extend_schema(responses=WorkspaceSummaryOutput(many=True))
    def get(self, request: Request) -> Response:
        assert isinstance(request.user, User)  # IsAuthenticated
        principal = request.auth if isinstance(request.auth, Principal) else None
        memberships = membership_list_for_caller(user=request.user, principal=principal)
        paginator = self.pagination_class()
        paginator.ordering = self.ordering
        rows = paginator.paginate_queryset(memberships, request, view=self)
        return paginator.get_paginated_response(WorkspaceSummaryOutput(rows, many=True).data)
