"""REST face of what time is logged against: tags, clients, projects and tasks.

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

from workspaces.api import StrictSerializer
from workspaces.api_base import WorkspaceAPIView
from workspaces.models import BudgetPeriod, Client, Membership, Project, ProjectStatus
from workspaces.policies import Perm
from workspaces.principals import Principal
from workspaces.redaction import CLIENT_CONTACT_FIELDS, RedactedSerializerMixin
from workspaces.selectors import (
    client_get,
    client_list,
    member_list,
    project_get,
    project_list,
    tag_get,
    tag_list,
    task_get,
    task_list,
)
from workspaces.services import (
    client_archive,
    client_create,
    client_update,
    project_archive,
    project_create,
    project_update,
    tag_archive,
    tag_create,
    tag_update,
    task_archive,
    task_create,
    task_update,
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


class InWorkspace(serializers.PrimaryKeyRelatedField):
    """The id of an object the caller may see in this workspace, resolved through a selector.

    A missing id and another workspace's id answer alike: 400 "does not exist".
    """

    def __init__(
        self, *, selector: Callable[[Principal], QuerySet[Any]], model: type[models.Model], **kwargs: Any
    ) -> None:
        self.selector = selector
        super().__init__(queryset=model._default_manager.none(), **kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        principal = self.context.get("principal")
        assert isinstance(principal, Principal), "pass context={'principal': ...}"
        return self.selector(principal)


def visible_clients(principal: Principal) -> QuerySet[Client]:
    return client_list(actor=principal, include_archived=True)


def visible_projects(principal: Principal) -> QuerySet[Project]:
    return project_list(actor=principal, include_archived=True)


def active_members(principal: Principal) -> QuerySet[Membership]:
    return member_list(actor=principal)


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


class ProjectOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    code = serializers.CharField()
    color = serializers.CharField()
    client = serializers.IntegerField(source="client_id", allow_null=True, help_text="null: an internal project")
    client_name = serializers.CharField(source="client.name", allow_null=True)
    billable_by_default = serializers.BooleanField(allow_null=True, help_text="null: the workspace default")
    billable_rate = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    budget_hours = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    budget_amount = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    budget_period = serializers.ChoiceField(choices=BudgetPeriod.choices)
    alert_thresholds = serializers.ListField(child=serializers.IntegerField(), help_text="Percent of the budget")
    status = serializers.ChoiceField(choices=ProjectStatus.choices)
    # The queryset only names the model for the schema: this serializer never reads input.
    team: serializers.PrimaryKeyRelatedField[Membership] = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Membership.objects.none(), help_text="Ids of the members assigned"
    )
    created_at = serializers.DateTimeField()


class ProjectCreateInput(StrictSerializer):
    name = serializers.CharField(max_length=200)
    client = InWorkspace(
        selector=visible_clients, model=Client, required=False, allow_null=True, help_text="null: internal"
    )
    code = serializers.CharField(max_length=30, required=False, allow_blank=True)
    color = serializers.CharField(max_length=7, required=False, help_text="#RRGGBB")
    billable_by_default = serializers.BooleanField(required=False, allow_null=True)
    billable_rate = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True, help_text="Admins only"
    )
    budget_hours = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    budget_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    budget_period = serializers.ChoiceField(choices=BudgetPeriod.choices, required=False)
    alert_thresholds = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=1000), allow_empty=False, required=False
    )
    team = InWorkspace(selector=active_members, model=Membership, many=True, required=False)


class ProjectUpdateInput(ProjectCreateInput):
    name = serializers.CharField(max_length=200, required=False)


class ProjectQuery(serializers.Serializer[Any]):
    client = InWorkspace(selector=visible_clients, model=Client, required=False, help_text="A client's id")
    status = serializers.ChoiceField(choices=ProjectStatus.choices, required=False, help_text="Only this status")


def project_out(project: Project) -> Any:
    return ProjectOutput(project).data


class ProjectListView(WorkspaceAPIView):
    """Projects you may see (members: the ones they are assigned to); managers create them."""

    perms = {"GET": Perm.PROJECT_VIEW, "POST": Perm.PROJECT_MANAGE}
    audit_name = "project"
    ordering = ("name", "id")

    @extend_schema(parameters=[ARCHIVED_PARAM, ProjectQuery], responses=ProjectOutput(many=True))
    def get(self, request: Request, workspace_slug: str) -> Response:
        query = list_query(ProjectQuery, self)
        projects = project_list(actor=self.principal, include_archived=include_archived(request), **query)
        return self.page(projects.prefetch_related("team"), ProjectOutput)

    @extend_schema(request=ProjectCreateInput, responses={201: ProjectOutput})
    def post(self, request: Request, workspace_slug: str) -> Response:
        data = ProjectCreateInput(data=request.data, context={"principal": self.principal})
        data.is_valid(raise_exception=True)
        return self.single(project_out(project_create(actor=self.principal, **data.validated_data)), status=201)


class ProjectDetailView(WorkspaceAPIView):
    perms = {"GET": Perm.PROJECT_VIEW, "PATCH": Perm.PROJECT_MANAGE}
    audit_name = "project"

    @extend_schema(responses=ProjectOutput)
    def get(self, request: Request, workspace_slug: str, pk: int) -> Response:
        return self.single(project_out(project_get(actor=self.principal, project_id=pk)))

    @extend_schema(request=ProjectUpdateInput, responses=ProjectOutput)
    def patch(self, request: Request, workspace_slug: str, pk: int) -> Response:
        data = ProjectUpdateInput(data=request.data, context={"principal": self.principal})
        data.is_valid(raise_exception=True)
        project = project_get(actor=self.principal, project_id=pk)
        self.check_if_match(project_out(project))
        return self.single(project_out(project_update(actor=self.principal, project=project, data=data.validated_data)))


class ProjectArchiveView(WorkspaceAPIView):
    perms = {"POST": Perm.PROJECT_MANAGE}
    audit_name = "project"

    @extend_schema(request=ArchiveInput, responses=ProjectOutput)
    def post(self, request: Request, workspace_slug: str, pk: int) -> Response:
        data = ArchiveInput(data=request.data)
        data.is_valid(raise_exception=True)
        project = project_get(actor=self.principal, project_id=pk)
        return self.single(project_out(project_archive(actor=self.principal, project=project, **data.validated_data)))


# --- tasks ----------------------------------------------------------------------------------------


class TaskOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    project = serializers.IntegerField(source="project_id")
    project_name = serializers.CharField(source="project.name")
    name = serializers.CharField()
    billable = serializers.BooleanField(allow_null=True, help_text="null: the project's default")
    billable_rate = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    is_archived = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class TaskUpdateInput(StrictSerializer):
    name = serializers.CharField(max_length=200, required=False)
    billable = serializers.BooleanField(required=False, allow_null=True)
    billable_rate = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, allow_null=True, help_text="Admins only"
    )


class TaskCreateInput(TaskUpdateInput):
    project = InWorkspace(selector=visible_projects, model=Project)
    name = serializers.CharField(max_length=200)


class TaskQuery(serializers.Serializer[Any]):
    project = InWorkspace(selector=visible_projects, model=Project, required=False, help_text="A project's id")


class TaskListView(WorkspaceAPIView):
    """Tasks of the projects you may see; managers create them."""

    perms = {"GET": Perm.PROJECT_VIEW, "POST": Perm.PROJECT_MANAGE}
    audit_name = "task"
    ordering = ("name", "id")

    @extend_schema(parameters=[ARCHIVED_PARAM, TaskQuery], responses=TaskOutput(many=True))
    def get(self, request: Request, workspace_slug: str) -> Response:
        query = list_query(TaskQuery, self)
        return self.page(
            task_list(actor=self.principal, include_archived=include_archived(request), **query), TaskOutput
        )

    @extend_schema(request=TaskCreateInput, responses={201: TaskOutput})
    def post(self, request: Request, workspace_slug: str) -> Response:
        data = TaskCreateInput(data=request.data, context={"principal": self.principal})
        data.is_valid(raise_exception=True)
        return self.single(TaskOutput(task_create(actor=self.principal, **data.validated_data)).data, status=201)


class TaskDetailView(WorkspaceAPIView):
    perms = {"GET": Perm.PROJECT_VIEW, "PATCH": Perm.PROJECT_MANAGE}
    audit_name = "task"

    @extend_schema(responses=TaskOutput)
    def get(self, request: Request, workspace_slug: str, pk: int) -> Response:
        return self.single(TaskOutput(task_get(actor=self.principal, task_id=pk)).data)

    @extend_schema(request=TaskUpdateInput, responses=TaskOutput)
    def patch(self, request: Request, workspace_slug: str, pk: int) -> Response:
        data = TaskUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        task = task_get(actor=self.principal, task_id=pk)
        self.check_if_match(TaskOutput(task).data)
        return self.single(TaskOutput(task_update(actor=self.principal, task=task, data=data.validated_data)).data)


class TaskArchiveView(WorkspaceAPIView):
    perms = {"POST": Perm.PROJECT_MANAGE}
    audit_name = "task"

    @extend_schema(request=ArchiveInput, responses=TaskOutput)
    def post(self, request: Request, workspace_slug: str, pk: int) -> Response:
        data = ArchiveInput(data=request.data)
        data.is_valid(raise_exception=True)
        task = task_get(actor=self.principal, task_id=pk)
        return self.single(TaskOutput(task_archive(actor=self.principal, task=task, **data.validated_data)).data)
