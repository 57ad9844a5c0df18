"""What a write of a member's time reads about that member's other time: the context a new
entry reads with the member's lock (:class:`TimeContext`, sent in the lock's round trip), where
time given as a day goes, overlaps, and the warnings an agent's write answers with. The lock
itself and the rules: ``entry_rules.py``; a week's lock: ``selectors.entry_lock_reason``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Case, CharField, DateTimeField, Exists, Func, IntegerField, Q, QuerySet, Subquery, When
from django.db.models.lookups import GreaterThanOrEqual

from timesheets.models import MAX_ENTRY_SECONDS, EntryState, TimeEntry, week_start_for
from timesheets.selectors import WeekLock, day_start_utc, local_date, locking_timesheet
from timetracker import compiled
from timetracker.compiled import ID, NextId, Param, values_rows
from workspaces.models import Membership, OverlapPolicy, Project, Workspace


@dataclass(frozen=True)
class TimeContext:
    """What a new entry's write reads with its member's lock (:func:`time_context_read`): the lock
    of the entry's week, whether the member is on the project's team, and for time given only as
    a day, when the member's last entry that day ends (``None``: none does; on a day with no room
    left for the new time, the latest moment it may start instead, which places it the same).

    ``entry_id``: the new entry's id, drawn from its sequence with the lock where the database
    can (PostgreSQL), so that its INSERT needs nothing back and goes with the transaction's
    ``COMMIT``: the member's lock is then held one round trip less (``bench/README``, twentieth
    round). ``None``: the INSERT draws it."""

    week: WeekLock
    on_team: bool
    last_end: datetime | None
    entry_id: int | None = None


def time_context_read(
    *,
    workspace: Workspace,
    member_id: int,
    project_id: int,
    day: date,
    slot_seconds: int | None = None,
    entry_id: bool = False,
) -> compiled.Read:
    """The one-row read of :class:`TimeContext` for the member's time on ``day`` (with
    ``slot_seconds``, time given only as a day: with the end of the day's last entry, for
    :func:`day_slot`; with ``entry_id``, the new entry's id drawn). It goes with the member's
    lock in one round trip (``entry_rules.lock_member_then``), so a new entry's write under that
    lock reads nothing else before it inserts."""
    next_day_start = day_start_utc(workspace, day + timedelta(days=1))
    values = {
        "workspace_id": workspace.pk,
        "member_id": member_id,
        "project_id": project_id,
        "day_start": day_start_utc(workspace, day),
        "next_day_start": next_day_start,
        "week": week_start_for(workspace, day),
    }
    last_end = slot_seconds is not None
    if slot_seconds is not None:
        values["latest_slot_start"] = next_day_start - timedelta(seconds=slot_seconds)
    return compiled.Read(
        compiled.Template, ("time_context", last_end, entry_id), lambda: _time_context(last_end, entry_id), values
    )


def time_context_from(found: list[dict[str, Any]], *, workspace: Workspace, day: date) -> TimeContext:
    (row,) = found
    week = WeekLock(week_start_for(workspace, day), row["week_status"])
    return TimeContext(week=week, on_team=row["on_team"], last_end=row.get("last_end"), entry_id=row.get("entry_id"))


def day_slot(context: TimeContext, *, workspace: Workspace, day: date, seconds: int) -> tuple[datetime, datetime]:
    """Where ``seconds`` of time given only as a day go: after the member's last entry that day,
    or at 09:00 (workspace time) on an empty day, so that such entries stack without overlapping.

    The time stays on its day: when there is no room left after the last entry, it ends at
    midnight instead (overlapping, which the write's warnings name), never spilling into the
    next day, whose week may be another one."""
    start = datetime.combine(day, time(9, 0), tzinfo=workspace.tzinfo)
    if context.last_end is not None and context.last_end > start:
        start = context.last_end
    day_start, next_day_start = day_start_utc(workspace, day), day_start_utc(workspace, day + timedelta(days=1))
    start = max(day_start, min(start, next_day_start - timedelta(seconds=seconds)))
    return start, start + timedelta(seconds=seconds)


def _time_context(last_end: bool, entry_id: bool) -> QuerySet[Any]:
    """One row: the status of the member's locking timesheet of a week, whether the member is on
    a project's team, (``last_end``) when its last finished entry of a day ends (the day as two
    UTC moments) and (``entry_id``) a new entry's id, drawn from its sequence."""
    columns: dict[str, Any] = {
        "week_status": Subquery(locking_timesheet(), output_field=CharField()),
        "on_team": Exists(
            Project.team.through.objects.filter(
                project_id=Param("project_id", ID), membership_id=Param("member_id", ID)
            )
        ),
    }
    if last_end:
        columns["last_end"] = _last_end()
    if entry_id:
        columns["entry_id"] = NextId(TimeEntry)
    # One row by its id: unordered, so not joined to the user that memberships are ordered by.
    return (
        Membership.objects.filter(pk=Param("member_id", ID), workspace_id=Param("workspace_id", ID))
        .order_by()
        .values(**columns)
    )


def _last_end() -> Case:
    """When the member's last entry of the day ends, as :func:`day_slot` needs it.

    Finding the latest end reads every entry of the day. The entry that starts last is one
    index step away, and when it ends at or after the latest moment the new slot may start
    (``latest_slot_start``), the slot starts there whatever the others' ends: that moment then
    stands in for the last end. So a day full of entries costs one step, not a read of them all."""
    of_day = TimeEntry.objects.filter(
        workspace_id=Param("workspace_id", ID),
        member_id=Param("member_id", ID),
        ended_at__isnull=False,
        started_at__gte=Param("day_start", DateTimeField()),
        started_at__lt=Param("next_day_start", DateTimeField()),
    )
    last_started = Subquery(of_day.order_by("-started_at").values("ended_at")[:1], output_field=DateTimeField())
    latest = Subquery(of_day.order_by("-ended_at").values("ended_at")[:1], output_field=DateTimeField())
    latest_slot_start = Param("latest_slot_start", DateTimeField())
    day_full: GreaterThanOrEqual[Any] = GreaterThanOrEqual(last_started, latest_slot_start)
    return Case(When(day_full, then=latest_slot_start), default=latest, output_field=DateTimeField())


LONG_DAY_SECONDS = 10 * 3600


def overlapping(
    workspace: Workspace,
    member_id: int,
    started_at: datetime,
    ended_at: datetime | None,
    exclude_id: int | None = None,
) -> QuerySet[TimeEntry]:
    """The member's active time that overlaps ``[started_at, ended_at)`` (to the open end of a timer).

    An entry lasts at most MAX_ENTRY_SECONDS, so only the running timer or entries that started
    within that span before ``started_at`` can reach it: the (workspace, member, started_at) index
    and the running-timer index, OR-ed. Unbounded, the search read every earlier entry of the
    member (bench/: 9.5 ms against 0.03 ms for a member with two years of time).
    """
    earliest = started_at - timedelta(seconds=MAX_ENTRY_SECONDS)
    qs = TimeEntry.objects.filter(workspace=workspace, member_id=member_id, state=EntryState.ACTIVE).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=started_at, started_at__gte=earliest)
    )
    if ended_at is not None:
        qs = qs.filter(started_at__lt=ended_at)
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    return qs


def time_entry_warnings(*, entry: TimeEntry) -> list[str]:
    """What a person would want to know about an entry just written: it waits in the review queue,
    it overlaps the member's other time (where overlaps are allowed), its day is long. One query,
    compiled once (an agent's every write answers with these)."""
    warnings = []
    workspace = entry.workspace
    if entry.state == EntryState.DRAFT:
        warnings.append(f"Saved as a draft for a person to accept in the review queue: {entry.draft_reason}.")
    if entry.ended_at is None:
        return warnings
    allowed = workspace.overlap_policy == OverlapPolicy.ALLOW
    on = local_date(workspace, entry.started_at)
    values = {
        "workspace_id": workspace.pk,
        "member_id": entry.member_id,
        "entry_id": entry.pk,
        "started_at": entry.started_at,
        "ended_at": entry.ended_at,
        "earliest": entry.started_at - timedelta(seconds=MAX_ENTRY_SECONDS),
        "day_start": day_start_utc(workspace, on),
        "next_day_start": day_start_utc(workspace, on + timedelta(days=1)),
    }
    (found,) = values_rows(("time_entry_warnings", allowed), lambda: _entry_warnings(overlaps=allowed), values)
    if found.get("overlaps"):
        warnings.append("It overlaps another entry of the same person.")
    total = (found["others"] or 0) + (entry.duration_seconds or 0)
    if total > LONG_DAY_SECONDS:
        warnings.append(f"{on:%Y-%m-%d} now has {total / 3600:.1f} hours logged (more than 10).")
    return warnings


def _entry_warnings(*, overlaps: bool) -> QuerySet[Any]:
    """One row (the member's): the seconds of the member's other entries that start on a day and,
    with ``overlaps``, whether other active time of the member overlaps an entry's span (as
    :func:`overlapping` finds it)."""
    others = (
        TimeEntry.objects.filter(
            workspace_id=Param("workspace_id", ID),
            member_id=Param("member_id", ID),
            started_at__gte=Param("day_start", DateTimeField()),
            started_at__lt=Param("next_day_start", DateTimeField()),
        )
        .exclude(pk=Param("entry_id", ID))
        .order_by()
        # SUM over the rows found, without GROUP BY: a statement with one is never prepared
        # (timetracker.postgresql.PreparingCursor), and there is one group here anyway.
        .values(total=Func("duration_seconds", function="SUM", output_field=IntegerField()))
    )
    columns: dict[str, Any] = {"others": Subquery(others, output_field=IntegerField())}
    if overlaps:
        started_at = Param("started_at", DateTimeField())
        clash = (
            TimeEntry.objects.filter(
                workspace_id=Param("workspace_id", ID), member_id=Param("member_id", ID), state=EntryState.ACTIVE
            )
            .filter(
                Q(ended_at__isnull=True)
                | Q(ended_at__gt=started_at, started_at__gte=Param("earliest", DateTimeField()))
            )
            .filter(started_at__lt=Param("ended_at", DateTimeField()))
            .exclude(pk=Param("entry_id", ID))
        )
        columns["overlaps"] = Exists(clash)
    # One row by its id: unordered, so not joined to the user that memberships are ordered by.
    return (
        Membership.objects.filter(pk=Param("member_id", ID), workspace_id=Param("workspace_id", ID))
        .order_by()
        .values(**columns)
    )
