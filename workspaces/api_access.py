"""REST face of access: the workspace's connections (revoke), the caller's API keys, and the audit trail."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from workspaces.api import StrictSerializer
from workspaces.api_base import WorkspaceAPIView
from workspaces.api_catalog import list_query
from workspaces.audit_selectors import CSV_COLUMNS, AuditEventFilter, audit_csv_rows, audit_event_list
from workspaces.connection_selectors import api_key_get, api_key_list, connection_get, connection_list
from workspaces.connection_services import api_key_create, connection_revoke
from workspaces.models import Channel, ConnectionKind, Outcome
from workspaces.policies import Perm, Scope

REVOKED_PARAM = OpenApiParameter("include_revoked", bool, description="Also list revoked ones (default false)")


def include_revoked(request: Request) -> bool:
    value = request.query_params.get("include_revoked", "false").lower()
    if value not in {"true", "false", "1", "0"}:
        raise serializers.ValidationError({"include_revoked": ["Use true or false."]})
    return value in {"true", "1"}


class ScopesField(serializers.ListField):
    """A connection's scopes as a sorted list (the model keeps them space-separated)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.CharField(), source="scope_set", **kwargs)

    def to_representation(self, data: Any) -> list[Any]:
        return sorted(super().to_representation(data))


# --- connections ----------------------------------------------------------------------------------


class ConnectionOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ConnectionKind.choices)
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label
    user = serializers.CharField(source="user.username", help_text="Whose connection it is")
    client_name = serializers.CharField(
        source="application.name", allow_null=True, help_text="The OAuth client's name; null for an API key"
    )
    scopes = ScopesField()
    allow_sensitive = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class ConnectionListView(WorkspaceAPIView):
    """OAuth grants and API keys of this workspace: admins see every one, everyone else their own."""

    perms = {"GET": Perm.WORKSPACE_VIEW}
    audit_name = "connection"

    @extend_schema(parameters=[REVOKED_PARAM], responses=ConnectionOutput(many=True))
    def get(self, request: Request, workspace_slug: str) -> Response:
        connections = connection_list(actor=self.principal, include_revoked=include_revoked(request))
        return self.page(connections, ConnectionOutput)


class ConnectionRevokeView(WorkspaceAPIView):
    """Revoke a connection and every token of it at once (admins with the admin scope, over the API)."""

    perms = {"POST": Perm.CONNECTION_MANAGE}
    audit_name = "connection"

    @extend_schema(request=None, responses=ConnectionOutput)
    def post(self, request: Request, workspace_slug: str, pk: int) -> Response:
        connection = connection_get(actor=self.principal, connection_id=pk)
        revoked = connection_revoke(actor=self.principal, connection=connection)
        return self.single(ConnectionOutput(revoked).data)


# --- API keys -------------------------------------------------------------------------------------


class ApiKeyOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label
    key_prefix = serializers.CharField(help_text="The key's first characters, to recognise it")
    scopes = ScopesField()
    allow_sensitive = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class ApiKeyCreatedOutput(ApiKeyOutput):
    secret = serializers.CharField(
        allow_null=True,
        help_text="The key itself, shown this once (null when an Idempotency-Key replays the answer)",
    )


class ApiKeyCreateInput(StrictSerializer):
    label = serializers.CharField(max_length=200)  # type: ignore[assignment]  # a field, not Field.label
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=[s.value for s in Scope]),
        default=["read"],
        help_text="Those your role cannot use are not granted",
    )
    allow_sensitive = serializers.BooleanField(default=False, help_text="Admins and owners only")
    expires_at = serializers.DateTimeField(required=False, allow_null=True, help_text="RFC 3339, in the future")


class ApiKeyListView(WorkspaceAPIView):
    """Your own API keys in this workspace; a signed-in person creates one (never another connection)."""

    perms = {"GET": Perm.WORKSPACE_VIEW, "POST": Perm.CONNECTION_MANAGE}
    audit_name = "api_key"

    @extend_schema(parameters=[REVOKED_PARAM], responses=ApiKeyOutput(many=True))
    def get(self, request: Request, workspace_slug: str) -> Response:
        return self.page(api_key_list(actor=self.principal, include_revoked=include_revoked(request)), ApiKeyOutput)

    @extend_schema(request=ApiKeyCreateInput, responses={201: ApiKeyCreatedOutput})
    def post(self, request: Request, workspace_slug: str) -> Response:
        data = ApiKeyCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        new = api_key_create(actor=self.principal, **data.validated_data)
        return self.single({**ApiKeyOutput(new.connection).data, "secret": new.secret}, status=201)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        # The secret is shown once: the Idempotency-Key record (kept two days) stores the answer without it.
        data = getattr(response, "data", None)
        secret = None
        if isinstance(data, dict) and data.get("secret") is not None:
            secret, data["secret"] = data["secret"], None
        response = super().finalize_response(request, response, *args, **kwargs)
        if secret is not None:
            response.data["secret"] = secret
        return response


class ApiKeyRevokeView(WorkspaceAPIView):
    """Revoke one of your own API keys; its next request is refused."""

    perms = {"POST": Perm.CONNECTION_MANAGE}
    audit_name = "api_key"

    @extend_schema(request=None, responses=ApiKeyOutput)
    def post(self, request: Request, workspace_slug: str, pk: int) -> Response:
        key = api_key_get(actor=self.principal, key_id=pk)
        return self.single(ApiKeyOutput(connection_revoke(actor=self.principal, connection=key)).data)


# --- audit events ---------------------------------------------------------------------------------


class AuditEventOutput(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    action = serializers.CharField()
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    actor = serializers.CharField(source="actor.username", allow_null=True)
    connection_id = serializers.IntegerField(allow_null=True)
    connection = serializers.StringRelatedField(allow_null=True)  # type: ignore[var-annotated]
    target_type = serializers.CharField()
    target_id = serializers.CharField()
    target = serializers.CharField(source="target_repr")
    ip = serializers.IPAddressField(allow_null=True)
    user_agent = serializers.CharField()
    request_id = serializers.CharField()
    duration_ms = serializers.IntegerField(allow_null=True)
    detail = serializers.DictField()


class AuditEventQuery(serializers.Serializer[Any]):
    """The filters of :class:`AuditEventFilter`, typed: a blank or mistyped value is a 400, as documented."""

    actor = serializers.IntegerField(required=False, help_text="A person's user id")
    connection = serializers.IntegerField(required=False, help_text="A connection's id")
    channel = serializers.ChoiceField(choices=Channel.choices, required=False)
    action = serializers.CharField(required=False, help_text="Starts with, e.g. 'time_entry.'")
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False)
    since = serializers.DateField(required=False, help_text="From this day (workspace time zone), included")
    until = serializers.DateField(required=False, help_text="To this day (workspace time zone), included")
    format = serializers.ChoiceField(choices=["json", "csv", "xlsx"], required=False, help_text="csv/xlsx: a file")


class AuditEventListView(WorkspaceAPIView):
    """The workspace's audit trail, newest first, filtered; ``?format=csv`` downloads it (admins only)."""

    perms = {"GET": Perm.AUDIT_VIEW}
    audit_name = "audit_event"

    @extend_schema(
        parameters=[AuditEventQuery],
        responses={
            200: OpenApiResponse(AuditEventOutput(many=True), description="JSON pages, or a CSV/XLSX file"),
        },
    )
    def get(self, request: Request, workspace_slug: str) -> Response | HttpResponse:
        list_query(AuditEventQuery, self)
        kind = self.download_format()
        filters = AuditEventFilter(
            request.query_params, queryset=audit_event_list(actor=self.principal), principal=self.principal
        )
        if not filters.is_valid():
            raise serializers.ValidationError(filters.errors)
        if kind is not None:
            return self.download(kind, CSV_COLUMNS, audit_csv_rows(filters.qs), name="audit")
        return self.page(filters.qs, AuditEventOutput)
