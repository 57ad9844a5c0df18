"""The week grid's write: a cell's total becomes one entry — created, resized, removed — or is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import TimeEntryFactory, TimesheetFactory
from tests.timesheets.web.conftest import at, last_monday
from timesheets.models import TimeEntry, TimesheetStatus
from timesheets.week_selectors import parse_row_keys, week_grid_get, week_row_keys
from timesheets.week_services import week_cell_set
from workspaces.errors import Conflict, Forbidden, Invalid, Locked

pytestmark = pytest.mark.django_db


def cell_entries(member, project, task=None):
    return list(TimeEntry.objects.filter(member=member, project=project, task=task).order_by("started_at"))


def test_an_empty_cell_gets_one_entry_at_nine(as_member, member, project, task, workspace):
    monday = last_monday(workspace)
    entry = week_cell_set(actor=as_member, project=project, task=task, day=monday, seconds=5400)
    assert entry is not None
    assert (entry.started_at, entry.duration_seconds, entry.task) == (at(workspace, monday, 9), 5400, task)


def test_a_cell_of_one_entry_is_resized_from_its_start_and_zero_removes_it(as_member, member, project, workspace):
    monday = last_monday(workspace)
    first = week_cell_set(actor=as_member, project=project, task=None, day=monday, seconds=3600)
    resized = week_cell_set(actor=as_member, project=project, task=None, day=monday, seconds=9000)
    assert resized is not None
    assert first is not None
    assert (resized.pk, resized.started_at, resized.duration_seconds) == (first.pk, first.started_at, 9000)
    assert week_cell_set(actor=as_member, project=project, task=None, day=monday, seconds=0) is None
    assert cell_entries(member, project) == []


def test_a_cell_of_several_entries_or_a_running_timer_is_not_the_grids_to_change(as_member, member, project, workspace):
    monday = last_monday(workspace)
    TimeEntryFactory(
        member=member, project=project, started_at=at(workspace, monday, 9), ended_at=at(workspace, monday, 10)
    )
    TimeEntryFactory(
        member=member, project=project, started_at=at(workspace, monday, 11), ended_at=at(workspace, monday, 12)
    )
    with pytest.raises(Conflict, match="several entries"):
        week_cell_set(actor=as_member, project=project, task=None, day=monday, seconds=3600)
    assert [e.duration_seconds for e in cell_entries(member, project)] == [3600, 3600]


def test_a_locked_week_refuses_and_keeps_the_time(as_member, member, project, workspace):
    monday = last_monday(workspace)
    week_cell_set(actor=as_member, project=project, task=None, day=monday, seconds=3600)
    TimesheetFactory(member=member, week_start=monday, status=TimesheetStatus.SUBMITTED)
    with pytest.raises(Locked):
        week_cell_set(actor=as_member, project=project, task=None, day=monday, seconds=7200)
    assert [e.duration_seconds for e in cell_entries(member, project)] == [3600]


def test_bounds_and_other_peoples_cells(as_member, other_member, project, workspace):
    monday = last_monday(workspace)
    with pytest.raises(Invalid):
        week_cell_set(actor=as_member, project=project, task=None, day=monday, seconds=25 * 3600)
    with pytest.raises(Forbidden):
        week_cell_set(actor=as_member, member=other_member, project=project, task=None, day=monday, seconds=60)


def test_the_grid_sums_rows_and_days_and_leaves_drafts_out(as_member, member, project, task, workspace):
    monday = last_monday(workspace)
    TimeEntryFactory(
        member=member,
        project=project,
        task=task,
        started_at=at(workspace, monday, 9),
        ended_at=at(workspace, monday, 11),
    )
    TimeEntryFactory(
        member=member, project=project, started_at=at(workspace, monday, 12), ended_at=at(workspace, monday, 13)
    )
    tuesday = monday + timedelta(days=1)
    TimeEntryFactory(
        member=member, project=project, started_at=at(workspace, tuesday, 9), ended_at=at(workspace, tuesday, 10)
    )
    TimeEntryFactory(
        member=member,
        project=project,
        state="draft",
        started_at=at(workspace, tuesday, 14),
        ended_at=at(workspace, tuesday, 18),
    )

    grid = week_grid_get(actor=as_member, week_start=monday + timedelta(days=3))

    assert grid.week.week_start == monday
    assert [(row.project.name, row.task.name if row.task else None, row.total) for row in grid.rows] == [
        ("Website", None, 7200),
        ("Website", "Design", 7200),
    ]
    assert grid.day_totals[:3] == [10800, 3600, 0]
    assert grid.total == 14400
    assert grid.week.draft_seconds == 4 * 3600


def test_extra_rows_are_limited_to_projects_the_member_may_log_to(as_member, member, project, task, workspace):
    from tests.factories import ProjectFactory

    not_theirs = ProjectFactory(workspace=workspace, name="Internal")
    keys = parse_row_keys([f"{project.pk}-{task.pk}", f"{not_theirs.pk}-0", "junk", f"{project.pk}-0"])
    grid = week_grid_get(actor=as_member, week_start=last_monday(workspace), extra_rows=keys)
    assert [(row.project.name, row.task.name if row.task else None) for row in grid.rows] == [
        ("Website", None),
        ("Website", "Design"),
    ]
    assert all(row.total == 0 for row in grid.rows)


def test_copying_rows_reads_last_weeks_project_task_pairs(as_member, member, project, task, workspace):
    monday = last_monday(workspace)
    TimeEntryFactory(
        member=member,
        project=project,
        task=task,
        started_at=at(workspace, monday, 9),
        ended_at=at(workspace, monday, 10),
    )
    TimeEntryFactory(
        member=member,
        project=project,
        task=task,
        started_at=at(workspace, monday, 11),
        ended_at=at(workspace, monday, 12),
    )
    assert week_row_keys(actor=as_member, week_start=monday) == [(project.pk, task.pk)]
