"""The entries list: filters, inline edit, bulk delete of one's own unlocked entries, CSV/XLSX export."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from billing.exports import ENTRY_COLUMNS, entry_rows
from timesheets.forms import EntryFilterForm, EntryForm
from timesheets.models import TimeEntry
from timesheets.selectors import entry_lock_reasons, local_date, time_entry_get, time_entry_list
from timesheets.services import time_entries_delete_bulk, time_entry_update
from workspaces import policies
from workspaces.errors import DomainError, Invalid
from workspaces.policies import Perm
from workspaces.principals import Principal
from workspaces.tabular import download_response
from workspaces.web import is_htmx, show_error, workspace_view

PAGE_SIZE = 50


def _filters(request: HttpRequest, principal: Principal) -> EntryFilterForm:
    return EntryFilterForm(
        request.GET or None, principal=principal, sees_everyone=policies.can(principal, Perm.TIME_VIEW_ALL)
    )


def _page_number(request: HttpRequest) -> int:
    value = request.GET.get("page", "1")
    return int(value) if value.isdigit() and int(value) >= 1 else 1


@workspace_view(Perm.TIME_VIEW_OWN)
def entries(request: HttpRequest, principal: Principal) -> HttpResponse:
    """Entries the caller may see (members: their own), newest first, 50 a page."""
    form = _filters(request, principal)
    if form.is_bound and not form.is_valid():
        return render(request, "timesheets/entries.html", _context(principal, form, []), status=400)
    filters = form.selector_filters() if form.is_bound else {}
    page = _page_number(request)
    start = (page - 1) * PAGE_SIZE
    rows = list(time_entry_list(actor=principal, **filters)[start : start + PAGE_SIZE + 1])
    context = _context(principal, form, rows[:PAGE_SIZE])
    query = request.GET.copy()
    query.pop("page", None)
    context.update(
        page=page,
        has_next=len(rows) > PAGE_SIZE,
        query=query.urlencode(),
    )
    return render(request, "timesheets/entries.html", context)


def _context(principal: Principal, form: EntryFilterForm, page: list[TimeEntry]) -> dict[str, Any]:
    locks = entry_lock_reasons(workspace=principal.workspace, entries=page)
    return {
        "filters": form,
        "sees_everyone": form.sees_everyone,
        "rows": [_row(principal, entry, locks) for entry in page],
    }


def _row(principal: Principal, entry: TimeEntry, locks: dict[int, str]) -> dict[str, Any]:
    own = entry.member_id == principal.membership.pk
    return {
        "entry": entry,
        "lock": locks.get(entry.pk),
        "deletable": own and entry.pk not in locks and entry.ended_at is not None,
        "editable": entry.pk not in locks
        and entry.ended_at is not None
        and (own or policies.can(principal, Perm.TIME_LOG_ANY)),
    }


@workspace_view(Perm.TIME_VIEW_OWN)
def entries_export(request: HttpRequest, principal: Principal, kind: str) -> HttpResponse:
    """Every entry matching the filters as CSV or XLSX, streamed."""
    if kind not in ("csv", "xlsx"):
        raise Invalid("Download as csv or xlsx.", fields={"format": ["csv or xlsx."]})
    form = _filters(request, principal)
    if form.is_bound and not form.is_valid():
        problems = "; ".join(f"{name}: {' '.join(map(str, errors))}" for name, errors in form.errors.items())
        raise Invalid(f"Invalid filters: {problems}")
    filters = form.selector_filters() if form.is_bound else {}
    workspace = principal.workspace
    stamp = local_date(workspace, timezone.now()).strftime("%Y%m%d")
    rows = entry_rows(time_entry_list(actor=principal, **filters), workspace)
    return download_response(
        request,
        kind,
        ENTRY_COLUMNS,
        rows,
        filename=f"time-entries-{workspace.slug}-{stamp}.{kind}",
        sheet="time-entries",
    )


@workspace_view(Perm.TIME_LOG_OWN, methods=("POST",))
def entries_delete(request: HttpRequest, principal: Principal) -> HttpResponse:
    """Delete the ticked entries (one's own, unlocked), all or none."""
    ids = [int(value) for value in request.POST.getlist("entry") if value.isdigit()]
    try:
        count = time_entries_delete_bulk(actor=principal, entry_ids=ids)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Deleted {count} entr{'y' if count == 1 else 'ies'}.")
    fallback = reverse("entries", args=[principal.workspace.slug])
    back = request.POST.get("query", "")
    return redirect(f"{fallback}?{back}" if back else fallback)


@workspace_view(Perm.TIME_VIEW_OWN)
def entry_row(request: HttpRequest, principal: Principal, entry_id: int) -> HttpResponse:
    """One row of the list (htmx: what 'Cancel' puts back)."""
    return _row_response(request, principal, time_entry_get(actor=principal, entry_id=entry_id))


def _row_response(request: HttpRequest, principal: Principal, entry: TimeEntry) -> HttpResponse:
    locks = entry_lock_reasons(workspace=principal.workspace, entries=[entry])
    sees_everyone = policies.can(principal, Perm.TIME_VIEW_ALL)
    return render(
        request, "timesheets/_entry_row.html", {"r": _row(principal, entry, locks), "sees_everyone": sees_everyone}
    )


def _initial(principal: Principal, entry: TimeEntry) -> dict[str, Any]:
    tz = principal.workspace.tzinfo
    started, ended = timezone.localtime(entry.started_at, tz), timezone.localtime(entry.ended_at, tz)
    return {
        "project": entry.project,
        "task": entry.task,
        "day": started.date(),
        "start": started.time().replace(second=0),
        "end": ended.time().replace(second=0),
        "description": entry.description,
        "billable": entry.billable,
    }


@workspace_view(Perm.TIME_VIEW_OWN, methods=("GET", "HEAD", "POST"))
def entry_edit(request: HttpRequest, principal: Principal, entry_id: int) -> HttpResponse:
    """Edit one entry: in the row with htmx, or on its own page without JavaScript."""
    entry = time_entry_get(actor=principal, entry_id=entry_id)
    if entry.ended_at is None:
        raise Invalid("A running timer is stopped on the dashboard, not edited here.")
    form = EntryForm(request.POST or None, principal=principal, initial=_initial(principal, entry))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        tz = principal.workspace.tzinfo
        started_at = datetime.combine(data["day"], data["start"], tzinfo=tz)
        ended_at = datetime.combine(data["day"], data["end"], tzinfo=tz)
        if ended_at <= started_at:  # past midnight
            ended_at = datetime.combine(data["day"] + timedelta(days=1), data["end"], tzinfo=tz)
        try:
            entry = time_entry_update(
                actor=principal,
                entry=entry,
                data={
                    "project": data["project"],
                    "task": data["task"],
                    "started_at": started_at,
                    "ended_at": ended_at,
                    "description": data["description"],
                    "billable": data["billable"],
                },
            )
        except DomainError as exc:
            show_error(form, exc)
        else:
            if is_htmx(request):
                return _row_response(request, principal, time_entry_get(actor=principal, entry_id=entry.pk))
            messages.success(request, "Entry saved.")
            return redirect("entries", principal.workspace.slug)
    template = "timesheets/_entry_edit_row.html" if is_htmx(request) else "timesheets/entry_edit.html"
    status = 400 if request.method == "POST" and not is_htmx(request) else 200
    return render(request, template, {"form": form, "entry": entry}, status=status)
