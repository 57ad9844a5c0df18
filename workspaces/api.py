"""REST face of the workspaces app (the full API arrives with its own issue): ``/api/v1/me``."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from workspaces.authentication import BearerAuthentication
from workspaces.principals import Principal


class MeOutput(serializers.Serializer):
    username = serializers.CharField()
    workspace = serializers.CharField(allow_null=True)
    role = serializers.CharField(allow_null=True)
    scopes = serializers.ListField(child=serializers.CharField())
    connection_id = serializers.IntegerField(allow_null=True)
    allow_sensitive = serializers.BooleanField()


class MeView(APIView):
    """Who is calling: the user and, for a connection, its workspace, role and scopes."""

    authentication_classes = [BearerAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeOutput)
    def get(self, request: Request) -> Response:
        principal = request.auth
        assert isinstance(principal, Principal)  # BearerAuthentication sets it
        connection = principal.connection
        data = {
            "username": principal.user.get_username(),
            "workspace": principal.workspace.slug,
            "role": principal.membership.role,
            "scopes": sorted(principal.scopes),
            "connection_id": connection.pk if connection else None,
            "allow_sensitive": bool(connection and connection.allow_sensitive),
        }
        return Response(MeOutput(data).data)
