"""Writes for workspaces, members, clients, projects, tasks and tags.

Every function is keyword-only, runs in one transaction, checks the policy, validates before
saving and records its AuditEvent in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from django.db import models, transaction
from django.db.models import QuerySet
from django.utils.text import slugify

from workspaces import audit, policies
from workspaces.errors import Forbidden, Invalid
from workspaces.model_update import apply_updates, reject_unknown_fields, validate_instance
from workspaces.models import (
    Channel,
    Client,
    Membership,
    Project,
    ProjectStatus,
    Role,
    Tag,
    Task,
    User,
    Workspace,
)
from workspaces.policies import Perm
from workspaces.principals import Principal
from workspaces.selectors import get_or_not_found

M = TypeVar("M", bound=models.Model)

WORKSPACE_FIELDS = {
    "name",
    "timezone",
    "currency",
    "week_start",
    "default_billable",
    "default_billable_rate",
    "overlap_policy",
    "agent_nonbillable_policy",
    "agent_billable_policy",
    "api_enabled",
    "mcp_enabled",
    "audit_retention_days",
}
# The settings that cut weeks: changing one moves entries between weeks (TimeEntry.week_start).
WEEK_FIELDS = frozenset({"timezone", "week_start"})
CLIENT_FIELDS = {"name", "contact_email", "contact_phone", "vat_id", "address"}
CLIENT_SENSITIVE_FIELDS = {"contact_email", "contact_phone", "vat_id", "address"}
PROJECT_FIELDS = {
    "name",
    "client",
    "code",
    "color",
    "billable_by_default",
    "billable_rate",
    "budget_hours",
    "budget_amount",
    "budget_period",
    "alert_thresholds",
    "team",
}
TASK_FIELDS = {"name", "billable", "billable_rate"}
TAG_FIELDS = {"name"}
RATE_FIELDS = {"billable_rate", "default_billable_rate", "cost_rate"}


def _unique_slug(name: str) -> str:
    base = slugify(name)[:50] or "workspace"
    slug, n = base, 1
    while Workspace.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def lock_row(queryset: QuerySet[M], pk: object, label: str) -> M:
    """Re-read a row for update, inside the caller's workspace only."""
    return get_or_not_found(queryset.select_for_update(), pk, label=label)


def _apply_and_save(actor: Principal, instance: M, data: Mapping[str, Any], *, allowed: set[str], action: str) -> M:
    """The shared tail of an update: allow-listed fields set, validated, saved, audited."""
    changed = apply_updates(instance, data, allowed=allowed)
    validate_instance(instance)
    instance.save(update_fields=changed or None)
    audit.record(action=action, actor=actor, target=instance, detail={"fields": sorted(changed)})
    return instance


def _locked_workspace(actor: Principal) -> Workspace:
    return Workspace.objects.select_for_update().get(pk=actor.workspace.pk)


def ensure_rates_allowed(actor: Principal, data: Mapping[str, Any]) -> None:
    if RATE_FIELDS & {name for name, value in data.items() if value is not None}:
        policies.ensure(actor, Perm.RATE_MANAGE)


# --- workspaces -----------------------------------------------------------------------------


@transaction.atomic
def workspace_create(
    *,
    user: User,
    name: str,
    slug: str = "",
    timezone_name: str = "UTC",
    currency: str = "EUR",
    week_start: int = 0,
    channel: str = Channel.WEB,
) -> Workspace:
    """Create a workspace; its creator becomes its owner."""
    workspace = Workspace(
        name=name.strip(),
        slug=slug or _unique_slug(name),
        timezone=timezone_name,
        currency=currency.upper(),
        week_start=week_start,
    )
    validate_instance(workspace)
    workspace.save()
    Membership.objects.create(user=user, workspace=workspace, role=Role.OWNER)
    audit.record(action="workspace.create", user=user, workspace=workspace, channel=channel, target=workspace)
    return workspace


@transaction.atomic
def workspace_update(*, actor: Principal, data: Mapping[str, Any]) -> Workspace:
    """Change workspace settings (allow-listed); rates need the rate permission."""
    policies.ensure(actor, Perm.WORKSPACE_MANAGE)
    ensure_rates_allowed(actor, data)
    workspace = _locked_workspace(actor)
    changed = apply_updates(workspace, data, allowed=WORKSPACE_FIELDS)
    validate_instance(workspace)
    workspace.save(update_fields=changed or None)
    workspace_settings_saved(workspace=workspace, changed=changed)
    audit.record(action="workspace.update", actor=actor, target=workspace, detail={"fields": sorted(changed)})
    return workspace


def workspace_settings_saved(*, workspace: Workspace, changed: Iterable[str]) -> None:
    """What follows a saved change of the workspace's settings, however it was made (this module's
    ``workspace_update``, Django admin): a new time zone or first weekday moves every entry into
    the week it now counts in. Call it in the transaction that saved the workspace."""
    if WEEK_FIELDS.intersection(changed):
        from timesheets.services import entry_weeks_recompute  # timesheets builds on workspaces

        entry_weeks_recompute(workspace=workspace)


@transaction.atomic
def workspace_set_lock_date(*, actor: Principal, lock_date: date | None) -> Workspace:
    """Entries on or before ``lock_date`` become locked; ``None`` lifts the lock."""
    policies.ensure(actor, Perm.WORKSPACE_MANAGE)
    workspace = _locked_workspace(actor)
    previous = workspace.lock_date
    workspace.lock_date = lock_date
    workspace.save(update_fields=["lock_date"])
    audit.record(
        action="workspace.lock_date",
        actor=actor,
        target=workspace,
        detail={"from": previous.isoformat() if previous else None, "to": lock_date.isoformat() if lock_date else None},
    )
    return workspace


# --- clients --------------------------------------------------------------------------------


@transaction.atomic
def client_create(
    *,
    actor: Principal,
    name: str,
    contact_email: str = "",
    contact_phone: str = "",
    vat_id: str = "",
    address: str = "",
) -> Client:
    """Create a client. Contact data is sensitive and needs admin with sensitive access."""
    policies.ensure(actor, Perm.CLIENT_MANAGE)
    contact = {"contact_email": contact_email, "contact_phone": contact_phone, "vat_id": vat_id, "address": address}
    if any(contact.values()) and not policies.can_view_sensitive(actor):
        raise Forbidden("Contact data is sensitive: only admins with sensitive access can set it.")
    client = Client(workspace=actor.workspace, name=name.strip(), **contact)
    validate_instance(client)
    client.save()
    audit.record(action="client.create", actor=actor, target=client)
    return client


@transaction.atomic
def client_update(*, actor: Principal, client: Client, data: Mapping[str, Any]) -> Client:
    policies.ensure(actor, Perm.CLIENT_MANAGE)
    reject_unknown_fields(data, CLIENT_FIELDS)
    if CLIENT_SENSITIVE_FIELDS & set(data) and not policies.can_view_sensitive(actor):
        raise Forbidden("Contact data is sensitive: only admins with sensitive access can change it.")
    client = lock_row(Client.objects.filter(workspace=actor.workspace), client.pk, "Client")
    return _apply_and_save(actor, client, data, allowed=CLIENT_FIELDS, action="client.update")


@transaction.atomic
def client_archive(*, actor: Principal, client: Client, archived: bool = True) -> Client:
    """Archive (or restore) a client; its history stays, it leaves pickers and lists."""
    policies.ensure(actor, Perm.CLIENT_MANAGE)
    client = lock_row(Client.objects.filter(workspace=actor.workspace), client.pk, "Client")
    client.is_archived = archived
    client.save(update_fields=["is_archived"])
    audit.record(action="client.archive" if archived else "client.restore", actor=actor, target=client)
    return client


# --- projects -------------------------------------------------------------------------------


def _validate_thresholds(value: Any) -> list[int]:
    if not isinstance(value, list) or not value or not all(isinstance(v, int) and 0 < v <= 1000 for v in value):
        raise Invalid(
            "Alert thresholds are a list of whole percentages between 1 and 1000.",
            fields={"alert_thresholds": ["E.g. [80, 100]."]},
        )
    return sorted(set(value))


def _validate_project_relations(actor: Principal, project: Project, team: Iterable[Membership] | None) -> None:
    if project.client is not None and project.client.workspace_id != actor.workspace.pk:
        raise Invalid("Client not found.", fields={"client": ["Client not found."]})
    if team is not None and any(m.workspace_id != actor.workspace.pk for m in team):
        raise Invalid("Member not found.", fields={"team": ["Every team member must belong to this workspace."]})


@transaction.atomic
def project_create(
    *,
    actor: Principal,
    name: str,
    client: Client | None = None,
    code: str = "",
    color: str = "#4f6bed",
    billable_by_default: bool | None = None,
    billable_rate: Decimal | None = None,
    budget_hours: Decimal | None = None,
    budget_amount: Decimal | None = None,
    budget_period: str = "total",
    alert_thresholds: list[int] | None = None,
    team: Iterable[Membership] = (),
) -> Project:
    """Create a project (no client = internal). Setting a rate needs the rate permission."""
    policies.ensure(actor, Perm.PROJECT_MANAGE)
    ensure_rates_allowed(actor, {"billable_rate": billable_rate})
    team = list(team)
    project = Project(
        workspace=actor.workspace,
        client=client,
        name=name.strip(),
        code=code.strip(),
        color=color,
        billable_by_default=billable_by_default,
        billable_rate=billable_rate,
        budget_hours=budget_hours,
        budget_amount=budget_amount,
        budget_period=budget_period,
        alert_thresholds=_validate_thresholds(alert_thresholds if alert_thresholds is not None else [80, 100]),
    )
    _validate_project_relations(actor, project, team)
    if client is not None and client.is_archived:
        raise Invalid("That client is archived.", fields={"client": ["Restore the client first."]})
    validate_instance(project)
    project.save()
    project.team.set(team)
    audit.record(action="project.create", actor=actor, target=project)
    return project


@transaction.atomic
def project_update(*, actor: Principal, project: Project, data: Mapping[str, Any]) -> Project:
    policies.ensure(actor, Perm.PROJECT_MANAGE)
    reject_unknown_fields(data, PROJECT_FIELDS)
    if "billable_rate" in data:
        policies.ensure(actor, Perm.RATE_MANAGE)
    project = lock_row(Project.objects.filter(workspace=actor.workspace), project.pk, "Project")
    values = dict(data)
    team = list(values.pop("team")) if "team" in values else None
    if "alert_thresholds" in values:
        values["alert_thresholds"] = _validate_thresholds(values["alert_thresholds"])
    changed = apply_updates(project, values, allowed=PROJECT_FIELDS - {"team"})
    _validate_project_relations(actor, project, team)
    validate_instance(project)
    project.save(update_fields=changed or None)
    if team is not None:
        project.team.set(team)
        changed.append("team")
    audit.record(action="project.update", actor=actor, target=project, detail={"fields": sorted(changed)})
    return project


@transaction.atomic
def project_archive(*, actor: Principal, project: Project, archived: bool = True) -> Project:
    """Archive (or restore) a project: no new time on it, its history stays."""
    policies.ensure(actor, Perm.PROJECT_MANAGE)
    project = lock_row(Project.objects.filter(workspace=actor.workspace), project.pk, "Project")
    project.status = ProjectStatus.ARCHIVED if archived else ProjectStatus.ACTIVE
    project.save(update_fields=["status"])
    audit.record(action="project.archive" if archived else "project.restore", actor=actor, target=project)
    return project


# --- tasks ----------------------------------------------------------------------------------


@transaction.atomic
def task_create(
    *,
    actor: Principal,
    project: Project,
    name: str,
    billable: bool | None = None,
    billable_rate: Decimal | None = None,
) -> Task:
    policies.ensure(actor, Perm.PROJECT_MANAGE)
    ensure_rates_allowed(actor, {"billable_rate": billable_rate})
    if project.workspace_id != actor.workspace.pk:
        raise Invalid("Project not found.", fields={"project": ["Project not found."]})
    task = Task(project=project, name=name.strip(), billable=billable, billable_rate=billable_rate)
    validate_instance(task)
    task.save()
    audit.record(action="task.create", actor=actor, target=task)
    return task


@transaction.atomic
def task_update(*, actor: Principal, task: Task, data: Mapping[str, Any]) -> Task:
    policies.ensure(actor, Perm.PROJECT_MANAGE)
    reject_unknown_fields(data, TASK_FIELDS)
    if "billable_rate" in data:
        policies.ensure(actor, Perm.RATE_MANAGE)
    task = lock_row(Task.objects.filter(project__workspace=actor.workspace), task.pk, "Task")
    return _apply_and_save(actor, task, data, allowed=TASK_FIELDS, action="task.update")


@transaction.atomic
def task_archive(*, actor: Principal, task: Task, archived: bool = True) -> Task:
    policies.ensure(actor, Perm.PROJECT_MANAGE)
    task = lock_row(Task.objects.filter(project__workspace=actor.workspace), task.pk, "Task")
    task.is_archived = archived
    task.save(update_fields=["is_archived"])
    audit.record(action="task.archive" if archived else "task.restore", actor=actor, target=task)
    return task


# --- tags -----------------------------------------------------------------------------------


@transaction.atomic
def tag_create(*, actor: Principal, name: str) -> Tag:
    policies.ensure(actor, Perm.TAG_MANAGE)
    tag = Tag(workspace=actor.workspace, name=name.strip())
    validate_instance(tag)
    tag.save()
    audit.record(action="tag.create", actor=actor, target=tag)
    return tag


@transaction.atomic
def tag_update(*, actor: Principal, tag: Tag, data: Mapping[str, Any]) -> Tag:
    policies.ensure(actor, Perm.TAG_MANAGE)
    tag = lock_row(Tag.objects.filter(workspace=actor.workspace), tag.pk, "Tag")
    return _apply_and_save(actor, tag, data, allowed=TAG_FIELDS, action="tag.update")


@transaction.atomic
def tag_archive(*, actor: Principal, tag: Tag, archived: bool = True) -> Tag:
    policies.ensure(actor, Perm.TAG_MANAGE)
    tag = lock_row(Tag.objects.filter(workspace=actor.workspace), tag.pk, "Tag")
    tag.is_archived = archived
    tag.save(update_fields=["is_archived"])
    audit.record(action="tag.archive" if archived else "tag.restore", actor=actor, target=tag)
    return tag
