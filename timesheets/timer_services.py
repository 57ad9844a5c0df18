"""Writes of the running timer: start it, stop it. Like every write of a member's time they lock
the member's row first and send what they read under it with the lock (``entry_rules.py``);
the partial unique constraint on running entries is the last word.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, ParamSpec

from django.db import IntegrityError, transaction
from django.db.models import QuerySet, Subquery
from django.utils import timezone

from timesheets.agent_policy import ensure_agent_may_change
from timesheets.entry_rules import (
    check_window,
    ensure_unlocked,
    lock_member_then,
    whole_seconds,
)
from timesheets.member_time import time_context_from
from timesheets.models import MAX_ENTRY_SECONDS, TimeEntry
from timesheets.selectors import WeekLock, local_date, locking_timesheet, week_lock
from timesheets.services import context_read, entry_insert_locked
from timetracker import compiled
from workspaces import audit, policies
from workspaces.errors import Conflict, Invalid
from workspaces.models import Membership, Project, Tag, Task
from workspaces.principals import Principal

P = ParamSpec("P")


def _stop(actor: Principal, entry: TimeEntry, ended_at: datetime, week: WeekLock) -> TimeEntry:
    """Stop the running ``entry`` (``week``: its week's lock, read with the member's lock)."""
    ensure_agent_may_change(actor, entry)
    ensure_unlocked(entry.workspace, entry.member, entry.started_at, known=week)
    ended_at = whole_seconds(ended_at, "ended_at")
    # A timer stopped within its first second still records one second: nothing is lost.
    ended_at = max(ended_at, entry.started_at + timedelta(seconds=1))
    _, ended_at_checked, seconds = check_window(entry.started_at, ended_at)
    entry.ended_at, entry.duration_seconds = ended_at_checked, seconds
    entry.updated_at = timezone.now()
    entry.save_locked(update_fields=["ended_at", "duration_seconds", "updated_at"])
    audit.record(action="timer.stop", actor=actor, target=entry, detail={"seconds": seconds})
    return entry


RUNNING_TIMER_CONSTRAINT = "time_entry_one_running_timer_per_member"


def _a_second_running_timer_conflicts(start: Callable[P, TimeEntry]) -> Callable[P, TimeEntry]:
    """The partial unique constraint on running entries is the backstop should the member's lock
    ever be bypassed: its violation is a ``conflict``, as a running timer found under the lock is.

    It is caught around the whole transaction, not around the INSERT, because the INSERT goes
    with the ``COMMIT``: the violation is raised by the commit, after ``atomic()`` rolled back
    (or, in an outer transaction, by the savepoint's release, which is then rolled back). On
    PostgreSQL it is told apart by the constraint's name; a database that does not name it
    (SQLite, ``make run``) has any integrity error of the start count as it."""

    @functools.wraps(start)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> TimeEntry:
        try:
            return start(*args, **kwargs)
        except IntegrityError as exc:
            violated = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
            if violated not in (None, RUNNING_TIMER_CONSTRAINT):
                raise
            raise Conflict("A timer is already running.") from None

    return guarded


@_a_second_running_timer_conflicts
@transaction.atomic
def timer_start(
    *,
    actor: Principal,
    project: Project,
    task: Task | None = None,
    description: str = "",
    billable: bool | None = None,
    tags: Iterable[Tag] = (),
    started_at: datetime | None = None,
    stop_running: bool = False,
    member: Membership | None = None,
    source: str | None = None,
) -> TimeEntry:
    """Start the member's timer (default: the caller's) now or at ``started_at`` (not in the future).

    A running timer is a ``conflict`` unless ``stop_running`` asks to stop it first. Over MCP the
    agent policy decides, as for :func:`time_entry_create`: a held-back timer runs as a draft.
    The entry's id is drawn with the member's lock, so its INSERT goes with the ``COMMIT``, as a
    new entry's does (``services.time_entry_create``).
    """
    now = timezone.now().replace(microsecond=0)
    started_at, _, _ = check_window(started_at or now, None)
    day = local_date(actor.workspace, started_at)
    member, (timers, weeks, found) = lock_member_then(
        actor,
        member,
        _running_timer_read(actor),
        _running_week_read(actor),
        context_read(actor.workspace, project, day, entry_id=True),
    )
    policies.ensure_time_write(actor, member)
    workspace = member.workspace
    known = time_context_from(found, workspace=workspace, day=day)
    if started_at > now:
        raise Invalid("A timer cannot start in the future.", fields={"started_at": ["In the future."]})
    running = _with_member(timers, member)
    if running is not None:
        if not stop_running:
            raise Conflict(
                f"A timer is already running (since {running.started_at:%Y-%m-%d %H:%M} UTC on {running.project}). "
                "Stop it first, or ask to stop it."
            )
        ended_at = max(started_at, running.started_at + timedelta(seconds=1))
        stopped = _stop(actor, running, ended_at, week_lock(running.week_start, weeks))
        # The new timer starts where the stopped one ended, so the two never overlap.
        started_at = max(started_at, stopped.ended_at or started_at)
    entry = entry_insert_locked(
        actor,
        member,
        known=known,
        project=project,
        started_at=started_at,
        ended_at=None,
        task=task,
        description=description,
        billable=billable,
        tags=tags,
        source=source,
    )
    audit.record(action="timer.start", actor=actor, target=entry, detail={"member_id": member.pk})
    return entry


@transaction.atomic
def timer_stop(*, actor: Principal, member: Membership | None = None, ended_at: datetime | None = None) -> TimeEntry:
    """Stop the running timer now (or at ``ended_at``). A timer past 24 h needs an explicit end."""
    member, (timers, weeks) = lock_member_then(actor, member, _running_timer_read(actor), _running_week_read(actor))
    policies.ensure_time_write(actor, member)
    running = _with_member(timers, member)
    if running is None:
        raise Conflict("No timer is running.")
    ended_at = ended_at or timezone.now()
    if ended_at - running.started_at > timedelta(seconds=MAX_ENTRY_SECONDS):
        raise Invalid(
            "This timer has run for more than 24 hours; say when the work ended.",
            fields={"ended_at": ["Give an end at most 24 h after the start."]},
        )
    return _stop(actor, running, ended_at, week_lock(running.week_start, weeks))


def _running_timer_read(actor: Principal) -> Callable[[int], compiled.Read]:
    """The member's running timer, locked (its row only) and read with its project, for the
    member's id: sent with the member's lock."""
    return _member_read(actor, compiled.ModelTemplate, "running_timer", _running_timer_to_lock)


def _running_week_read(actor: Principal) -> Callable[[int], compiled.Read]:
    """The lock of the running timer's week (its stored ``week_start``), for the member's id:
    sent with the member's lock, after the timer's own read, so that stopping it reads nothing
    more before its UPDATE. No row: no timer runs, or its week is open."""
    return _member_read(actor, compiled.Template, "running_timer_week", _running_timer_week)


def _member_read(
    actor: Principal, kind: type[compiled.Template], name: str, build: Callable[[], QuerySet[Any]]
) -> Callable[[int], compiled.Read]:
    workspace_id = actor.workspace.pk
    return lambda member_id: compiled.Read(kind, (name,), build, {"member_id": member_id, "workspace_id": workspace_id})


def _running_timer() -> QuerySet[TimeEntry]:
    # At most one row (the partial unique constraint on running timers): unordered.
    return TimeEntry.objects.filter(
        member_id=compiled.Param("member_id", compiled.ID),
        workspace_id=compiled.Param("workspace_id", compiled.ID),
        ended_at__isnull=True,
    ).order_by()


def _running_timer_to_lock() -> QuerySet[TimeEntry]:
    return _running_timer().select_for_update(of=("self",)).select_related("project")


def _running_timer_week() -> QuerySet[Any]:
    return locking_timesheet(Subquery(_running_timer().values("week_start")[:1]))


def _with_member(found: list[TimeEntry], member: Membership) -> TimeEntry | None:
    """The one entry ``found``, taking the locked member (with its user and workspace), or None."""
    if not found:
        return None
    entry = found[0]
    entry.member, entry.workspace = member, member.workspace
    return entry
