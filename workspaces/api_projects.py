"""REST face of projects and their tasks (tags and clients: workspaces/api_catalog.py)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from workspaces.api import StrictSerializer
from workspaces.api_base import WorkspaceAPIView
from workspaces.api_catalog import (
    ARCHIVED_PARAM,
    ActiveMember,
    ArchiveInput,
    InWorkspace,
    VisibleProject,
    include_archived,
    list_query,
    visible_clients,
)
from workspaces.models import BudgetPeriod, Client, Membership, Project, ProjectStatus
from workspaces.policies import Perm
from workspaces.selectors import project_get, project_list, task_get, task_list
from workspaces.services import project_archive, project_create, project_update, task_archive, task_create, task_update


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
    team = ActiveMember(many=True, required=False)


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
    project = VisibleProject()
    name = serializers.CharField(max_length=200)


class TaskQuery(serializers.Serializer[Any]):
    project = VisibleProject(required=False, help_text="A project's id")


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
