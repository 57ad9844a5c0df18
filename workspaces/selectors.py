"""Reads for workspaces, members, clients, projects, tasks and tags — always workspace-scoped."""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import QuerySet

from timetracker import compiled
from timetracker.compiled import ID, Param
from workspaces import policies
from workspaces.errors import NotFound
from workspaces.models import Client, Membership, Project, ProjectStatus, Role, Tag, Task, User
from workspaces.policies import Perm
from workspaces.principals import Principal

M = TypeVar("M", bound=models.Model)


def get_or_not_found(queryset: QuerySet[M], pk: object, *, label: str) -> M:
    """The one access helper: a missing id and another workspace's id answer the same."""
    try:
        return queryset.get(pk=pk)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise NotFound(f"{label} not found.") from None


def membership_list_for_user(*, user: User) -> QuerySet[Membership]:
    """The user's active memberships in active workspaces (the workspace switcher)."""
    return (
        Membership.objects.filter(user=user, is_active=True, workspace__is_active=True)
        .select_related("workspace")
        .order_by("workspace__name")
    )


def membership_list_for_caller(*, user: User, principal: Principal | None) -> QuerySet[Membership]:
    """The workspaces a REST caller can reach: a connection only its own (with the API on); a person every one."""
    memberships = membership_list_for_user(user=user)
    if principal is not None and principal.connection is not None:
        memberships = memberships.filter(pk=principal.membership.pk, workspace__api_enabled=True)
    return memberships


def principal_for_user(*, user: User, workspace_slug: str, **context: object) -> Principal:
    """A browser principal for ``user`` in the workspace; NotFound unless an active member."""
    if not user.is_active:
        raise NotFound("Workspace not found.")
    try:
        membership = membership_list_for_user(user=user).get(workspace__slug=workspace_slug)
    except Membership.DoesNotExist:
        raise NotFound("Workspace not found.") from None
    return Principal(user=user, membership=membership, **context)  # type: ignore[arg-type]


def member_list(*, actor: Principal, include_inactive: bool = False, params: bool = False) -> QuerySet[Membership]:
    """The workspace's members (active ones unless ``include_inactive``), by username. With
    ``params`` the workspace is a :class:`Param` (``workspace_id``) for a query compiled once."""
    policies.ensure(actor, Perm.MEMBER_VIEW)
    workspace_id: Any = Param("workspace_id", ID) if params else actor.workspace.pk
    qs = Membership.objects.filter(workspace_id=workspace_id).select_related("user").order_by("user__username")
    return qs if include_inactive else qs.filter(is_active=True)


def member_find(*, actor: Principal, member_id: int, include_inactive: bool = False) -> Membership | None:
    """The member (active, unless ``include_inactive``) if the caller may see members, else
    ``None``: the lookup behind a member id in REST input (``?member=`` on every list of time),
    compiled once per shape (``timetracker.compiled``)."""
    policies.ensure(actor, Perm.MEMBER_VIEW)  # as member_list: its build runs once, not every call
    found = compiled.instances(
        ("member_find", include_inactive),
        lambda: member_list(actor=actor, include_inactive=include_inactive, params=True).filter(
            pk=Param("member_id", ID)
        ),
        {"workspace_id": actor.workspace.pk, "member_id": member_id},
    )
    return found[0] if found else None


def member_get(*, actor: Principal, member_id: object) -> Membership:
    return get_or_not_found(member_list(actor=actor, include_inactive=True), member_id, label="Member")


def client_list(*, actor: Principal, include_archived: bool = False, search: str = "") -> QuerySet[Client]:
    """The workspace's clients; ``search`` matches part of the name, in any case."""
    policies.ensure(actor, Perm.CLIENT_VIEW)
    qs = Client.objects.filter(workspace=actor.workspace)
    if search.strip():
        qs = qs.filter(name__icontains=search.strip())
    return qs if include_archived else qs.filter(is_archived=False)


def client_get(*, actor: Principal, client_id: object) -> Client:
    return get_or_not_found(client_list(actor=actor, include_archived=True), client_id, label="Client")


def project_team_member(actor: Principal) -> int | None:
    """Whose assigned projects bound what the caller sees: the caller's membership id for members,
    ``None`` for managers and up (every project)."""
    policies.ensure(actor, Perm.PROJECT_VIEW)
    return None if policies.role_at_least(actor.membership.role, Role.MANAGER) else actor.membership.pk


def project_list(
    *,
    actor: Principal,
    include_archived: bool = False,
    client: Client | None = None,
    status: ProjectStatus | str | None = None,
    params: bool = False,
) -> QuerySet[Project]:
    """Projects the caller may see: every project for managers and up, assigned ones for members.

    ``status`` picks one status (``archived`` needs no ``include_archived``). With ``params`` the
    workspace, team member and client are :class:`Param` placeholders (``workspace_id``,
    ``team_member_id``, ``client_id``) for a query compiled once per shape.
    """
    team_member = project_team_member(actor)

    def value(name: str, found: int) -> Any:  # a Param or the value
        return Param(name, ID) if params else found

    qs = Project.objects.filter(workspace_id=value("workspace_id", actor.workspace.pk)).select_related("client")
    if team_member is not None:
        qs = qs.filter(team__id=value("team_member_id", team_member))
    if status is not None:
        qs = qs.filter(status=status)
    elif not include_archived:
        qs = qs.filter(status=ProjectStatus.ACTIVE)
    if client is not None:
        qs = qs.filter(client_id=value("client_id", client.pk))
    return qs


def project_find(*, actor: Principal, project_id: int) -> Project | None:
    """The project if the caller may see it (archived too), else ``None``: the lookup behind a
    project id in REST input, compiled once per shape (``timetracker.compiled``)."""
    team_member = project_team_member(actor)
    found = compiled.instances(
        ("project_find", team_member is None),
        lambda: project_list(actor=actor, include_archived=True, params=True).filter(pk=Param("project_id", ID)),
        {"workspace_id": actor.workspace.pk, "team_member_id": team_member, "project_id": project_id},
    )
    if not found:
        return None
    project: Project = found[0]
    project.workspace = actor.workspace  # found in it: the workspace's defaults read no row of their own
    return project


def project_get(*, actor: Principal, project_id: object) -> Project:
    """A project the caller may see, archived too; any other id (not one, another workspace's, off
    the caller's team) is "not found" alike. Compiled: see :func:`project_find`."""
    policies.ensure(actor, Perm.PROJECT_VIEW)
    try:
        pk = int(project_id) if not isinstance(project_id, bool) else None  # type: ignore[call-overload]
    except (TypeError, ValueError):
        pk = None
    found = project_find(actor=actor, project_id=pk) if pk is not None and compiled.in_id_range(pk) else None
    if found is None:
        raise NotFound("Project not found.")
    return found


def task_list(*, actor: Principal, project: Project | None = None, include_archived: bool = False) -> QuerySet[Task]:
    visible_projects = project_list(actor=actor, include_archived=True)
    qs = Task.objects.filter(project__in=visible_projects).select_related("project")
    if project is not None:
        qs = qs.filter(project=project)
    return qs if include_archived else qs.filter(is_archived=False)


def task_get(*, actor: Principal, task_id: object) -> Task:
    return get_or_not_found(task_list(actor=actor, include_archived=True), task_id, label="Task")


def tag_list(*, actor: Principal, include_archived: bool = False) -> QuerySet[Tag]:
    policies.ensure(actor, Perm.TAG_VIEW)
    qs = Tag.objects.filter(workspace=actor.workspace)
    return qs if include_archived else qs.filter(is_archived=False)


def tag_get(*, actor: Principal, tag_id: object) -> Tag:
    return get_or_not_found(tag_list(actor=actor, include_archived=True), tag_id, label="Tag")
