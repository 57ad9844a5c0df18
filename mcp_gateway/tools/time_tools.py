"""Tools about time: entries, the timer, the week; and the writes an agent may make."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from django.utils import timezone
from pydantic import Field

from billing.rest_reports import BudgetHealthOutput
from billing.selectors import budget_health
from mcp_gateway.arguments import compiled_keyset_page, day, moment, optional_day, today_in
from mcp_gateway.registry import tool
from mcp_gateway.schemas import Out, model_for, page_of
from mcp_gateway.tools.common import CursorArg, DayArg, Id, Limit, OptionalId, WriteResult, shaped
from timesheets.api import EntryOutput
from timesheets.api_timesheets import TimesheetOutput
from timesheets.durations import duration_seconds
from timesheets.member_time import time_entry_warnings
from timesheets.models import EntryState, TimeEntry
from timesheets.presenters import entry_values, present_created, present_entries, present_entry
from timesheets.selectors import (
    entry_scope,
    local_date,
    time_entry_get_own,
    time_entry_list_member,
    timer_get,
    week_start_for,
)
from timesheets.services import time_entry_create, time_entry_create_for_day, time_entry_delete, time_entry_update
from timesheets.timer_services import timer_start, timer_stop
from timesheets.timesheet_services import timesheet_submit
from timesheets.week_selectors import timesheet_week_get
from workspaces.errors import Invalid
from workspaces.models import Membership, Tag
from workspaces.policies import Perm
from workspaces.principals import Principal
from workspaces.selectors import client_get, member_get, project_get, tag_list, task_get

Entry = model_for(EntryOutput, "TimeEntry")
Timesheet = model_for(TimesheetOutput)
Budget = model_for(BudgetHealthOutput, "BudgetBurn")
EntryPage = page_of(Entry, "TimeEntryPage")

DescriptionArg = Annotated[str, Field(max_length=2000, description="What was done, as the person would write it")]
TagIds = Annotated[list[int], Field(max_length=20, description="Tag ids from list_tags")]


def _member(caller: Principal, member_id: int | None) -> Membership:
    return member_get(actor=caller, member_id=member_id) if member_id is not None else caller.membership


def _tags(caller: Principal, tag_ids: list[int]) -> list[Tag]:
    if not tag_ids:
        return []  # nothing to look up: no queryset to build
    tags = list(tag_list(actor=caller).filter(pk__in=tag_ids))
    if len(tags) != len(set(tag_ids)):
        raise Invalid("Unknown or archived tag.", fields={"tag_ids": ["Use ids from list_tags."]})
    return tags


def _entry_out(caller: Principal, entry: TimeEntry) -> Any:
    """The entry a tool has just written, read back as list_time_entries presents entries."""
    return present_entry(caller, entry.pk)


# --- reads ---------------------------------------------------------------------------------------


@tool(title="List time entries", perm=Perm.TIME_VIEW_OWN)
def list_time_entries(
    caller: Principal,
    member_id: Annotated[int | None, Field(ge=1, description="Whose time (default: yours; others: managers+)")] = None,
    date_from: DayArg = None,
    date_to: DayArg = None,
    project_id: OptionalId = None,
    client_id: OptionalId = None,
    billable: Annotated[bool | None, Field(description="Only billable (true) or non-billable (false)")] = None,
    state: Annotated[
        Literal["active", "draft"] | None, Field(description="draft: proposed by an agent, awaiting a person")
    ] = None,
    cursor: CursorArg = None,
    limit: Limit = 50,
) -> EntryPage:  # type: ignore[valid-type]
    """Time entries, newest first. By default your own; dates are inclusive, in the workspace time
    zone. Each entry has duration_seconds (null while the timer runs), billable flag and amount,
    state (active or draft) and who/what created it. cost_rate and cost_amount are sensitive: null
    and named in `redacted` unless this connection may see sensitive data."""
    workspace = caller.workspace
    member, unverified = time_entry_list_member(actor=caller, member_id=member_id)
    scope = entry_scope(
        actor=caller,
        member=member,
        project=project_get(actor=caller, project_id=project_id) if project_id is not None else None,
        client=client_get(actor=caller, client_id=client_id) if client_id is not None else None,
        billable=billable,
        state=state,
        date_from=optional_day(date_from, workspace=workspace, name="date_from"),
        date_to=optional_day(date_to, workspace=workspace, name="date_to"),
    )
    rows, next_cursor = compiled_keyset_page(
        ("list_time_entries", scope.shape),
        lambda: entry_values(scope.queryset(params=True)),
        scope.values(),
        order=("-started_at", "-id"),
        cursor=cursor,
        limit=limit,
    )
    if unverified and not rows:
        member_get(actor=caller, member_id=member_id)  # no entries: is there such a member here at all?
    return EntryPage(items=present_entries(rows, caller), next_cursor=next_cursor)


class Timer(Out):
    running: bool
    entry: Entry | None = Field(  # type: ignore[valid-type]
        default=None, description="The running entry (ended_at null); null when no timer runs"
    )
    elapsed_seconds: int | None = Field(default=None, description="Seconds since it started")


@tool(title="Get my running timer", perm=Perm.TIME_VIEW_OWN)
def get_timer(caller: Principal) -> Timer:
    """Your running timer, if any, with the seconds elapsed so far."""
    entry = timer_get(actor=caller)
    if entry is None:
        return Timer(running=False)
    elapsed = int((timezone.now() - entry.started_at).total_seconds())
    return Timer(running=True, entry=_entry_out(caller, entry), elapsed_seconds=elapsed)


class DayTotal(Out):
    date: str = Field(json_schema_extra={"format": "date"})
    seconds: int


class ProjectTotal(Out):
    project_id: int
    project_name: str
    seconds: int


class Week(Out):
    member_id: int
    username: str
    week_start: str = Field(json_schema_extra={"format": "date"})
    status: str = Field(json_schema_extra={"enum": ["open", "submitted", "approved", "rejected"]})
    rejection_reason: str = Field(description="Why it was sent back (when rejected)")
    lock_reason: str | None = Field(description="Why its time cannot change; null when it can")
    days: list[DayTotal] = Field(description="Active time per day (drafts and the running timer apart)")
    projects: list[ProjectTotal]
    total_seconds: int
    draft_seconds: int = Field(description="Agent drafts awaiting review, not in the totals")
    entries: list[Entry]  # type: ignore[valid-type]


@tool(title="Get a week's timesheet", perm=Perm.TIME_VIEW_OWN)
def get_timesheet(
    caller: Principal,
    week: Annotated[str, Field(description="Any day of the week: YYYY-MM-DD, 'today', a weekday name")] = "today",
    member_id: Annotated[int | None, Field(ge=1, description="Whose week (default: yours; others: managers+)")] = None,
) -> Week:
    """One member-week: status (open, submitted, approved, rejected with reason), whether it is
    locked and why, totals per day and per project (active time; drafts apart) and its entries."""
    member = _member(caller, member_id)
    data = timesheet_week_get(
        actor=caller, member=member, week_start=day(week, workspace=caller.workspace, name="week")
    )
    return Week(
        member_id=member.pk,
        username=member.user.get_username(),
        week_start=data.week_start.isoformat(),
        status=data.status,
        rejection_reason=data.timesheet.rejection_reason if data.timesheet else "",
        lock_reason=data.lock_reason,
        days=[DayTotal(date=d.isoformat(), seconds=data.seconds_by_day[d]) for d in data.days],
        projects=[
            ProjectTotal(project_id=p.project_id, project_name=p.project_name, seconds=p.seconds) for p in data.projects
        ],
        total_seconds=data.total_seconds,
        draft_seconds=data.draft_seconds,
        entries=shaped(EntryOutput, data.entries, caller, many=True),
    )


# --- writes --------------------------------------------------------------------------------------


class EntryWritten(WriteResult):
    entry: Entry  # type: ignore[valid-type]
    budget: Budget | None = Field(  # type: ignore[valid-type]
        default=None, description="The project's budget burn with this entry (drafts count only once accepted)"
    )


def _written(caller: Principal, entry: TimeEntry, verb: str, created_with: list[Tag] | None = None) -> EntryWritten:
    """What a write answers; ``created_with``: the tags of an entry just created, presented from the
    instance (``present_created``) instead of read back."""
    rows = budget_health(actor=caller, project=entry.project)
    state = "as a draft for review" if entry.state == EntryState.DRAFT else "directly"
    hours = f"{(entry.duration_seconds or 0) / 3600:.2f} h" if entry.duration_seconds else "a running timer"
    out = _entry_out(caller, entry) if created_with is None else present_created(caller, entry, created_with)
    return EntryWritten(
        entry=out,
        budget=shaped(BudgetHealthOutput, rows[0], caller) if rows else None,
        warnings=time_entry_warnings(entry=entry),
        summary=f"{verb} {hours} on {entry.project.name} {state} (entry {entry.pk}).",
    )


@tool(title="Log time", perm=Perm.TIME_LOG_OWN, write=True)
def log_time(
    caller: Principal,
    project_id: Id,
    date: DayArg = None,
    duration: Annotated[
        str | None, Field(description="'90m', '1h30m', '1.5h' or '1:30'; or give start and end")
    ] = None,
    start: Annotated[str | None, Field(description="HH:MM on `date`, or RFC 3339 with offset", max_length=40)] = None,
    end: Annotated[str | None, Field(description="HH:MM on `date`, or RFC 3339 with offset", max_length=40)] = None,
    task_id: OptionalId = None,
    description: DescriptionArg = "",
    billable: Annotated[bool | None, Field(description="Default: the task's, else the project's setting")] = None,
    tag_ids: TagIds = [],  # noqa: B006
) -> EntryWritten:
    """Log a finished piece of your own time: a date (default today) and a duration, or a start and
    an end. Without clock times the entry goes after your last entry that day (09:00 on an empty
    day), ending by midnight at the latest. The agent policy decides what happens: non-billable time may be saved directly; billable
    time always becomes a draft for a person to accept, and counts in no report until then; a
    'forbid' policy refuses with forbidden_by_policy. Locked days answer `locked`. Try dry_run first."""
    workspace = caller.workspace
    on = optional_day(date, workspace=workspace, name="date") or today_in(workspace)
    project = project_get(actor=caller, project_id=project_id)
    task = task_get(actor=caller, task_id=task_id) if task_id is not None else None
    common: dict[str, Any] = {
        "project": project,
        "task": task,
        "description": description,
        "billable": billable,
        "tags": _tags(caller, tag_ids),
    }
    if (start is None) != (end is None):
        raise Invalid("Give both start and end, or a duration.", fields={"start": ["Needs end too."]})
    if start is not None and end is not None:
        if duration is not None:
            raise Invalid("Give a duration or start and end, not both.", fields={"duration": ["Leave it out."]})
        started_at = moment(start, workspace=workspace, on=on, name="start")
        ended_at = moment(end, workspace=workspace, on=on, name="end")
        entry = time_entry_create(actor=caller, started_at=started_at, ended_at=ended_at, **common)
    elif duration is not None:
        seconds = duration_seconds(duration)
        entry = time_entry_create_for_day(actor=caller, day=on, duration_seconds=seconds, **common)
    else:
        raise Invalid("Give a duration, or start and end.", fields={"duration": ["E.g. '1h30m'."]})
    return _written(caller, entry, "Logged", created_with=common["tags"])


@tool(title="Change one of my time entries", perm=Perm.TIME_LOG_OWN, write=True)
def update_time_entry(
    caller: Principal,
    entry_id: Id,
    description: Annotated[str | None, Field(max_length=2000)] = None,
    billable: bool | None = None,
    project_id: OptionalId = None,
    task_id: OptionalId = None,
    duration: Annotated[str | None, Field(description="New length, keeping the start: '45m', '2h'")] = None,
    start: Annotated[str | None, Field(description="HH:MM on the entry's day, or RFC 3339", max_length=40)] = None,
    end: Annotated[str | None, Field(description="HH:MM on the entry's day, or RFC 3339", max_length=40)] = None,
    tag_ids: Annotated[list[int] | None, Field(max_length=20, description="Replaces the tags")] = None,
) -> EntryWritten:
    """Change one of your own unlocked entries; only the arguments you pass change. You can never
    change time a person logged (forbidden_by_policy) nor locked time (locked). The agent policy
    applies to the result: an entry that becomes billable goes back to the review queue as a draft."""
    entry = time_entry_get_own(actor=caller, entry_id=entry_id)
    workspace = caller.workspace
    on = local_date(workspace, entry.started_at)
    data: dict[str, Any] = {}
    if description is not None:
        data["description"] = description
    if billable is not None:
        data["billable"] = billable
    if project_id is not None:
        data["project"] = project_get(actor=caller, project_id=project_id)
    if task_id is not None:
        data["task"] = task_get(actor=caller, task_id=task_id)
    if start is not None:
        data["started_at"] = moment(start, workspace=workspace, on=on, name="start")
    if end is not None:
        data["ended_at"] = moment(end, workspace=workspace, on=on, name="end")
    if duration is not None:
        if end is not None:
            raise Invalid("Give a duration or an end, not both.", fields={"duration": ["Leave it out."]})
        data["ended_at"] = data.get("started_at", entry.started_at) + timedelta(seconds=duration_seconds(duration))
    if tag_ids is not None:
        data["tags"] = _tags(caller, tag_ids)
    if not data:
        raise Invalid("Nothing to change: pass at least one field.", fields={"entry_id": ["Nothing to change."]})
    return _written(caller, time_entry_update(actor=caller, entry=entry, data=data), "Changed")


class EntryDeleted(WriteResult):
    entry_id: int
    entry: Entry = Field(description="The entry as it was")  # type: ignore[valid-type]


@tool(title="Delete one of my time entries", perm=Perm.TIME_LOG_OWN, write=True, destructive=True)
def delete_time_entry(caller: Principal, entry_id: Id) -> EntryDeleted:
    """Delete one of your own unlocked entries that an agent created (time a person logged is never
    yours to delete: forbidden_by_policy). Active billable time needs a person too."""
    entry = time_entry_get_own(actor=caller, entry_id=entry_id)
    before = shaped(EntryOutput, entry, caller)
    time_entry_delete(actor=caller, entry=entry)
    return EntryDeleted(entry_id=entry_id, entry=before, summary=f"Deleted entry {entry_id}.")


class TimerWritten(WriteResult):
    entry: Entry  # type: ignore[valid-type]


@tool(title="Start my timer", perm=Perm.TIME_LOG_OWN, write=True)
def start_timer(
    caller: Principal,
    project_id: Id,
    task_id: OptionalId = None,
    description: DescriptionArg = "",
    billable: Annotated[bool | None, Field(description="Default: the task's, else the project's setting")] = None,
    tag_ids: TagIds = [],  # noqa: B006
    stop_running: Annotated[bool, Field(description="Stop a running timer first instead of failing")] = False,
) -> TimerWritten:
    """Start your timer now on a project. A running timer is a `conflict` unless stop_running is
    true. The agent policy applies: a billable timer runs as a draft for a person to accept."""
    entry = timer_start(
        actor=caller,
        project=project_get(actor=caller, project_id=project_id),
        task=task_get(actor=caller, task_id=task_id) if task_id is not None else None,
        description=description,
        billable=billable,
        tags=_tags(caller, tag_ids),
        stop_running=stop_running,
    )
    return TimerWritten(
        entry=_entry_out(caller, entry),
        warnings=time_entry_warnings(entry=entry),
        summary=f"Timer started on {entry.project}.",
    )


@tool(title="Stop my timer", perm=Perm.TIME_LOG_OWN, write=True)
def stop_timer(caller: Principal) -> TimerWritten:
    """Stop your running timer now; `conflict` when none runs. Timers a person started are theirs
    to stop (forbidden_by_policy)."""
    entry = timer_stop(actor=caller)
    return TimerWritten(
        entry=_entry_out(caller, entry),
        warnings=time_entry_warnings(entry=entry),
        summary=f"Timer stopped after {(entry.duration_seconds or 0) / 3600:.2f} h.",
    )


class TimesheetSubmitted(WriteResult):
    timesheet: Timesheet  # type: ignore[valid-type]


@tool(title="Submit my week", perm=Perm.TIMESHEET_SUBMIT_OWN, write=True)
def submit_timesheet(
    caller: Principal,
    week: Annotated[str, Field(description="Any day of the week: YYYY-MM-DD, 'today', a weekday name")] = "today",
) -> TimesheetSubmitted:
    """Submit your week for approval; its time is then locked until a manager decides. A running
    timer in that week, or a week already submitted or approved, is a `conflict`."""
    on = day(week, workspace=caller.workspace, name="week")
    timesheet = timesheet_submit(actor=caller, week_start=week_start_for(caller.workspace, on))
    return TimesheetSubmitted(
        timesheet=shaped(TimesheetOutput, timesheet, caller),
        summary=f"Week of {timesheet.week_start:%Y-%m-%d} submitted for approval.",
    )
