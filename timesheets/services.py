"""Writes of time entries (the timer: timer_services.py; weekly timesheets: timesheet_services.py).

Every write to one member's time first locks that member's Membership row, so overlap,
lock and one-running-timer checks never race each other; the partial unique constraint on
running entries is the last word. The lock and the checks: ``entry_rules.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from billing.selectors import billable_default, rates_resolve
from timesheets.agent_policy import ensure_agent_may_change, ensure_agent_may_delete, ensure_agent_may_write
from timesheets.entry_rules import (
    check_project,
    check_tags,
    check_task,
    check_window,
    ensure_no_overlap,
    ensure_unlocked,
    entry_source,
    lock_member_then,
)
from timesheets.member_time import TimeContext, day_slot, time_context_from, time_context_read
from timesheets.models import MAX_ENTRY_SECONDS, EntryState, TimeEntry, week_start_for
from timesheets.selectors import WeekLock, WeekStart, local_date, locking_timesheet, week_lock
from timetracker import compiled
from workspaces import audit, policies
from workspaces.errors import Conflict, Invalid, Locked, NotFound
from workspaces.model_update import reject_unknown_fields
from workspaces.models import Membership, Project, Tag, Task, Workspace
from workspaces.principals import Principal

ENTRY_FIELDS = {"project", "task", "description", "started_at", "ended_at", "billable", "tags"}
MAX_BULK = 200


# --- entries --------------------------------------------------------------------------------


def entry_weeks_recompute(*, workspace: Workspace) -> int:
    """Every entry's ``week_start`` again, after the workspace's time zone or first weekday
    changed (the workspace's own write calls it, in its transaction); returns how many entries.
    One UPDATE in the database, whatever the number of entries."""
    week = WeekStart(TruncDate("started_at", tzinfo=workspace.tzinfo), workspace=workspace)
    return TimeEntry.objects.filter(workspace=workspace).update(week_start=week)


@transaction.atomic
def time_entry_create(
    *,
    actor: Principal,
    project: Project,
    started_at: datetime,
    ended_at: datetime,
    member: Membership | None = None,
    task: Task | None = None,
    description: str = "",
    billable: bool | None = None,
    tags: Iterable[Tag] = (),
    state: str = EntryState.ACTIVE,
    source: str | None = None,
) -> TimeEntry:
    """Log a finished piece of time (the timer: ``timer_services.timer_start``).

    Billable defaults task → project → workspace; the billable and cost rates are resolved now
    (task → project → member → workspace) and kept on the entry. Over MCP the agent policy
    decides: the entry is saved directly, as a draft for the review queue, or refused
    (``forbidden_by_policy``). The caller's connection, if any, is kept on the entry.
    """
    workspace = actor.workspace
    day = local_date(workspace, check_window(started_at, ended_at)[0])
    member, (found,) = lock_member_then(actor, member, context_read(workspace, project, day, entry_id=True))
    policies.ensure_time_write(actor, member)
    entry = entry_insert_locked(
        actor,
        member,
        known=time_context_from(found, workspace=workspace, day=day),
        project=project,
        started_at=started_at,
        ended_at=ended_at,
        task=task,
        description=description,
        billable=billable,
        tags=tags,
        state=state,
        source=source,
    )
    return _created(actor, member, entry)


def _created(actor: Principal, member: Membership, entry: TimeEntry) -> TimeEntry:
    """A new finished entry, with its audit event."""
    audit.record(
        action="time_entry.create",
        actor=actor,
        target=entry,
        detail={
            "member_id": member.pk,
            "seconds": entry.duration_seconds,
            "billable": entry.billable,
            "state": entry.state,
        },
    )
    return entry


def entry_insert_locked(
    actor: Principal,
    member: Membership,
    *,
    known: TimeContext,
    project: Project,
    started_at: datetime,
    ended_at: datetime | None,
    task: Task | None = None,
    description: str = "",
    billable: bool | None = None,
    tags: Iterable[Tag] = (),
    state: str = EntryState.ACTIVE,
    source: str | None = None,
) -> TimeEntry:
    """A new entry (a running timer's without ``ended_at``) of a member this transaction has
    locked and may write for, after the checks every new entry passes (``known``: what was read
    with that lock about its week and project, and its id). Billable defaults task → project →
    workspace; the rates are resolved now and kept on the entry; the agent policy may hold it
    back as a draft. The caller records its audit event."""
    workspace = member.workspace
    started_at, ended_at_checked, seconds = check_window(started_at, ended_at)
    check_project(actor, member, project, on_team=known.on_team)
    check_task(project, task)
    tag_list = check_tags(actor, tags)
    is_billable = billable if billable is not None else billable_default(project=project, task=task)
    reason = ensure_agent_may_write(actor, billable=is_billable)
    if reason is not None:
        state = EntryState.DRAFT
    ensure_unlocked(workspace, member, started_at, known=known.week)
    ensure_no_overlap(workspace, member, started_at, ended_at_checked)
    rates = rates_resolve(member=member, project=project, task=task)
    entry = TimeEntry.objects.create(
        id=known.entry_id,  # drawn with the lock: the INSERT goes with the COMMIT
        workspace=workspace,
        member=member,
        project=project,
        task=task,
        description=description.strip(),
        started_at=started_at,
        ended_at=ended_at_checked,
        duration_seconds=seconds,
        billable=is_billable,
        state=state,
        draft_reason=reason or "",
        source=entry_source(actor, source),
        connection=actor.connection,
        billable_rate=rates.billable_rate,
        cost_rate=rates.cost_rate,
        created_by=actor.user,
    )
    if tag_list:  # a new entry has none to compare with
        entry.tags.set(tag_list)
    return entry


@transaction.atomic
def time_entry_create_for_day(
    *,
    actor: Principal,
    project: Project,
    day: date,
    duration_seconds: int,
    member: Membership | None = None,
    **kwargs: Any,
) -> TimeEntry:
    """Log ``duration_seconds`` on ``day`` (workspace time) when no clock times are given.

    The entry goes after the member's last entry that day (09:00 on an empty day), so such
    entries stack without overlapping, and ends by midnight at the latest (``day_slot``);
    everything else is :func:`time_entry_create`.
    """
    if not 1 <= duration_seconds <= MAX_ENTRY_SECONDS:
        raise Invalid("An entry lasts 1 second to 24 hours.", fields={"duration_seconds": ["1 to 86400."]})
    workspace = actor.workspace
    member, (found,) = lock_member_then(
        actor, member, context_read(workspace, project, day, slot_seconds=duration_seconds, entry_id=True)
    )
    policies.ensure_time_write(actor, member)
    context = time_context_from(found, workspace=workspace, day=day)
    started_at, ended_at = day_slot(context, workspace=workspace, day=day, seconds=duration_seconds)
    entry = entry_insert_locked(
        actor, member, known=context, project=project, started_at=started_at, ended_at=ended_at, **kwargs
    )
    return _created(actor, member, entry)


def context_read(
    workspace: Workspace, project: Project, day: date, *, slot_seconds: int | None = None, entry_id: bool = False
) -> Callable[[int], compiled.Read]:
    """What a new entry's write reads with its member's lock, for the member's id (with
    ``slot_seconds``, for time given only as a day: where it goes; with ``entry_id``, the new
    entry's id)."""
    return lambda member_id: time_context_read(
        workspace=workspace,
        member_id=member_id,
        project_id=project.pk,
        day=day,
        slot_seconds=slot_seconds,
        entry_id=entry_id,
    )


def _locked_entry(actor: Principal, entry: TimeEntry) -> tuple[TimeEntry, Membership, WeekLock]:
    """The entry's member locked, then the entry itself, read afresh, and the lock of its week
    (its stored ``week_start``): all in one round trip."""
    if entry.workspace_id != actor.workspace.pk:
        raise NotFound("Time entry not found.")
    values = {"entry_id": entry.pk, "workspace_id": actor.workspace.pk}
    member, (found, weeks) = lock_member_then(
        actor,
        entry.member,
        lambda _: compiled.Read(compiled.ModelTemplate, ("lock_entry",), _entry_to_lock, values),
        lambda member_id: compiled.Read(
            compiled.Template, ("entry_week",), _entry_week, {**values, "member_id": member_id}
        ),
    )
    policies.ensure_time_write(actor, member)
    if not found or found[0].member_id != member.pk:
        raise NotFound("Time entry not found.")
    locked: TimeEntry = found[0]
    locked.member = member  # as locked, with its user and workspace: no query of its own later
    return locked, member, week_lock(locked.week_start, weeks)


def _entry_week() -> QuerySet[Any]:
    """The lock of the entry's stored week, for :func:`_locked_entry`."""
    of_entry = TimeEntry.objects.filter(
        pk=compiled.Param("entry_id", compiled.ID), workspace_id=compiled.Param("workspace_id", compiled.ID)
    ).order_by()
    return locking_timesheet(Subquery(of_entry.values("week_start")[:1]))


def _entry_to_lock() -> QuerySet[TimeEntry]:
    """The entry's row locked (only it: ``of=self``) and read afresh, with its project read too."""
    # One row by its id: unordered (the model's ordering would sort it).
    return (
        TimeEntry.objects.select_for_update(of=("self",))
        .select_related("project")
        .filter(pk=compiled.Param("entry_id", compiled.ID), workspace_id=compiled.Param("workspace_id", compiled.ID))
        .order_by()
    )


@transaction.atomic
def time_entry_update(*, actor: Principal, entry: TimeEntry, data: Mapping[str, Any]) -> TimeEntry:
    """Change the allow-listed fields of an entry; neither its old nor its new time may be locked.

    Moving an entry to another project or task resolves its rates again; other changes keep them.
    Over MCP an agent never changes time a person logged, and the agent policy applies to the
    result: time it may not write directly goes (back) to the review queue as a draft.
    """
    reject_unknown_fields(data, ENTRY_FIELDS)
    entry, member, week = _locked_entry(actor, entry)
    workspace = member.workspace
    ensure_agent_may_change(actor, entry)
    ensure_unlocked(workspace, member, entry.started_at, entry, known=week)
    # That passed: the old time's week is open, as read under the member's lock (which a week's
    # submission takes too), so new time in the same week needs no read of its own.
    open_week = WeekLock(week_start_for(workspace, local_date(workspace, entry.started_at)), None)
    project = data.get("project", entry.project)
    task = data.get("task", entry.task if project.pk == entry.project_id else None)
    if project.pk != entry.project_id:
        check_project(actor, member, project)
    if (task.pk if task else None) != entry.task_id:
        check_task(project, task)
    tag_list = check_tags(actor, data["tags"]) if "tags" in data else None
    if entry.ended_at is None and "ended_at" not in data:
        started_at, ended_at, seconds = check_window(data.get("started_at", entry.started_at), None)
        if started_at > timezone.now():
            raise Invalid("A running timer cannot start in the future.", fields={"started_at": ["In the future."]})
    else:
        started_at, ended_at, seconds = check_window(
            data.get("started_at", entry.started_at), data.get("ended_at", entry.ended_at)
        )
        if ended_at is None:
            raise Invalid("A finished entry needs an end.", fields={"ended_at": ["Required."]})
    is_billable = bool(data.get("billable", entry.billable))
    reason = ensure_agent_may_write(actor, billable=is_billable)
    ensure_unlocked(workspace, member, started_at, known=open_week)
    ensure_no_overlap(workspace, member, started_at, ended_at, exclude_id=entry.pk)

    changed = []
    if project.pk != entry.project_id or (task.pk if task else None) != entry.task_id:
        rates = rates_resolve(member=member, project=project, task=task)
        entry.project, entry.task = project, task
        entry.billable_rate, entry.cost_rate = rates.billable_rate, rates.cost_rate
        changed += ["project", "task", "billable_rate", "cost_rate"]
    new_values = {
        "started_at": started_at,
        "ended_at": ended_at,
        "duration_seconds": seconds,
        "description": str(data.get("description", entry.description)).strip(),
        "billable": is_billable,
    }
    if reason is not None:
        new_values.update(state=EntryState.DRAFT, draft_reason=reason)
    for name, value in new_values.items():
        if getattr(entry, name) != value:
            setattr(entry, name, value)
            changed.append(name)
    entry.updated_at = timezone.now()
    entry.save_locked(update_fields=[*changed, "updated_at"])
    if tag_list is not None:
        entry.tags.set(tag_list)
        changed.append("tags")
    audit.record(action="time_entry.update", actor=actor, target=entry, detail={"fields": sorted(set(changed))})
    return entry


@transaction.atomic
def time_entry_delete(*, actor: Principal, entry: TimeEntry) -> None:
    """Delete an unlocked entry (a running timer too); over MCP within the agent policy."""
    entry, member, week = _locked_entry(actor, entry)
    ensure_agent_may_delete(actor, entry)
    ensure_unlocked(member.workspace, member, entry.started_at, entry, known=week)
    audit.record(
        action="time_entry.delete",
        actor=actor,
        target=entry,
        detail={"member_id": member.pk, "started_at": entry.started_at.isoformat(), "seconds": entry.duration_seconds},
    )
    entry.delete()


@transaction.atomic
def time_entries_delete_bulk(*, actor: Principal, entry_ids: Sequence[int]) -> int:
    """Delete several of the caller's own entries, all or none: one that is another member's, missing
    or locked refuses the lot, naming it."""
    ids = sorted(set(entry_ids))
    if not ids:
        raise Invalid("Choose the entries to delete.", fields={"entry": ["Choose at least one."]})
    if len(ids) > MAX_BULK:
        raise Invalid(f"At most {MAX_BULK} entries at a time.", fields={"entry": [f"At most {MAX_BULK}."]})
    entries = {
        e.pk: e for e in TimeEntry.objects.filter(workspace=actor.workspace, member=actor.membership, pk__in=ids)
    }
    for entry_id in ids:
        entry = entries.get(entry_id)
        if entry is None:
            raise NotFound(f"Time entry {entry_id} not found among your entries.")
        try:
            time_entry_delete(actor=actor, entry=entry)
        except (Locked, Conflict, Invalid) as exc:
            raise type(exc)(f"Entry {entry_id}: {exc.message} Nothing was deleted.", fields=exc.fields) from None
    return len(ids)
