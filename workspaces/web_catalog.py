"""Web face of what time is logged against: projects (with budget bars, tasks and team) and clients.

Members see the projects they are on and the clients; managers and up create, edit and archive
them. Client contact data appears only for those who may see sensitive data, and rates are set
only by admins — the selectors, services and policies decide, as for the REST API.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from billing.selectors import BudgetHealth, budget_health
from workspaces import policies
from workspaces.errors import DomainError
from workspaces.forms import ClientForm, ClientListQuery, ProjectForm, ProjectListQuery, TaskForm
from workspaces.models import Client, Project, ProjectStatus, Task
from workspaces.policies import Perm
from workspaces.principals import Principal
from workspaces.selectors import client_get, project_get, task_get, task_list
from workspaces.services import (
    client_archive,
    client_create,
    client_update,
    project_archive,
    project_create,
    project_update,
    task_archive,
    task_create,
    task_update,
)
from workspaces.web import redirect_back, show_error, workspace_view

PAGE_SIZE = 50


@dataclass(frozen=True)
class BudgetBar:
    """A project's budget burn as a bar: its health and the bar's width (0 to 100)."""

    health: BudgetHealth

    @property
    def width(self) -> int:
        return int(min(self.health.percent, Decimal(100)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def wants_archived(request: HttpRequest) -> bool:
    """An archive button posts ``archived=true`` (archive) or ``archived=false`` (restore)."""
    return request.POST.get("archived", "true") != "false"


def _slug(principal: Principal) -> str:
    return principal.workspace.slug


# --- projects ------------------------------------------------------------------------------------


@workspace_view(Perm.PROJECT_VIEW)
def projects(request: HttpRequest, principal: Principal) -> HttpResponse:
    """Projects the caller may see, by name, with their budget burn; search, client, archived."""
    query = ProjectListQuery(request.GET, principal=principal)
    page = Paginator(query.projects(), PAGE_SIZE).get_page(request.GET.get("page"))
    bars: dict[int, BudgetBar] = {}
    if any(p.budget_hours is not None or p.budget_amount is not None for p in page.object_list):
        # One query for every budgeted project, whatever the page holds.
        bars = {h.project_id: BudgetBar(h) for h in budget_health(actor=principal)}
    return render(
        request,
        "workspaces/project_list.html",
        {
            "query": query,
            "page": page,
            "rows": [(project, bars.get(project.pk)) for project in page.object_list],
            "filtered": any(request.GET.get(name) for name in ("q", "client", "archived")),
            "can_manage": policies.can(principal, Perm.PROJECT_MANAGE),
        },
        status=400 if query.errors else 200,
    )


def _project_form_page(
    request: HttpRequest, form: ProjectForm, *, project: Project | None = None, status: int = 200
) -> HttpResponse:
    return render(request, "workspaces/project_form.html", {"form": form, "project": project}, status=status)


@workspace_view(Perm.PROJECT_MANAGE, methods=("GET", "HEAD", "POST"))
def project_new(request: HttpRequest, principal: Principal) -> HttpResponse:
    """Create a project; a client picked from the projects list is preselected."""
    if request.method != "POST":
        initial = {"client": request.GET.get("client") or None}
        return _project_form_page(request, ProjectForm(initial=initial, principal=principal))
    form = ProjectForm(request.POST, principal=principal)
    if form.is_valid():
        try:
            project = project_create(actor=principal, **form.service_data())
        except DomainError as exc:
            show_error(form, exc)
        else:
            messages.success(request, f"Project {project.name} created.")
            return redirect("project-detail", _slug(principal), project.pk)
    return _project_form_page(request, form, status=400)


@workspace_view(Perm.PROJECT_MANAGE, methods=("GET", "HEAD", "POST"))
def project_edit(request: HttpRequest, principal: Principal, project_id: int) -> HttpResponse:
    project = project_get(actor=principal, project_id=project_id)
    if request.method != "POST":
        form = ProjectForm(initial=ProjectForm.initial_for(project), principal=principal, project=project)
        return _project_form_page(request, form, project=project)
    form = ProjectForm(request.POST, principal=principal, project=project)
    if form.is_valid():
        try:
            project = project_update(actor=principal, project=project, data=form.service_data())
        except DomainError as exc:
            show_error(form, exc)
        else:
            messages.success(request, f"Project {project.name} saved.")
            return redirect("project-detail", _slug(principal), project.pk)
    return _project_form_page(request, form, project=project, status=400)


@workspace_view(Perm.PROJECT_MANAGE, methods=("POST",))
def project_archive_view(request: HttpRequest, principal: Principal, project_id: int) -> HttpResponse:
    """Archive (``archived=true``) or restore (``archived=false``) a project."""
    project = project_get(actor=principal, project_id=project_id)
    project = project_archive(actor=principal, project=project, archived=wants_archived(request))
    done = "archived" if project.status == ProjectStatus.ARCHIVED else "restored"
    messages.success(request, f"Project {project.name} {done}.")
    return redirect(redirect_back(request, reverse("project-detail", args=[_slug(principal), project.pk])))


def _project_detail_page(
    request: HttpRequest,
    principal: Principal,
    project: Project,
    *,
    task_form: TaskForm | None = None,
    status: int = 200,
) -> HttpResponse:
    can_manage = policies.can(principal, Perm.PROJECT_MANAGE)
    health = budget_health(actor=principal, project=project)
    return render(
        request,
        "workspaces/project_detail.html",
        {
            "project": project,
            "bar": BudgetBar(health[0]) if health else None,
            "tasks": task_list(actor=principal, project=project, include_archived=True).order_by("is_archived", "name"),
            "team": project.team.select_related("user").order_by("user__username"),
            "can_manage": can_manage,
            "task_form": task_form or (TaskForm(principal=principal) if can_manage else None),
        },
        status=status,
    )


@workspace_view(Perm.PROJECT_VIEW)
def project_detail(request: HttpRequest, principal: Principal, project_id: int) -> HttpResponse:
    """A project: its settings, budget burn, tasks and team."""
    return _project_detail_page(request, principal, project_get(actor=principal, project_id=project_id))


# --- tasks ---------------------------------------------------------------------------------------


@workspace_view(Perm.PROJECT_MANAGE, methods=("POST",))
def task_new(request: HttpRequest, principal: Principal, project_id: int) -> HttpResponse:
    """Add a task to a project (from the project page's form)."""
    project = project_get(actor=principal, project_id=project_id)
    form = TaskForm(request.POST, principal=principal)
    if form.is_valid():
        try:
            task = task_create(actor=principal, project=project, **form.service_data())
        except DomainError as exc:
            show_error(form, exc)
        else:
            messages.success(request, f"Task {task.name} added to {project.name}.")
            return redirect("project-detail", _slug(principal), project.pk)
    return _project_detail_page(request, principal, project, task_form=form, status=400)


def _task_form_page(request: HttpRequest, form: TaskForm, task: Task, *, status: int = 200) -> HttpResponse:
    return render(request, "workspaces/task_form.html", {"form": form, "task": task}, status=status)


@workspace_view(Perm.PROJECT_MANAGE, methods=("GET", "HEAD", "POST"))
def task_edit(request: HttpRequest, principal: Principal, task_id: int) -> HttpResponse:
    task = task_get(actor=principal, task_id=task_id)
    if request.method != "POST":
        return _task_form_page(request, TaskForm(initial=TaskForm.initial_for(task), principal=principal), task)
    form = TaskForm(request.POST, principal=principal)
    if form.is_valid():
        try:
            task = task_update(actor=principal, task=task, data=form.service_data())
        except DomainError as exc:
            show_error(form, exc)
        else:
            messages.success(request, f"Task {task.name} saved.")
            return redirect("project-detail", _slug(principal), task.project_id)
    return _task_form_page(request, form, task, status=400)


@workspace_view(Perm.PROJECT_MANAGE, methods=("POST",))
def task_archive_view(request: HttpRequest, principal: Principal, task_id: int) -> HttpResponse:
    """Archive (``archived=true``) or restore (``archived=false``) a task."""
    task = task_get(actor=principal, task_id=task_id)
    task = task_archive(actor=principal, task=task, archived=wants_archived(request))
    messages.success(request, f"Task {task.name} {'archived' if task.is_archived else 'restored'}.")
    return redirect("project-detail", _slug(principal), task.project_id)


# --- clients -------------------------------------------------------------------------------------


@workspace_view(Perm.CLIENT_VIEW)
def clients(request: HttpRequest, principal: Principal) -> HttpResponse:
    """Clients by name; contact data only for those who may see it. Search and archived."""
    query = ClientListQuery(request.GET)
    page = Paginator(query.clients(principal), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "workspaces/client_list.html",
        {
            "query": query,
            "page": page,
            "filtered": any(request.GET.get(name) for name in ("q", "archived")),
            "can_manage": policies.can(principal, Perm.CLIENT_MANAGE),
            "sensitive": policies.can_view_sensitive(principal),
        },
        status=400 if query.errors else 200,
    )


def _client_form_page(
    request: HttpRequest, principal: Principal, form: ClientForm, *, client: Client | None = None, status: int = 200
) -> HttpResponse:
    context: dict[str, Any] = {"form": form, "client": client, "sensitive": policies.can_view_sensitive(principal)}
    return render(request, "workspaces/client_form.html", context, status=status)


@workspace_view(Perm.CLIENT_MANAGE, methods=("GET", "HEAD", "POST"))
def client_new(request: HttpRequest, principal: Principal) -> HttpResponse:
    sensitive = policies.can_view_sensitive(principal)
    if request.method != "POST":
        return _client_form_page(request, principal, ClientForm(sensitive=sensitive))
    form = ClientForm(request.POST, sensitive=sensitive)
    if form.is_valid():
        try:
            client = client_create(actor=principal, **form.service_data())
        except DomainError as exc:
            show_error(form, exc)
        else:
            messages.success(request, f"Client {client.name} created.")
            return redirect("clients", _slug(principal))
    return _client_form_page(request, principal, form, status=400)


@workspace_view(Perm.CLIENT_MANAGE, methods=("GET", "HEAD", "POST"))
def client_edit(request: HttpRequest, principal: Principal, client_id: int) -> HttpResponse:
    client = client_get(actor=principal, client_id=client_id)
    sensitive = policies.can_view_sensitive(principal)
    if request.method != "POST":
        form = ClientForm(initial=ClientForm.initial_for(client), sensitive=sensitive)
        return _client_form_page(request, principal, form, client=client)
    form = ClientForm(request.POST, sensitive=sensitive)
    if form.is_valid():
        try:
            client = client_update(actor=principal, client=client, data=form.service_data())
        except DomainError as exc:
            show_error(form, exc)
        else:
            messages.success(request, f"Client {client.name} saved.")
            return redirect("clients", _slug(principal))
    return _client_form_page(request, principal, form, client=client, status=400)


@workspace_view(Perm.CLIENT_MANAGE, methods=("POST",))
def client_archive_view(request: HttpRequest, principal: Principal, client_id: int) -> HttpResponse:
    """Archive (``archived=true``) or restore (``archived=false``) a client."""
    client = client_get(actor=principal, client_id=client_id)
    client = client_archive(actor=principal, client=client, archived=wants_archived(request))
    messages.success(request, f"Client {client.name} {'archived' if client.is_archived else 'restored'}.")
    return redirect(redirect_back(request, reverse("clients", args=[_slug(principal)])))
