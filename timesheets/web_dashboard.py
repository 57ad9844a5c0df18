"""The dashboard: the running timer (start, stop, live elapsed time), today's entries, the week against capacity."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from timesheets.forms import TimerStartForm, billable_value
from timesheets.selectors import local_date, time_entry_list, timer_get
from timesheets.timer_services import timer_start, timer_stop
from timesheets.week_selectors import timesheet_week_get
from workspaces.errors import DomainError
from workspaces.policies import Perm
from workspaces.principals import Principal
from workspaces.web import show_error, workspace_view


def _page(request: HttpRequest, principal: Principal, form: TimerStartForm, *, status: int = 200) -> HttpResponse:
    workspace = principal.workspace
    today = local_date(workspace, timezone.now())
    week = timesheet_week_get(actor=principal, week_start=today)
    capacity_seconds = int(principal.membership.weekly_capacity_hours * 3600)
    entries = time_entry_list(actor=principal, member=principal.membership, date_from=today, date_to=today)
    today_entries = [e for e in entries if e.ended_at is not None]
    return render(
        request,
        "timesheets/dashboard.html",
        {
            "form": form,
            "running": week.running or timer_get(actor=principal),
            "today": today,
            "today_entries": today_entries,
            "today_seconds": sum(e.duration_seconds or 0 for e in today_entries if e.state == "active"),
            "week": week,
            "capacity_seconds": capacity_seconds,
            "week_percent": min(100, round(100 * week.total_seconds / capacity_seconds)) if capacity_seconds else 0,
        },
        status=status,
    )


@workspace_view(Perm.TIME_VIEW_OWN)
def dashboard(request: HttpRequest, principal: Principal) -> HttpResponse:
    return _page(request, principal, TimerStartForm(principal=principal))


@workspace_view(Perm.TIME_LOG_OWN, methods=("POST",))
def timer_start_view(request: HttpRequest, principal: Principal) -> HttpResponse:
    """Start the caller's timer; a running one is stopped first only when the form says so."""
    form = TimerStartForm(request.POST, principal=principal)
    if form.is_valid():
        data = form.cleaned_data
        try:
            entry = timer_start(
                actor=principal,
                project=data["project"],
                task=data["task"],
                description=data["description"],
                billable=billable_value(data["billable"]),
                stop_running=data["stop_running"],
            )
        except DomainError as exc:
            show_error(form, exc)
        else:
            messages.success(request, f"Timer started on {entry.project.name}.")
            return redirect("dashboard", principal.workspace.slug)
    return _page(request, principal, form, status=400)


@workspace_view(Perm.TIME_LOG_OWN, methods=("POST",))
def timer_stop_view(request: HttpRequest, principal: Principal) -> HttpResponse:
    try:
        entry = timer_stop(actor=principal)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        minutes = round((entry.duration_seconds or 0) / 60)
        messages.success(request, f"Timer stopped: {minutes // 60}:{minutes % 60:02d} on {entry.project.name}.")
    return redirect("dashboard", principal.workspace.slug)
