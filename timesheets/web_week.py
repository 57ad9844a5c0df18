"""The week grid: type durations per project/task and day, see the totals, save as you go, submit."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from timesheets.durations import cell_seconds, hours_minutes
from timesheets.forms import week_param
from timesheets.selectors import local_date, week_start_for
from timesheets.timesheet_services import timesheet_submit
from timesheets.week_selectors import RowKey, WeekGrid, parse_row_keys, week_grid_get, week_row_keys
from timesheets.week_services import week_cell_set
from workspaces import policies
from workspaces.errors import DomainError
from workspaces.models import Membership
from workspaces.policies import Perm
from workspaces.principals import Principal
from workspaces.selectors import member_get, project_list, task_list
from workspaces.web import is_htmx, workspace_view

CELL_NAME = re.compile(r"^c-(?P<project>\d+)-(?P<task>\d+)-(?P<day>\d{4}-\d{2}-\d{2})$")


def _member(principal: Principal, value: str | None) -> Membership | None:
    """``?member=<id>``: another member's week, for those who may see it (the selectors check)."""
    if not value or value == str(principal.membership.pk):
        return None
    return member_get(actor=principal, member_id=value)


def _week_url(principal: Principal, week_start: date, member: Membership | None, rows: list[RowKey]) -> str:
    query: list[tuple[str, Any]] = [("week", week_start.isoformat())]
    if member is not None:
        query.append(("member", member.pk))
    query += [("row", f"{p}-{t or 0}") for p, t in rows]
    return f"{reverse('week', args=[principal.workspace.slug])}?{urlencode(query)}"


def _render(
    request: HttpRequest,
    principal: Principal,
    grid: WeekGrid,
    *,
    member: Membership | None,
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    editable = member is None or policies.can(principal, Perm.TIME_LOG_ANY)
    today = local_date(principal.workspace, timezone.now())
    row_choices = [
        (f"{task.project_id}-{task.pk}", f"{task.project.name} · {task.name}")
        for task in task_list(actor=principal).filter(project__status="active").order_by("project__name", "name")
    ]
    row_choices += [(f"{p.pk}-0", p.name) for p in project_list(actor=principal).order_by("name")]
    row_choices.sort(key=lambda choice: choice[1].lower())
    typed, errors = typed or {}, errors or {}
    rows = [
        {
            "row": row,
            "cells": [
                {
                    "cell": cell,
                    "name": f"c-{row.key}-{cell.day.isoformat()}",
                    "value": typed.get(f"c-{row.key}-{cell.day.isoformat()}", hours_minutes(cell.seconds or None)),
                    "error": errors.get(f"c-{row.key}-{cell.day.isoformat()}"),
                }
                for cell in row.cells
            ],
        }
        for row in grid.rows
    ]
    return render(
        request,
        "timesheets/week.html",
        {
            "grid": grid,
            "rows": rows,
            "days": grid.week.days,
            "today": today,
            "viewed_member": member,
            "editable": editable and grid.lock_reason is None,
            "can_submit": member is None and grid.week.status in ("open", "rejected") and grid.lock_reason is None,
            "row_choices": row_choices,
            "row_keys": [row.key for row in grid.rows],
            "errors": errors,
            "previous_url": _week_url(principal, grid.previous_week, member, []),
            "next_url": _week_url(principal, grid.next_week, member, []),
            "this_url": _week_url(principal, week_start_for(principal.workspace, today), member, []),
            "copy_url": _week_url(principal, grid.week.week_start, member, [])
            + "&copy=previous"
            + "".join(f"&row={key}" for key in (row.key for row in grid.rows)),
        },
        status=status,
    )


@workspace_view(Perm.TIME_VIEW_OWN)
def week(request: HttpRequest, principal: Principal) -> HttpResponse:
    """The grid of a week (``?week=`` any day of it; default this week); ``?row=`` adds empty rows,
    ``?copy=previous`` adds last week's rows."""
    today = local_date(principal.workspace, timezone.now())
    try:
        week_start = week_param(request.GET.get("week"), default=today)
    except DomainError as exc:
        messages.error(request, exc.message)
        week_start = today
    member = _member(principal, request.GET.get("member"))
    rows = parse_row_keys(request.GET.getlist("row"))
    if request.GET.get("copy") == "previous":
        copied = week_row_keys(
            actor=principal,
            member=member,
            week_start=week_start_for(principal.workspace, week_start) - timedelta(days=7),
        )
        if not copied:
            messages.info(request, "Last week has no rows to copy.")
        rows += copied
    grid = week_grid_get(actor=principal, member=member, week_start=week_start, extra_rows=rows)
    return _render(request, principal, grid, member=member)


@workspace_view(Perm.TIME_LOG_OWN, methods=("POST",))
def week_save(request: HttpRequest, principal: Principal) -> HttpResponse:
    """Save the cells that changed (one with htmx as you leave it, or the whole form without JavaScript)."""
    week_start = week_param(request.POST.get("week"), default=local_date(principal.workspace, timezone.now()))
    member = _member(principal, request.POST.get("member"))
    rows = parse_row_keys(request.POST.getlist("row"))
    grid = week_grid_get(actor=principal, member=member, week_start=week_start, extra_rows=rows)
    current = {f"c-{row.key}-{cell.day.isoformat()}": (row, cell) for row in grid.rows for cell in row.cells}
    typed: dict[str, str] = {}
    errors: dict[str, str] = {}
    saved = 0
    for name in request.POST:
        value = request.POST.get(name, "")
        if not CELL_NAME.match(name):
            continue
        if name not in current:
            errors[name] = "This row is not in the grid any more; reload the week."
            continue
        row, cell = current[name]
        try:
            seconds = cell_seconds(value, name=name)
            if seconds == cell.seconds:
                continue
            week_cell_set(
                actor=principal, member=member, project=row.project, task=row.task, day=cell.day, seconds=seconds
            )
            saved += 1
        except DomainError as exc:
            typed[name], errors[name] = value, exc.message
    grid = week_grid_get(
        actor=principal,
        member=member,
        week_start=week_start,
        extra_rows=rows + [(r.project.pk, r.task.pk if r.task else None) for r in grid.rows],
    )
    if is_htmx(request):  # one cell: its error (or none) and every total, swapped out of band
        error = next(iter(errors.values()), "")
        return render(request, "timesheets/_week_saved.html", {"grid": grid, "error": error})
    if errors:
        return _render(request, principal, grid, member=member, typed=typed, errors=errors, status=400)
    messages.success(request, f"Saved {saved} day{'s' if saved != 1 else ''}." if saved else "Nothing changed.")
    return redirect(
        _week_url(
            principal, grid.week.week_start, member, [(r.project.pk, r.task.pk if r.task else None) for r in grid.rows]
        )
    )


@workspace_view(Perm.TIMESHEET_SUBMIT_OWN, methods=("POST",))
def week_submit(request: HttpRequest, principal: Principal) -> HttpResponse:
    day = week_param(request.POST.get("week"), default=local_date(principal.workspace, timezone.now()))
    week_start = week_start_for(principal.workspace, day)
    try:
        timesheet = timesheet_submit(actor=principal, week_start=week_start)
    except DomainError as exc:
        messages.error(request, exc.message)
        week_start = week_start_for(principal.workspace, week_start)
    else:
        week_start = timesheet.week_start
        messages.success(
            request,
            f"Week of {week_start:%d %b %Y} submitted for approval. Its time is locked until a manager decides.",
        )
    return redirect(_week_url(principal, week_start, None, []))
