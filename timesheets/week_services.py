"""Writing through the week grid: a cell's total becomes one entry, created, resized or removed."""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction

from timesheets.entry_rules import lock_member_for_time
from timesheets.models import MAX_ENTRY_SECONDS, EntryState, TimeEntry
from timesheets.selectors import day_start_utc
from timesheets.services import (
    time_entry_create_for_day,
    time_entry_delete,
    time_entry_update,
)
from workspaces import policies
from workspaces.errors import Conflict, Invalid
from workspaces.models import Membership, Project, Task
from workspaces.principals import Principal


@transaction.atomic
def week_cell_set(
    *,
    actor: Principal,
    project: Project,
    task: Task | None,
    day: date,
    seconds: int,
    member: Membership | None = None,
) -> TimeEntry | None:
    """Make the member's finished time on ``project``/``task`` on ``day`` total ``seconds``.

    An empty cell gets a new entry (placed after the day's last one), a cell of one entry is
    resized from its start, and zero removes that entry. A cell of several entries, or with a
    running timer, is a ``conflict``: which entry to change is a person's choice, not the grid's.
    Locks, overlaps, rates and audit are those of the entry services.
    """
    if not 0 <= seconds <= MAX_ENTRY_SECONDS:
        raise Invalid("A day's cell holds 0 to 24 hours.", fields={"duration": ["0 to 24 hours."]})
    member = lock_member_for_time(actor, member)
    policies.ensure_time_write(actor, member)
    workspace = member.workspace
    entries = list(
        TimeEntry.objects.filter(
            workspace=workspace,
            member=member,
            project=project,
            task=task,
            state=EntryState.ACTIVE,
            started_at__gte=day_start_utc(workspace, day),
            started_at__lt=day_start_utc(workspace, day + timedelta(days=1)),
        ).order_by("started_at")[:3]
    )
    if any(entry.ended_at is None for entry in entries):
        raise Conflict("A timer is running in this cell; stop it before changing the day's total.")
    if len(entries) > 1:
        raise Conflict("This cell holds several entries; change them one by one in the entries list.")
    if not entries:
        if seconds == 0:
            return None
        return time_entry_create_for_day(
            actor=actor, member=member, project=project, task=task, day=day, duration_seconds=seconds
        )
    entry = entries[0]
    if seconds == 0:
        time_entry_delete(actor=actor, entry=entry)
        return None
    if seconds == entry.duration_seconds:
        return entry
    return time_entry_update(actor=actor, entry=entry, data={"ended_at": entry.started_at + timedelta(seconds=seconds)})
