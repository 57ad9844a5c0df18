"""Tools about the workspace itself: context, members, clients, projects, tasks, tags."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from django.db.models import Prefetch
from pydantic import Field

from billing.rest_reports import BudgetHealthOutput
from billing.selectors import budget_health
from mcp_gateway.arguments import keyset_page, today_in
from mcp_gateway.registry import tool
from mcp_gateway.schemas import Out, model_for, page_of
from mcp_gateway.tools.common import CursorArg, Id, Limit, OptionalId, WriteResult, shaped
from timesheets.agent_policy import agent_ruling
from workspaces.api_catalog import ClientOutput, TagOutput
from workspaces.api_people import MemberOutput
from workspaces.api_projects import ProjectOutput, TaskOutput
from workspaces.errors import Forbidden, Invalid
from workspaces.models import Membership
from workspaces.policies import Perm, can_view_sensitive
from workspaces.principals import Principal
from workspaces.redaction import MEMBER_CONTACT_FIELDS, redact
from workspaces.selectors import (
    client_get,
    client_list,
    member_list,
    project_get,
    project_list,
    tag_list,
    task_list,
)
from workspaces.services import client_create, project_create

MemberBase = model_for(MemberOutput)
Client = model_for(ClientOutput)
ProjectBase = model_for(ProjectOutput)
Task = model_for(TaskOutput)
Tag = model_for(TagOutput)
Budget = model_for(BudgetHealthOutput, "BudgetBurn")


class Member(MemberBase):  # type: ignore[valid-type,misc]
    email: str | None = Field(default=None, description="Contact data: null unless you may see sensitive data")


class Project(ProjectBase):  # type: ignore[valid-type,misc]
    budget: Budget | None = Field(  # type: ignore[valid-type]
        default=None, description="Budget burn now (hours and money vs budget, forecast, status); null without budget"
    )


MemberPage = page_of(Member, "MemberPage")
ClientPage = page_of(Client, "ClientPage")
ProjectPage = page_of(Project, "ProjectPage")
TaskPage = page_of(Task, "TaskPage")
TagPage = page_of(Tag, "TagPage")


# --- context -----------------------------------------------------------------------------------


class WorkspaceInfo(Out):
    slug: str
    name: str
    timezone: str = Field(description="IANA time zone; days, weeks and months are cut in it")
    currency: str = Field(description="ISO 4217; every amount is in it")
    week_start: str = Field(description="The first day of the workspace week")
    lock_date: str | None = Field(description="Time on or before this date is locked; null: none")
    overlap_policy: str = Field(description="allow: entries may overlap; forbid: they may not")


class CallerInfo(Out):
    member_id: int
    username: str
    role: str = Field(json_schema_extra={"enum": ["member", "manager", "admin", "owner"]})
    scopes: list[str]
    connection_id: int | None
    connection_label: str


class Governance(Out):
    sensitive_visible: bool = Field(description="false: cost rates, margins and contact data come back null")
    agent_nonbillable_policy: str = Field(description="What happens to non-billable time you log: direct|draft|forbid")
    agent_billable_policy: str = Field(description="What happens to billable time you log: draft|forbid")


class Context(Out):
    workspace: WorkspaceInfo
    caller: CallerInfo
    governance: Governance
    today: str = Field(json_schema_extra={"format": "date"}, description="Today in the workspace time zone")


WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@tool(title="Who am I, where, and under which rules", perm=Perm.WORKSPACE_VIEW)
def get_context(caller: Principal) -> Context:
    """Start here. Returns the one workspace this connection is bound to (time zone, currency, week
    start, lock date), who you act for (member id, role, scopes), the governance in force (whether
    sensitive data is visible to you, what happens to time you log) and today's date in the
    workspace time zone. Read-only."""
    workspace = caller.workspace
    connection = caller.connection
    return Context(
        workspace=WorkspaceInfo(
            slug=workspace.slug,
            name=workspace.name,
            timezone=workspace.timezone,
            currency=workspace.currency,
            week_start=WEEKDAY_NAMES[workspace.week_start],
            lock_date=workspace.lock_date.isoformat() if workspace.lock_date else None,
            overlap_policy=workspace.overlap_policy,
        ),
        caller=CallerInfo(
            member_id=caller.membership.pk,
            username=caller.user.get_username(),
            role=caller.membership.role,
            scopes=sorted(caller.scopes),
            connection_id=connection.pk if connection else None,
            connection_label=connection.label if connection else "",
        ),
        governance=Governance(
            sensitive_visible=can_view_sensitive(caller),
            agent_nonbillable_policy=agent_ruling(workspace=workspace, connection=connection, billable=False).mode,
            agent_billable_policy=agent_ruling(workspace=workspace, connection=connection, billable=True).mode,
        ),
        today=today_in(workspace).isoformat(),
    )


# --- members -----------------------------------------------------------------------------------


@tool(title="List members", perm=Perm.MEMBER_VIEW)
def list_members(
    caller: Principal,
    include_inactive: Annotated[bool, Field(description="Also deactivated members")] = False,
    cursor: CursorArg = None,
    limit: Limit = 50,
) -> MemberPage:  # type: ignore[valid-type]
    """Members of the workspace with role, weekly capacity (hours) and billable rate, by username.
    Email and cost rate are contact/cost data: null and named in `redacted` unless this connection
    may see sensitive data."""
    rows, next_cursor = keyset_page(
        member_list(actor=caller, include_inactive=include_inactive),
        order=("user__username", "id"),
        cursor=cursor,
        limit=limit,
    )
    items = []
    for row in shaped(MemberOutput, rows, caller, many=True):
        hidden = list(row["redacted"])
        redact(row, MEMBER_CONTACT_FIELDS, principal=caller)
        row["redacted"] = hidden + [f for f in row["redacted"] if f not in hidden]
        items.append(row)
    return MemberPage(items=items, next_cursor=next_cursor)


# --- clients -----------------------------------------------------------------------------------


@tool(title="List clients", perm=Perm.CLIENT_VIEW)
def list_clients(
    caller: Principal,
    search: Annotated[str, Field(description="Part of the name, any case", max_length=200)] = "",
    include_archived: Annotated[bool, Field(description="Also archived clients")] = False,
    cursor: CursorArg = None,
    limit: Limit = 50,
) -> ClientPage:  # type: ignore[valid-type]
    """The workspace's clients by name. Contact email, phone, VAT id and address are sensitive:
    null and named in `redacted` unless this connection may see sensitive data."""
    rows, next_cursor = keyset_page(
        client_list(actor=caller, include_archived=include_archived, search=search),
        order=("name", "id"),
        cursor=cursor,
        limit=limit,
    )
    return ClientPage(items=shaped(ClientOutput, rows, caller, many=True), next_cursor=next_cursor)


@tool(title="Get a client", perm=Perm.CLIENT_VIEW)
def get_client(caller: Principal, client_id: Id) -> Client:  # type: ignore[valid-type]
    """One client by id (contact data redacted as in list_clients). An id of another workspace,
    or none at all, answers not_found."""
    return Client.model_validate(shaped(ClientOutput, client_get(actor=caller, client_id=client_id), caller))


class ClientCreated(WriteResult):
    client: Client  # type: ignore[valid-type]


@tool(title="Create a client", perm=Perm.CLIENT_MANAGE, write=True)
def create_client(
    caller: Principal,
    name: Annotated[str, Field(min_length=1, max_length=200, description="The client's name")],
    contact_email: Annotated[str, Field(max_length=254, description="Sensitive: only with sensitive access")] = "",
    contact_phone: Annotated[str, Field(max_length=50, description="Sensitive")] = "",
    vat_id: Annotated[str, Field(max_length=50, description="Sensitive")] = "",
    address: Annotated[str, Field(max_length=500, description="Sensitive")] = "",
) -> ClientCreated:
    """Create a client (managers and up). Contact data may be set only by admins whose connection
    allows sensitive data; otherwise leave it empty."""
    warnings = []
    if client_list(actor=caller, include_archived=True).filter(name__iexact=name.strip()).exists():
        warnings.append(f"A client named {name.strip()!r} already exists.")
    client = client_create(
        actor=caller,
        name=name,
        contact_email=contact_email,
        contact_phone=contact_phone,
        vat_id=vat_id,
        address=address,
    )
    return ClientCreated(
        client=shaped(ClientOutput, client, caller), warnings=warnings, summary=f"Client {client.name} created."
    )


# --- projects ----------------------------------------------------------------------------------


def _budgets(caller: Principal, projects: list[Any]) -> dict[int, Any]:
    """Budget burn of the given projects, in one query whatever their number."""
    if not projects:
        return {}
    rows = budget_health(actor=caller)
    wanted = {p.pk for p in projects}
    return {row.project_id: row for row in rows if row.project_id in wanted}


def _project_rows(caller: Principal, projects: list[Any]) -> list[dict[str, Any]]:
    budgets = _budgets(caller, projects)
    rows = []
    for project, data in zip(projects, shaped(ProjectOutput, projects, caller, many=True), strict=True):
        budget = budgets.get(project.pk)
        rows.append({**data, "budget": shaped(BudgetHealthOutput, budget, caller) if budget else None})
    return rows


def _projects_with_team(caller: Principal, **filters: Any) -> Any:
    return project_list(actor=caller, **filters).prefetch_related(
        Prefetch("team", queryset=Membership.objects.only("id"))
    )


@tool(title="List projects", perm=Perm.PROJECT_VIEW)
def list_projects(
    caller: Principal,
    client_id: OptionalId = None,
    status: Annotated[Literal["active", "archived"] | None, Field(description="Default: active only")] = None,
    cursor: CursorArg = None,
    limit: Limit = 50,
) -> ProjectPage:  # type: ignore[valid-type]
    """Projects you may see (members: those they are on), by name: client, billable default and
    rate, budget, team (member ids) and the budget burn now (hours/money used vs budget, forecast,
    status ok|warning|over)."""
    client = client_get(actor=caller, client_id=client_id) if client_id is not None else None
    rows, next_cursor = keyset_page(
        _projects_with_team(caller, client=client, status=status), order=("name", "id"), cursor=cursor, limit=limit
    )
    return ProjectPage(items=_project_rows(caller, rows), next_cursor=next_cursor)


@tool(title="Get a project", perm=Perm.PROJECT_VIEW)
def get_project(caller: Principal, project_id: Id) -> Project:
    """One project with its team and budget burn (see list_projects); not_found for an id you
    cannot see."""
    project = project_get(actor=caller, project_id=project_id)
    return Project.model_validate(_project_rows(caller, [project])[0])


class ProjectCreated(WriteResult):
    project: Project


def _decimal(value: str | None, name: str) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise Invalid(f"{name} must be a decimal number.", fields={name: ["E.g. '120.00'."]}) from None
    if number < 0:
        raise Invalid(f"{name} cannot be negative.", fields={name: ["Zero or more."]})
    return number


Money = Annotated[str | None, Field(description="A decimal string, e.g. '120.00'", pattern=r"^\d+(\.\d{1,2})?$")]


@tool(title="Create a project", perm=Perm.PROJECT_MANAGE, write=True)
def create_project(
    caller: Principal,
    name: Annotated[str, Field(min_length=1, max_length=200)],
    client_id: OptionalId = None,
    code: Annotated[str, Field(max_length=30, description="A short code, e.g. ACME-WEB")] = "",
    billable_by_default: Annotated[bool | None, Field(description="null: the workspace default")] = None,
    budget_hours: Money = None,
    budget_amount: Money = None,
    budget_period: Literal["total", "monthly"] = "total",
    billable_rate: Annotated[
        str | None, Field(description="Needs admin with sensitive access; otherwise omit", pattern=r"^\d+(\.\d{1,2})?$")
    ] = None,
    team_member_ids: Annotated[list[int], Field(description="Member ids to assign", max_length=200)] = [],  # noqa: B006
) -> ProjectCreated:
    """Create a project (managers and up), for a client or internal (no client), with an optional
    budget in hours and/or money, total or monthly, and a team. Setting a rate needs an admin
    whose connection allows sensitive data."""
    if billable_rate is not None and not can_view_sensitive(caller):
        raise Forbidden("Rates are sensitive: only admins whose connection allows sensitive data can set them.")
    client = client_get(actor=caller, client_id=client_id) if client_id is not None else None
    team = list(member_list(actor=caller).filter(pk__in=team_member_ids))
    if len(team) != len(set(team_member_ids)):
        raise Invalid("Unknown member.", fields={"team_member_ids": ["Every id must be an active member here."]})
    project = project_create(
        actor=caller,
        name=name,
        client=client,
        code=code,
        billable_by_default=billable_by_default,
        billable_rate=_decimal(billable_rate, "billable_rate"),
        budget_hours=_decimal(budget_hours, "budget_hours"),
        budget_amount=_decimal(budget_amount, "budget_amount"),
        budget_period=budget_period,
        team=team,
    )
    project = _projects_with_team(caller).get(pk=project.pk)
    row = _project_rows(caller, [project])[0]
    return ProjectCreated(project=Project.model_validate(row), summary=f"Project {project.name} created.")


# --- tasks and tags ------------------------------------------------------------------------------


@tool(title="List tasks", perm=Perm.PROJECT_VIEW)
def list_tasks(
    caller: Principal,
    project_id: OptionalId = None,
    include_archived: Annotated[bool, Field(description="Also archived tasks")] = False,
    cursor: CursorArg = None,
    limit: Limit = 50,
) -> TaskPage:  # type: ignore[valid-type]
    """Tasks (activities) of the projects you may see, optionally of one project, by name."""
    project = project_get(actor=caller, project_id=project_id) if project_id is not None else None
    rows, next_cursor = keyset_page(
        task_list(actor=caller, project=project, include_archived=include_archived),
        order=("name", "id"),
        cursor=cursor,
        limit=limit,
    )
    return TaskPage(items=shaped(TaskOutput, rows, caller, many=True), next_cursor=next_cursor)


@tool(title="List tags", perm=Perm.TAG_VIEW)
def list_tags(
    caller: Principal,
    include_archived: Annotated[bool, Field(description="Also archived tags")] = False,
    cursor: CursorArg = None,
    limit: Limit = 50,
) -> TagPage:  # type: ignore[valid-type]
    """The workspace's tags (labels on time entries), by name."""
    rows, next_cursor = keyset_page(
        tag_list(actor=caller, include_archived=include_archived), order=("name", "id"), cursor=cursor, limit=limit
    )
    return TagPage(items=shaped(TagOutput, rows, caller, many=True), next_cursor=next_cursor)
