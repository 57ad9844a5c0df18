"""Web face of a workspace's settings, for its admins: the workspace itself and its lock date,
members and roles (invite, role, capacity, deactivate), and rates (the workspace default, each
member's, each project's). Only owners touch the owner role; cost rates need sensitive access —
the services and policies decide, as for the REST API."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from workspaces import policies
from workspaces.errors import Conflict, DomainError, Forbidden
from workspaces.forms import (
    DefaultRateForm,
    LockDateForm,
    MemberForm,
    MemberInviteForm,
    MemberRatesForm,
    ProjectRateForm,
    WorkspaceForm,
    inline,
)
from workspaces.member_services import member_deactivate, member_edit, member_invite, member_update
from workspaces.models import Membership, Project
from workspaces.policies import Perm
from workspaces.principals import Principal
from workspaces.selectors import member_get, member_list, project_get, project_list
from workspaces.services import project_update, workspace_set_lock_date, workspace_update
from workspaces.web import show_error, workspace_view

PAGE_SIZE = 50


def settings_tabs(principal: Principal, current: str) -> list[dict[str, Any]]:
    """The settings sub-navigation: the sections this role may open, then the audit log and connections."""
    slug = principal.workspace.slug
    sections = [
        ("Workspace", "settings", Perm.WORKSPACE_MANAGE),
        ("Members & roles", "settings-members", Perm.MEMBER_MANAGE),
        ("Rates", "settings-rates", Perm.RATE_MANAGE),
        ("Audit log", "audit-log", Perm.AUDIT_VIEW),
    ]
    tabs = [
        {"label": label, "url": reverse(name, args=[slug]), "current": name == current}
        for label, name, perm in sections
        if policies.can(principal, perm)
    ]
    tabs.append({"label": "Connected apps & API keys", "url": reverse("account-connections"), "current": False})
    return tabs


def _page(
    request: HttpRequest, principal: Principal, template: str, tab: str, context: dict[str, Any], status: int
) -> HttpResponse:
    return render(request, template, {"tabs": settings_tabs(principal, tab), **context}, status=status)


# --- workspace -----------------------------------------------------------------------------------


def _workspace_page(
    request: HttpRequest,
    principal: Principal,
    *,
    form: WorkspaceForm | None = None,
    lock_form: LockDateForm | None = None,
    status: int = 200,
) -> HttpResponse:
    workspace = principal.workspace
    context = {
        "form": form or WorkspaceForm(initial=WorkspaceForm.initial_for(workspace)),
        "lock_form": lock_form or LockDateForm(initial={"lock_date": workspace.lock_date}),
    }
    return _page(request, principal, "workspaces/settings_workspace.html", "settings", context, status)


@workspace_view(Perm.WORKSPACE_MANAGE, methods=("GET", "HEAD", "POST"))
def settings_workspace(request: HttpRequest, principal: Principal) -> HttpResponse:
    """The workspace's name, time zone, currency, week, billable default, policies and retention."""
    if request.method != "POST":
        return _workspace_page(request, principal)
    form = WorkspaceForm(request.POST)
    if form.is_valid():
        try:
            workspace_update(actor=principal, data=form.service_data())
        except DomainError as exc:
            show_error(form, exc)
        else:
            messages.success(request, "Workspace settings saved.")
            return redirect("settings", principal.workspace.slug)
    return _workspace_page(request, principal, form=form, status=400)


@workspace_view(Perm.WORKSPACE_MANAGE, methods=("POST",))
def settings_lock_date(request: HttpRequest, principal: Principal) -> HttpResponse:
    """Lock every entry on or before a day, or lift the lock."""
    form = LockDateForm(request.POST)
    if form.is_valid():
        try:
            workspace = workspace_set_lock_date(actor=principal, lock_date=form.cleaned_data["lock_date"])
        except DomainError as exc:
            show_error(form, exc)
        else:
            if workspace.lock_date:
                messages.success(request, f"Entries on or before {workspace.lock_date:%d %b %Y} are now locked.")
            else:
                messages.success(request, "The lock date is lifted.")
            return redirect("settings", principal.workspace.slug)
    return _workspace_page(request, principal, lock_form=form, status=400)


# --- members and roles ---------------------------------------------------------------------------


def _members_page(
    request: HttpRequest, principal: Principal, *, invite_form: MemberInviteForm | None = None, status: int = 200
) -> HttpResponse:
    show_inactive = request.GET.get("inactive") == "1"
    members = member_list(actor=principal, include_inactive=show_inactive).order_by("user__username", "pk")
    context = {
        "page": Paginator(members, PAGE_SIZE).get_page(request.GET.get("page")),
        "show_inactive": show_inactive,
        "invite_form": invite_form or MemberInviteForm(principal=principal),
        "sensitive": policies.can_view_sensitive(principal),
    }
    return _page(request, principal, "workspaces/settings_members.html", "settings-members", context, status)


@workspace_view(Perm.MEMBER_MANAGE)
def settings_members(request: HttpRequest, principal: Principal) -> HttpResponse:
    """The members with role, capacity and rates, and the invitation form."""
    return _members_page(request, principal)


@workspace_view(Perm.MEMBER_MANAGE, methods=("POST",))
def member_invite_view(request: HttpRequest, principal: Principal) -> HttpResponse:
    """Add the person with this email (a new address gets a login) and email them a link."""
    form = MemberInviteForm(request.POST, principal=principal)
    if form.is_valid():
        try:
            member = member_invite(actor=principal, email=form.cleaned_data["email"], role=form.cleaned_data["role"])
        except DomainError as exc:
            show_error(form, exc)
        else:
            messages.success(request, f"{member.user.email} is now a {member.get_role_display().lower()} here.")
            return redirect("settings-members", principal.workspace.slug)
    return _members_page(request, principal, invite_form=form, status=400)


def _member_form_page(
    request: HttpRequest, principal: Principal, member: Membership, form: MemberForm, *, status: int = 200
) -> HttpResponse:
    context = {"member": member, "form": form}
    return _page(request, principal, "workspaces/member_form.html", "settings-members", context, status)


@workspace_view(Perm.MEMBER_MANAGE, methods=("GET", "HEAD", "POST"))
def member_edit_view(request: HttpRequest, principal: Principal, member_id: int) -> HttpResponse:
    """One member's role, weekly capacity and rates, changed all or nothing."""
    member = member_get(actor=principal, member_id=member_id)
    if request.method != "POST":
        form = MemberForm(initial=MemberForm.initial_for(member), principal=principal, member=member)
        return _member_form_page(request, principal, member, form)
    form = MemberForm(request.POST, initial=MemberForm.initial_for(member), principal=principal, member=member)
    if form.is_valid():
        try:
            member = member_edit(actor=principal, member=member, data=form.service_data())
        except DomainError as exc:
            show_error(form, exc)
        else:
            messages.success(request, f"{member.user.get_username()} saved.")
            return redirect("settings-members", principal.workspace.slug)
    return _member_form_page(request, principal, member, form, status=400)


@workspace_view(Perm.MEMBER_MANAGE, methods=("POST",))
def member_deactivate_view(request: HttpRequest, principal: Principal, member_id: int) -> HttpResponse:
    """Deactivate a member: their access and connections stop; a running timer is stopped."""
    member = member_get(actor=principal, member_id=member_id)
    try:
        member = member_deactivate(actor=principal, member=member)
    except (Conflict, Forbidden) as exc:  # the last owner; an owner, for an admin
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{member.user.get_username()} is deactivated.")
    return redirect("settings-members", principal.workspace.slug)


# --- rates ---------------------------------------------------------------------------------------


def _rates_page(
    request: HttpRequest,
    principal: Principal,
    *,
    default_form: DefaultRateForm | None = None,
    bound: tuple[str, int, forms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The rates page; ``bound`` is the one row form that was posted with errors, by kind and id."""
    members = Paginator(member_list(actor=principal).order_by("user__username", "pk"), PAGE_SIZE).get_page(
        request.GET.get("members_page")
    )
    projects = Paginator(project_list(actor=principal).order_by("name", "pk"), PAGE_SIZE).get_page(
        request.GET.get("projects_page")
    )

    posted: dict[tuple[str, int], forms.Form] = {bound[:2]: bound[2]} if bound else {}

    def member_form(member: Membership) -> forms.Form:
        if ("member", member.pk) in posted:
            return posted["member", member.pk]
        return MemberRatesForm(initial=_rates_of(member), principal=principal, prefix=f"m{member.pk}")

    def project_form(project: Project) -> forms.Form:
        if ("project", project.pk) in posted:
            return posted["project", project.pk]
        return ProjectRateForm(initial={"billable_rate": project.billable_rate}, prefix=f"p{project.pk}")

    member_rows = [(m, inline(member_form(m), f"member-rate-{m.pk}")) for m in members.object_list]
    project_rows = [(p, inline(project_form(p), f"project-rate-{p.pk}")) for p in projects.object_list]
    context = {
        "default_form": default_form
        or DefaultRateForm(initial={"default_billable_rate": principal.workspace.default_billable_rate}),
        "members": members,
        "member_rows": member_rows,
        "projects": projects,
        "project_rows": project_rows,
        "sensitive": policies.can_view_sensitive(principal),
    }
    return _page(request, principal, "workspaces/settings_rates.html", "settings-rates", context, status)


def _rates_of(member: Membership) -> dict[str, Any]:
    return {"billable_rate": member.billable_rate, "cost_rate": member.cost_rate}


@workspace_view(Perm.RATE_MANAGE, methods=("GET", "HEAD", "POST"))
def settings_rates(request: HttpRequest, principal: Principal) -> HttpResponse:
    """Rates: the workspace default (a POST sets it), each member's and each active project's."""
    if request.method != "POST":
        return _rates_page(request, principal)
    form = DefaultRateForm(request.POST)
    if form.is_valid():
        try:
            workspace_update(actor=principal, data=form.cleaned_data)
        except DomainError as exc:
            show_error(form, exc)
        else:
            messages.success(request, "Default billable rate saved.")
            return redirect("settings-rates", principal.workspace.slug)
    return _rates_page(request, principal, default_form=form, status=400)


@workspace_view(Perm.RATE_MANAGE, methods=("POST",))
def member_rates(request: HttpRequest, principal: Principal, member_id: int) -> HttpResponse:
    """One member's billable rate (and cost rate, with sensitive access)."""
    member = member_get(actor=principal, member_id=member_id)
    form = MemberRatesForm(request.POST, principal=principal, prefix=f"m{member.pk}")
    if form.is_valid():
        try:
            member = member_update(actor=principal, member=member, data=form.service_data())
        except DomainError as exc:
            show_error(form, exc)
        else:
            messages.success(request, f"Rates of {member.user.get_username()} saved.")
            return redirect(_rates_url(principal, request))
    return _rates_page(request, principal, bound=("member", member.pk, form), status=400)


@workspace_view(Perm.RATE_MANAGE, methods=("POST",))
def project_rate(request: HttpRequest, principal: Principal, project_id: int) -> HttpResponse:
    """One project's billable rate."""
    project: Project = project_get(actor=principal, project_id=project_id)
    form = ProjectRateForm(request.POST, prefix=f"p{project.pk}")
    if form.is_valid():
        try:
            project = project_update(actor=principal, project=project, data=form.cleaned_data)
        except DomainError as exc:
            show_error(form, exc)
        else:
            messages.success(request, f"Rate of {project.name} saved.")
            return redirect(_rates_url(principal, request))
    return _rates_page(request, principal, bound=("project", project.pk, form), status=400)


def _rates_url(principal: Principal, request: HttpRequest) -> str:
    """Back to the rates page, on the pages the row was posted from."""
    url = reverse("settings-rates", args=[principal.workspace.slug])
    return f"{url}?{request.GET.urlencode()}" if request.GET else url
