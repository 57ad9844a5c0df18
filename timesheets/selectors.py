"""Reads of time: entries, the running timer, a member's week. Always workspace-scoped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import (
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    Field,
    Func,
    Prefetch,
    QuerySet,
)
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone

from timesheets.models import EntryState, TimeEntry, Timesheet, TimesheetStatus, week_start_for
from timetracker.compiled import ID, Param, values_rows
from workspaces import policies
from workspaces.errors import Forbidden
from workspaces.models import Client, Membership, Project, Tag, Task, Workspace
from workspaces.policies import Perm
from workspaces.principals import Principal
from workspaces.selectors import get_or_not_found, member_get

LOCKING_STATUSES = (TimesheetStatus.SUBMITTED, TimesheetStatus.APPROVED)


def local_date(workspace: Workspace, moment: datetime) -> date:
    """The calendar date of ``moment`` in the workspace's time zone."""
    return timezone.localtime(moment, workspace.tzinfo).date()


class WeekStart(Func):
    """``week_start_for`` in SQL: the first day of the workspace week holding a date expression
    (an entry's ``TruncDate("started_at", tzinfo=workspace.tzinfo)``, an expense's ``date``)."""

    output_field = DateField()

    def __init__(self, day: Any, *, workspace: Workspace) -> None:
        super().__init__(day)
        self.week_start = int(workspace.week_start)  # 0 = Monday … 6 = Sunday, as date.weekday()

    def as_sql(  # type: ignore[override]
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, list[Any]]:
        # PostgreSQL: move the week to start on a Monday, truncate to the ISO week, move it back.
        day, params = compiler.compile(self.source_expressions[0])
        shift = self.week_start
        return f"(DATE_TRUNC('week', ({day} - {shift})::timestamp)::date + {shift})", list(params)

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, list[Any]]:
        # The first day on or after day − 6 that is the week's first weekday (SQLite: 0 = Sunday).
        day, params = compiler.compile(self.source_expressions[0])
        return f"DATE({day}, '-6 days', 'weekday {(self.week_start + 1) % 7}')", list(params)


def day_start_utc(workspace: Workspace, day: date) -> datetime:
    """Midnight at the start of ``day`` in the workspace's time zone (DST-safe)."""
    return datetime.combine(day, time.min, tzinfo=workspace.tzinfo)


@dataclass(frozen=True)
class WeekLock:
    """What a read under the member's lock found about one week: the status of the member's
    submitted or approved timesheet of it, or ``None`` (the week is open)."""

    week_start: date
    status: str | None


def entry_lock_reason(
    *, workspace: Workspace, member: Membership, day: date, known: WeekLock | None = None
) -> str | None:
    """Why time of ``member`` on ``day`` cannot be created, changed or deleted; ``None`` when it can.

    ``known``: the week's lock as read in this transaction under the member's lock; when it is the
    week of ``day``, no query is made.
    """
    if workspace.lock_date is not None and day <= workspace.lock_date:
        return f"{day:%Y-%m-%d} is on or before the workspace lock date ({workspace.lock_date:%Y-%m-%d})."
    week = week_start_for(workspace, day)
    if known is not None and known.week_start == week:
        status = known.status
    else:
        found = values_rows(("entry_lock_reason",), locking_timesheet, {"member_id": member.pk, "week": week})
        status = found[0]["status"] if found else None
    if status is not None:
        return f"The week of {week:%Y-%m-%d} is {status}; ask an admin to reopen it to change its time."
    return None


def locking_timesheet(week: Any = None) -> QuerySet[Any]:
    """The member's submitted or approved timesheet of the week (a member has one per week), a
    compiled read's queryset (``member_id`` and ``week`` are its parameters). ``week``: instead
    of the parameter, an expression for the week's first day (an entry's stored ``week_start``,
    read by a subquery in the same statement)."""
    if week is None:
        week = Param("week", DateField())
    return Timesheet.objects.filter(
        member_id=Param("member_id", ID), week_start=week, status__in=LOCKING_STATUSES
    ).values("status")[:1]


def week_lock(week_start: date, found: list[dict[str, Any]]) -> WeekLock:
    """The lock of the week of ``week_start``, from the rows a read of :func:`locking_timesheet` found."""
    return WeekLock(week_start, found[0]["status"] if found else None)


def entry_lock_reasons(*, workspace: Workspace, entries: Sequence[TimeEntry]) -> dict[int, str]:
    """Why each of ``entries`` cannot be changed (invoiced, before the lock date, in a submitted or
    approved week), in one query for the lot; unlocked entries are absent."""
    weeks = {(e.member_id, week_start_for(workspace, local_date(workspace, e.started_at))) for e in entries}
    locked_weeks = set()
    if weeks:
        locked_weeks = set(
            Timesheet.objects.filter(
                workspace=workspace,
                member_id__in={m for m, _ in weeks},
                week_start__in={w for _, w in weeks},
                status__in=LOCKING_STATUSES,
            ).values_list("member_id", "week_start")
        )
    reasons: dict[int, str] = {}
    for entry in entries:
        day = local_date(workspace, entry.started_at)
        if entry.invoice_line_id is not None:
            reasons[entry.pk] = "On an invoice."
        elif workspace.lock_date is not None and day <= workspace.lock_date:
            reasons[entry.pk] = f"On or before the lock date ({workspace.lock_date:%Y-%m-%d})."
        elif (entry.member_id, week_start_for(workspace, day)) in locked_weeks:
            reasons[entry.pk] = "In a submitted or approved week."
    return reasons


def time_entry_queryset(*, workspace: Workspace) -> QuerySet[TimeEntry]:
    return (
        TimeEntry.objects.filter(workspace=workspace)
        .select_related("member__user", "project__client", "task")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.only("id", "name")))
    )


@dataclass(frozen=True)
class EntryScope:
    """Which entries a caller asked for and may see, decided once (policies included): the ids and
    bounds :func:`time_entry_filter` filters by. Its SQL depends only on which fields are set
    (:attr:`shape`), so reports compile it once per shape (``timetracker.compiled``) and bind
    :meth:`values` on every call."""

    workspace_id: int
    member_id: int | None = None
    project_id: int | None = None
    client_id: int | None = None
    task_id: int | None = None
    tag_id: int | None = None
    billable: bool | None = None
    state: str | None = None
    start: datetime | None = None  # inclusive, the first local midnight
    end: datetime | None = None  # exclusive, the local midnight after the last day

    @property
    def shape(self) -> tuple[bool, ...]:
        return tuple(getattr(self, name) is not None for name in SCOPE_FIELDS)

    def values(self) -> dict[str, Any]:
        return {name: value for name in SCOPE_FIELDS if (value := getattr(self, name)) is not None}

    def queryset(self, *, params: bool = False) -> QuerySet[TimeEntry]:
        """The entries, filtered by the scope's values, or with ``params`` by :class:`Param`
        placeholders named after its fields."""

        def value(name: str, output_field: Field[Any, Any]) -> Any:
            return Param(name, output_field) if params else getattr(self, name)

        qs = TimeEntry.objects.filter(workspace_id=value("workspace_id", ID))
        if self.member_id is not None:
            qs = qs.filter(member_id=value("member_id", ID))
        if self.project_id is not None:
            qs = qs.filter(project_id=value("project_id", ID))
        if self.client_id is not None:
            qs = qs.filter(project__client_id=value("client_id", ID))
        if self.task_id is not None:
            qs = qs.filter(task_id=value("task_id", ID))
        if self.tag_id is not None:
            qs = qs.filter(tags__id=value("tag_id", ID))
        if self.billable is not None:
            qs = qs.filter(billable=value("billable", BooleanField()))
        if self.state is not None:
            qs = qs.filter(state=value("state", CharField()))
        if self.start is not None:
            qs = qs.filter(started_at__gte=value("start", DateTimeField()))
        if self.end is not None:
            qs = qs.filter(started_at__lt=value("end", DateTimeField()))
        return qs


SCOPE_FIELDS = tuple(f.name for f in fields(EntryScope))


def entry_scope(
    *,
    actor: Principal,
    member: Membership | None = None,
    project: Project | None = None,
    client: Client | None = None,
    task: Task | None = None,
    tag: Tag | None = None,
    billable: bool | None = None,
    state: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> EntryScope:
    """The entries the caller may see, filtered: members see their own; managers and up
    everyone's. ``date_from`` / ``date_to`` are inclusive dates in the workspace's time zone."""
    workspace = actor.workspace
    if member is not None:
        if not policies.can_view_time_of(actor, member):
            raise Forbidden("You can only see your own time.")
    elif not policies.can(actor, Perm.TIME_VIEW_ALL):
        policies.ensure(actor, Perm.TIME_VIEW_OWN)
        member = actor.membership
    return EntryScope(
        workspace_id=workspace.pk,
        member_id=member.pk if member is not None else None,
        project_id=project.pk if project is not None else None,
        client_id=client.pk if client is not None else None,
        task_id=task.pk if task is not None else None,
        tag_id=tag.pk if tag is not None else None,
        billable=billable,
        state=state,
        start=day_start_utc(workspace, date_from) if date_from is not None else None,
        end=day_start_utc(workspace, date_to + timedelta(days=1)) if date_to is not None else None,
    )


def time_entry_filter(*, actor: Principal, **filters: Any) -> QuerySet[TimeEntry]:
    """The bare, unordered queryset of entries the caller may see, filtered (lists and reports
    build on it; the filters are :func:`entry_scope`'s)."""
    return entry_scope(actor=actor, **filters).queryset()


def time_entry_list_member(*, actor: Principal, member_id: int | None) -> tuple[Membership, bool]:
    """Whose entries to list (``member_id``, default the caller), and whether that member must
    still be looked up.

    A caller who may see everyone's time asking for someone else's needs no query for the member:
    entries are read within the caller's workspace, so a page with rows proves the member is
    there. Only when the page is empty must the caller look the member up (``member_get``) to
    answer "not found" for one that is not. Anyone else gets the member looked up here.
    """
    if member_id is None or member_id == actor.membership.pk:
        return actor.membership, False
    if policies.can(actor, Perm.TIME_VIEW_ALL):
        return Membership(pk=member_id, workspace=actor.workspace), True
    return member_get(actor=actor, member_id=member_id), False


def time_entry_list(*, actor: Principal, **filters: Any) -> QuerySet[TimeEntry]:
    """Entries the caller may see, newest first, with everything a face renders (see time_entry_filter)."""
    return (
        time_entry_filter(actor=actor, **filters)
        .select_related("member__user", "project__client", "task")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.only("id", "name")))
        .order_by("-started_at", "-id")
    )


def time_entry_get(*, actor: Principal, entry_id: object) -> TimeEntry:
    """One entry; another member's entry is 'not found' to a member, as is another workspace's."""
    qs = time_entry_queryset(workspace=actor.workspace)
    if not policies.can(actor, Perm.TIME_VIEW_ALL):
        policies.ensure(actor, Perm.TIME_VIEW_OWN)
        qs = qs.filter(member=actor.membership)
    return get_or_not_found(qs, entry_id, label="Time entry")


def time_entry_get_own(*, actor: Principal, entry_id: object) -> TimeEntry:
    """One of the caller's own entries; anyone else's is 'not found' (agents change only their own)."""
    qs = time_entry_queryset(workspace=actor.workspace).filter(member=actor.membership)
    return get_or_not_found(qs, entry_id, label="Time entry")


def timer_get(*, actor: Principal, member: Membership | None = None) -> TimeEntry | None:
    """The running timer of ``member`` (default: the caller), or ``None``."""
    member = member or actor.membership
    if not policies.can_view_time_of(actor, member):
        raise Forbidden("You can only see your own timer.")
    return time_entry_queryset(workspace=actor.workspace).filter(member=member, ended_at__isnull=True).first()


# --- the review queue -----------------------------------------------------------------------


def review_queue_list(*, actor: Principal, member: Membership | None = None) -> QuerySet[TimeEntry]:
    """Agent drafts awaiting a human, oldest first: a member's own, or everyone's for managers and up.

    Each comes with the connection (and its OAuth application) that proposed it.
    """
    return (
        time_entry_filter(actor=actor, member=member, state=EntryState.DRAFT)
        .select_related("member__user", "project__client", "task", "connection__application")
        .prefetch_related(Prefetch("tags", queryset=Tag.objects.only("id", "name")))
        .order_by("created_at", "id")
    )


def review_queue_get(*, actor: Principal, entry_id: object) -> TimeEntry:
    """One draft of the review queue; an active entry, another member's (for a member) or another
    workspace's draft is 'not found'."""
    return get_or_not_found(review_queue_list(actor=actor), entry_id, label="Draft")
