"""REST face of what time is logged against: tags (clients, projects and tasks follow the same shape).

The reference shape for every resource: a list (cursor pages, filters) and create on the
collection, read and PATCH (with If-Match) on the item, and an ``archive`` action.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from workspaces.api import StrictSerializer
from workspaces.api_base import WorkspaceAPIView
from workspaces.policies import Perm
from workspaces.selectors import tag_get, tag_list
from workspaces.services import tag_archive, tag_create, tag_update


class TagOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    is_archived = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class TagCreateInput(StrictSerializer):
    name = serializers.CharField(max_length=60)


class TagUpdateInput(StrictSerializer):
    name = serializers.CharField(max_length=60, required=False)


class ArchiveInput(StrictSerializer):
    archived = serializers.BooleanField(default=True, help_text="false restores an archived object")


ARCHIVED_PARAM = OpenApiParameter("include_archived", bool, description="Also list archived ones (default false)")


def include_archived(request: Request) -> bool:
    value = request.query_params.get("include_archived", "false").lower()
    if value not in {"true", "false", "1", "0"}:
        raise serializers.ValidationError({"include_archived": ["Use true or false."]})
    return value in {"true", "1"}


class TagListView(WorkspaceAPIView):
    """Tags of the workspace; managers create them."""

    perms = {"GET": Perm.TAG_VIEW, "POST": Perm.TAG_MANAGE}
    audit_name = "tag"
    ordering = ("name", "id")

    @extend_schema(parameters=[ARCHIVED_PARAM], responses=TagOutput(many=True))
    def get(self, request: Request, workspace_slug: str) -> Response:
        return self.page(tag_list(actor=self.principal, include_archived=include_archived(request)), TagOutput)

    @extend_schema(request=TagCreateInput, responses={201: TagOutput})
    def post(self, request: Request, workspace_slug: str) -> Response:
        data = TagCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        tag = tag_create(actor=self.principal, name=data.validated_data["name"])
        return self.single(TagOutput(tag).data, status=201)


class TagDetailView(WorkspaceAPIView):
    perms = {"GET": Perm.TAG_VIEW, "PATCH": Perm.TAG_MANAGE}
    audit_name = "tag"

    @extend_schema(responses=TagOutput)
    def get(self, request: Request, workspace_slug: str, pk: int) -> Response:
        return self.single(TagOutput(tag_get(actor=self.principal, tag_id=pk)).data)

    @extend_schema(request=TagUpdateInput, responses=TagOutput)
    def patch(self, request: Request, workspace_slug: str, pk: int) -> Response:
        data = TagUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        tag = tag_get(actor=self.principal, tag_id=pk)
        self.check_if_match(TagOutput(tag).data)
        return self.single(TagOutput(tag_update(actor=self.principal, tag=tag, data=data.validated_data)).data)


class TagArchiveView(WorkspaceAPIView):
    perms = {"POST": Perm.TAG_MANAGE}
    audit_name = "tag"

    @extend_schema(request=ArchiveInput, responses=TagOutput)
    def post(self, request: Request, workspace_slug: str, pk: int) -> Response:
        data = ArchiveInput(data=request.data)
        data.is_valid(raise_exception=True)
        tag = tag_get(actor=self.principal, tag_id=pk)
        return self.single(TagOutput(tag_archive(actor=self.principal, tag=tag, **data.validated_data)).data)
