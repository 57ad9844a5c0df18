"""REST face of what time is logged against: tags and clients (projects and tasks: api_projects.py).

The reference shape for every resource: a list (cursor pages, filters) and create on the
collection, read and PATCH (with If-Match) on the item, and an ``archive`` action.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from timetracker.compiled import in_id_range
from workspaces import policies
from workspaces.api import StrictSerializer
from workspaces.api_base import WorkspaceAPIView
from workspaces.models import Client, Membership, Project
from workspaces.policies import Perm
from workspaces.principals import Principal
from workspaces.redaction import CLIENT_CONTACT_FIELDS, RedactedSerializerMixin
from workspaces.selectors import (
    client_get,
    client_list,
    member_find,
    member_list,
    project_find,
    project_list,
    tag_get,
    tag_list,
)
from workspaces.services import (
    client_archive,
    client_create,
    client_update,
    tag_archive,
    tag_create,
    tag_update,
)


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


# --- ids in the caller's workspace, and list filters ---------------------------------------------


_NOTHING: dict[type[models.Model], QuerySet[Any]] = {}


def _nothing(model: type[models.Model]) -> QuerySet[Any]:
    """``model``'s empty queryset, one per model: what DRF wants as a related field's
    ``queryset``, never evaluated (:meth:`InWorkspace.get_queryset` asks the selector). A
    serializer copies its fields, calling ``__init__``, for every request; a new queryset each time
    was a third of that (``bench/README``, twelfth round)."""
    nothing = _NOTHING.get(model)
    if nothing is None:
        nothing = _NOTHING.setdefault(model, model._default_manager.none())
    return nothing


class InWorkspace(serializers.PrimaryKeyRelatedField):
    """The id of an object the caller may see in this workspace, resolved through a selector.

    A missing id and another workspace's id answer alike: 400 "does not exist". ``find`` (the
    caller and an id → the object or ``None``) looks the id up instead of ``selector(...).get()``,
    where a compiled lookup exists (``project_find``: every time entry names a project).
    """

    def __init__(
        self,
        *,
        selector: Callable[[Principal], QuerySet[Any]],
        model: type[models.Model],
        find: Callable[[Principal, int], models.Model | None] | None = None,
        **kwargs: Any,
    ) -> None:
        self.selector = selector
        self.find = find
        super().__init__(queryset=_nothing(model), **kwargs)

    def principal(self) -> Principal:
        principal = self.context.get("principal")
        assert isinstance(principal, Principal), "pass context={'principal': ...}"
        return principal

    def get_queryset(self) -> QuerySet[Any]:
        return self.selector(self.principal())

    def to_internal_value(self, data: Any) -> Any:
        if self.find is None:
            return super().to_internal_value(data)
        try:  # as Django reads an id, so that both ways answer alike
            if isinstance(data, bool):
                raise TypeError
            pk = int(data)
        except (TypeError, ValueError):
            self.fail("incorrect_type", data_type=type(data).__name__)
        found = self.find(self.principal(), pk) if in_id_range(pk) else None
        if found is None:
            self.fail("does_not_exist", pk_value=data)
        return found


def visible_clients(principal: Principal) -> QuerySet[Client]:
    return client_list(actor=principal, include_archived=True)


def visible_projects(principal: Principal) -> QuerySet[Project]:
    return project_list(actor=principal, include_archived=True)


def find_visible_project(principal: Principal, pk: int) -> Project | None:
    return project_find(actor=principal, project_id=pk)


class VisibleProject(InWorkspace):
    """The id of a project the caller may see, archived ones too."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(selector=visible_projects, model=Project, find=find_visible_project, **kwargs)


def active_members(principal: Principal) -> QuerySet[Membership]:
    return member_list(actor=principal)


def any_members(principal: Principal) -> QuerySet[Membership]:
    """Every member, deactivated ones too: their past time stays readable."""
    return member_list(actor=principal, include_inactive=True)


def find_active_member(principal: Principal, pk: int) -> Membership | None:
    return member_find(actor=principal, member_id=pk)


def find_any_member(principal: Principal, pk: int) -> Membership | None:
    return member_find(actor=principal, member_id=pk, include_inactive=True)


class _Member(InWorkspace):
    def to_internal_value(self, data: Any) -> Any:
        # A caller who may not see members is refused before the id is read, as the selector
        # (member_list) refuses when DRF asks it for the queryset.
        policies.ensure(self.principal(), Perm.MEMBER_VIEW)
        return super().to_internal_value(data)


class ActiveMember(_Member):
    """The id of an active member of the workspace (the caller needs to see members)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(selector=active_members, model=Membership, find=find_active_member, **kwargs)


class AnyMember(_Member):
    """The id of a member of the workspace, deactivated ones too (filters on past time)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(selector=any_members, model=Membership, find=find_any_member, **kwargs)


def list_query(serializer: type[serializers.Serializer[Any]], view: WorkspaceAPIView) -> dict[str, Any]:
    """A list's validated query parameters (a 400 names each bad one, a blank one included)."""
    # A plain dict, not the QueryDict: DRF reads a blank form value as "not given", the schema does not.
    query = serializer(data=view.request.query_params.dict(), context={"principal": view.principal})
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


# --- clients --------------------------------------------------------------------------------------


class ClientOutput(RedactedSerializerMixin, serializers.Serializer[Any]):
    """A client; its contact data is sensitive (null and listed in ``redacted`` unless you may see it)."""

    sensitive_fields = CLIENT_CONTACT_FIELDS

    id = serializers.IntegerField()
    name = serializers.CharField()
    contact_email = serializers.CharField(allow_null=True, help_text="Sensitive: null unless you may see it")
    contact_phone = serializers.CharField(allow_null=True, help_text="Sensitive")
    vat_id = serializers.CharField(allow_null=True, help_text="Sensitive")
    address = serializers.CharField(allow_null=True, help_text="Sensitive")
    is_archived = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    redacted = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Fields withheld from you (value null)"
    )


class ClientCreateInput(StrictSerializer):
    name = serializers.CharField(max_length=200)
    contact_email = serializers.EmailField(
        required=False, allow_blank=True, help_text="Sensitive: admins with sensitive access set contact data"
    )
    contact_phone = serializers.CharField(required=False, allow_blank=True, max_length=50)
    vat_id = serializers.CharField(required=False, allow_blank=True, max_length=50)
    address = serializers.CharField(required=False, allow_blank=True)


class ClientUpdateInput(ClientCreateInput):
    name = serializers.CharField(max_length=200, required=False)


class ClientQuery(serializers.Serializer[Any]):
    search = serializers.CharField(required=False, max_length=200, help_text="Part of the name, in any case")


def client_out(view: WorkspaceAPIView, client: Client) -> Any:
    return ClientOutput(client, context={"principal": view.principal}).data


class ClientListView(WorkspaceAPIView):
    """Clients of the workspace (contact data redacted unless you may see it); managers create them."""

    perms = {"GET": Perm.CLIENT_VIEW, "POST": Perm.CLIENT_MANAGE}
    audit_name = "client"
    ordering = ("name", "id")

    @extend_schema(parameters=[ARCHIVED_PARAM, ClientQuery], responses=ClientOutput(many=True))
    def get(self, request: Request, workspace_slug: str) -> Response:
        query = list_query(ClientQuery, self)
        clients = client_list(actor=self.principal, include_archived=include_archived(request), **query)
        return self.page(clients, ClientOutput)

    @extend_schema(request=ClientCreateInput, responses={201: ClientOutput})
    def post(self, request: Request, workspace_slug: str) -> Response:
        data = ClientCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        return self.single(client_out(self, client_create(actor=self.principal, **data.validated_data)), status=201)


class ClientDetailView(WorkspaceAPIView):
    perms = {"GET": Perm.CLIENT_VIEW, "PATCH": Perm.CLIENT_MANAGE}
    audit_name = "client"

    @extend_schema(responses=ClientOutput)
    def get(self, request: Request, workspace_slug: str, pk: int) -> Response:
        return self.single(client_out(self, client_get(actor=self.principal, client_id=pk)))

    @extend_schema(request=ClientUpdateInput, responses=ClientOutput)
    def patch(self, request: Request, workspace_slug: str, pk: int) -> Response:
        data = ClientUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        client = client_get(actor=self.principal, client_id=pk)
        self.check_if_match(client_out(self, client))
        return self.single(
            client_out(self, client_update(actor=self.principal, client=client, data=data.validated_data))
        )


class ClientArchiveView(WorkspaceAPIView):
    perms = {"POST": Perm.CLIENT_MANAGE}
    audit_name = "client"

    @extend_schema(request=ArchiveInput, responses=ClientOutput)
    def post(self, request: Request, workspace_slug: str, pk: int) -> Response:
        data = ArchiveInput(data=request.data)
        data.is_valid(raise_exception=True)
        client = client_get(actor=self.principal, client_id=pk)
        return self.single(client_out(self, client_archive(actor=self.principal, client=client, **data.validated_data)))


# --- projects -------------------------------------------------------------------------------------
