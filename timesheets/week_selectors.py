"""A member's week and the list of timesheets; the week grid: rows of project/task, a column per
day, totals. Each is read in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncDate

from timesheets.models import EntryState, TimeEntry, Timesheet, TimesheetStatus
from timesheets.selectors import (
    LOCKING_STATUSES,
    day_start_utc,
    entry_lock_reason,
    local_date,
    time_entry_filter,
    time_entry_queryset,
    week_start_for,
)
from workspaces import policies
from workspaces.errors import Forbidden
from workspaces.models import Membership, Project, Task, Workspace
from workspaces.policies import Perm
from workspaces.principals import Principal
from workspaces.selectors import get_or_not_found, project_list, task_list

RowKey = tuple[int, int | None]  # (project id, task id or None)


@dataclass
class ProjectTotal:
    project_id: int
    project_name: str
    seconds: int


@dataclass
class TimesheetWeek:
    member: Membership
    week_start: date
    status: str
    timesheet: Timesheet | None
    lock_reason: str | None
    entries: list[TimeEntry]
    days: list[date]
    seconds_by_day: dict[date, int]
    projects: list[ProjectTotal]
    total_seconds: int
    draft_seconds: int = 0
    running: TimeEntry | None = field(default=None)


def timesheet_week_get(*, actor: Principal, member: Membership | None = None, week_start: date) -> TimesheetWeek:
    """One member-week: status, entries, totals per day and project (active entries; drafts apart)."""
    workspace = actor.workspace
    member = member or actor.membership
    if not policies.can_view_time_of(actor, member):
        raise Forbidden("You can only see your own timesheet.")
    week_start = week_start_for(workspace, week_start)
    days = [week_start + timedelta(days=i) for i in range(7)]
    entries = list(
        time_entry_queryset(workspace=workspace)
        .filter(
            member=member,
            started_at__gte=day_start_utc(workspace, week_start),
            started_at__lt=day_start_utc(workspace, week_start + timedelta(days=7)),
        )
        .order_by("started_at", "id")
    )
    timesheet = Timesheet.objects.filter(member=member, week_start=week_start).select_related("decided_by").first()
    seconds_by_day: dict[date, int] = dict.fromkeys(days, 0)
    by_project: dict[int, ProjectTotal] = {}
    total = drafts = 0
    running = None
    for entry in entries:
        if entry.duration_seconds is None:
            running = entry
            continue
        if entry.state == EntryState.DRAFT:
            drafts += entry.duration_seconds
            continue
        seconds_by_day[local_date(workspace, entry.started_at)] += entry.duration_seconds
        by_project.setdefault(entry.project_id, ProjectTotal(entry.project_id, entry.project.name, 0))
        by_project[entry.project_id].seconds += entry.duration_seconds
        total += entry.duration_seconds
    return TimesheetWeek(
        member=member,
        week_start=week_start,
        status=timesheet.status if timesheet else TimesheetStatus.OPEN,
        timesheet=timesheet,
        lock_reason=entry_lock_reason(workspace=workspace, member=member, day=week_start + timedelta(days=6)),
        entries=entries,
        days=days,
        seconds_by_day=seconds_by_day,
        projects=sorted(by_project.values(), key=lambda p: p.project_name),
        total_seconds=total,
        draft_seconds=drafts,
        running=running,
    )


def timesheet_list(
    *,
    actor: Principal,
    status: str | None = None,
    member: Membership | None = None,
    week_start_from: date | None = None,
    week_start_to: date | None = None,
) -> QuerySet[Timesheet]:
    """Timesheets the caller may see (approvals: managers and up see every member's).

    ``week_start_from`` / ``week_start_to`` bound the weeks' first days, both inclusive.
    """
    qs = Timesheet.objects.filter(workspace=actor.workspace).select_related("member__user", "decided_by")
    if member is not None:
        if not policies.can_view_time_of(actor, member):
            raise Forbidden("You can only see your own timesheets.")
        qs = qs.filter(member=member)
    elif not policies.can(actor, Perm.TIME_VIEW_ALL):
        policies.ensure(actor, Perm.TIME_VIEW_OWN)
        qs = qs.filter(member=actor.membership)
    if status is not None:
        qs = qs.filter(status=status)
    if week_start_from is not None:
        qs = qs.filter(week_start__gte=week_start_from)
    if week_start_to is not None:
        qs = qs.filter(week_start__lte=week_start_to)
    return qs.order_by("-week_start", "member__user__username")


def timesheet_totals(*, workspace: Workspace, timesheets: Sequence[Timesheet]) -> dict[int, int]:
    """Active seconds in each of ``timesheets`` (drafts and running timers apart), summed by the
    database per member and local day in one query."""
    if not timesheets:
        return {}
    first = min(t.week_start for t in timesheets)
    last = max(t.week_start for t in timesheets) + timedelta(days=7)
    by_day = (
        TimeEntry.objects.filter(
            workspace=workspace,
            member_id__in={t.member_id for t in timesheets},
            state=EntryState.ACTIVE,
            duration_seconds__isnull=False,
            started_at__gte=day_start_utc(workspace, first),
            started_at__lt=day_start_utc(workspace, last),
        )
        .annotate(day=TruncDate("started_at", tzinfo=workspace.tzinfo))
        .values_list("member_id", "day")
        .annotate(seconds=Sum("duration_seconds"))
    )
    seconds: dict[tuple[int, date], int] = {}
    for member_id, day, total in by_day:
        key = (member_id, week_start_for(workspace, day))
        seconds[key] = seconds.get(key, 0) + total
    return {t.pk: seconds.get((t.member_id, t.week_start), 0) for t in timesheets}


def timesheet_get(*, actor: Principal, timesheet_id: object) -> Timesheet:
    return get_or_not_found(timesheet_list(actor=actor), timesheet_id, label="Timesheet")


@dataclass
class GridCell:
    day: date
    seconds: int = 0
    entry_ids: list[int] = field(default_factory=list)
    running: bool = False
    lock_reason: str | None = None

    @property
    def editable(self) -> bool:
        """One finished entry or none, on an unlocked day: the grid may set its total."""
        return self.lock_reason is None and not self.running and len(self.entry_ids) <= 1

    @property
    def why_read_only(self) -> str:
        if self.lock_reason:
            return self.lock_reason
        if self.running:
            return "A timer is running in this cell; stop it first."
        if len(self.entry_ids) > 1:
            return f"{len(self.entry_ids)} entries; change them one by one in the entries list."
        return ""


@dataclass
class GridRow:
    project: Project
    task: Task | None
    cells: list[GridCell]

    @property
    def key(self) -> str:
        return f"{self.project.pk}-{self.task.pk if self.task else 0}"

    @property
    def total(self) -> int:
        return sum(cell.seconds for cell in self.cells)


@dataclass
class WeekGrid:
    week: TimesheetWeek
    rows: list[GridRow]
    day_totals: list[int]
    total: int
    previous_week: date
    next_week: date
    lock_reason: str | None

    @property
    def member(self) -> Membership:
        return self.week.member


def parse_row_keys(values: Iterable[str]) -> list[RowKey]:
    """``"12-0"`` / ``"12-5"`` (project-task, 0 for no task) → keys; unreadable values are skipped."""
    keys: list[RowKey] = []
    for value in values:
        project_id, _, task_id = value.partition("-")
        if project_id.isdigit() and (task_id.isdigit() or task_id == ""):
            keys.append((int(project_id), (int(task_id) or None) if task_id else None))
    return keys


def _day_lock(grid_week: TimesheetWeek, day: date) -> str | None:
    workspace = grid_week.member.workspace
    if workspace.lock_date is not None and day <= workspace.lock_date:
        return f"{day:%Y-%m-%d} is on or before the workspace lock date ({workspace.lock_date:%Y-%m-%d})."
    if grid_week.status in LOCKING_STATUSES:
        return f"This week is {grid_week.status}; ask an admin to reopen it to change its time."
    return None


def week_grid_get(
    *, actor: Principal, week_start: date, member: Membership | None = None, extra_rows: Iterable[RowKey] = ()
) -> WeekGrid:
    """One member-week as a grid: a row per project/task with time (drafts stay in the review
    queue), plus ``extra_rows`` the caller may log to (added or copied rows, still empty)."""
    week = timesheet_week_get(actor=actor, member=member, week_start=week_start)
    workspace = week.member.workspace
    locks = [_day_lock(week, day) for day in week.days]
    rows: dict[RowKey, GridRow] = {}

    def row_for(project: Project, task: Task | None) -> GridRow:
        key = (project.pk, task.pk if task else None)
        if key not in rows:
            cells = [GridCell(day=day, lock_reason=lock) for day, lock in zip(week.days, locks, strict=True)]
            rows[key] = GridRow(project=project, task=task, cells=cells)
        return rows[key]

    for entry in week.entries:
        if entry.state == EntryState.DRAFT:
            continue
        cell = row_for(entry.project, entry.task).cells[
            (local_date(workspace, entry.started_at) - week.week_start).days
        ]
        cell.entry_ids.append(entry.pk)
        if entry.duration_seconds is None:
            cell.running = True
        else:
            cell.seconds += entry.duration_seconds
    wanted = [key for key in dict.fromkeys(extra_rows) if key not in rows]
    if wanted:
        projects = {p.pk: p for p in project_list(actor=actor).filter(pk__in={k[0] for k in wanted})}
        tasks = {t.pk: t for t in task_list(actor=actor).filter(pk__in={k[1] for k in wanted if k[1]})}
        for project_id, task_id in wanted:
            project, task = projects.get(project_id), tasks.get(task_id) if task_id else None
            if project is not None and (task_id is None or (task is not None and task.project_id == project.pk)):
                row_for(project, task)
    ordered = sorted(rows.values(), key=lambda r: (r.project.name.lower(), r.task.name.lower() if r.task else ""))
    day_totals = [sum(row.cells[i].seconds for row in ordered) for i in range(7)]
    return WeekGrid(
        week=week,
        rows=ordered,
        day_totals=day_totals,
        total=sum(day_totals),
        previous_week=week.week_start - timedelta(days=7),
        next_week=week.week_start + timedelta(days=7),
        lock_reason=locks[-1] if all(locks) else None,
    )


def week_row_keys(*, actor: Principal, week_start: date, member: Membership | None = None) -> list[RowKey]:
    """The project/task rows a member had in a week (to copy them into another week)."""
    member = member or actor.membership
    start = week_start_for(member.workspace, week_start)
    rows: QuerySet[TimeEntry] = time_entry_filter(
        actor=actor, member=member, state=EntryState.ACTIVE, date_from=start, date_to=start + timedelta(days=6)
    )
    return [(p, t) for p, t in rows.values_list("project_id", "task_id").distinct().order_by("project_id", "task_id")]
