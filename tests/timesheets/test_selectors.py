"""Reads of time: scoping to the workspace and the caller, filters, week totals, constant queries."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models.functions import TruncDate
from django.test.utils import CaptureQueriesContext

from tests.factories import ClientFactory, MembershipFactory, ProjectFactory, TagFactory, TaskFactory, TimeEntryFactory
from tests.timesheets.conftest import MONDAY, berlin
from timesheets import selectors, week_selectors
from timesheets.models import EntryState, TimeEntry, TimesheetStatus
from workspaces.errors import Forbidden, NotFound
from workspaces.models import Role


def entry(member, project, day, hour, hours=1, **kwargs):
    start = berlin(day, hour)
    return TimeEntryFactory(
        member=member, project=project, started_at=start, ended_at=start + timedelta(hours=hours), **kwargs
    )


@pytest.fixture
def foreign_entry(db):
    stranger = MembershipFactory(role=Role.OWNER)
    return entry(stranger, ProjectFactory(workspace=stranger.workspace), MONDAY, 9)


def test_members_see_only_their_own_entries(as_member, member, other_member, project, foreign_entry):
    mine = entry(member, project, MONDAY, 9)
    entry(other_member, project, MONDAY, 9)
    assert list(selectors.time_entry_list(actor=as_member)) == [mine]
    with pytest.raises(Forbidden):
        selectors.time_entry_list(actor=as_member, member=other_member)


def test_managers_see_everyones_entries_in_their_workspace_only(
    as_manager, member, other_member, project, foreign_entry
):
    rows = {entry(member, project, MONDAY, 9).pk, entry(other_member, project, MONDAY, 9).pk}
    assert set(selectors.time_entry_list(actor=as_manager).values_list("pk", flat=True)) == rows
    assert foreign_entry.pk not in set(
        selectors.time_entry_list(actor=as_manager, project=foreign_entry.project).values_list("pk", flat=True)
    )


def test_getting_an_entry_answers_not_found_for_others_and_strangers(
    as_member, as_manager, other_member, project, foreign_entry
):
    theirs = entry(other_member, project, MONDAY, 9)
    for actor, entry_id in [
        (as_member, theirs.pk),
        (as_manager, foreign_entry.pk),
        (as_member, 999_999),
        (as_member, "x"),
    ]:
        with pytest.raises(NotFound, match="Time entry not found"):
            selectors.time_entry_get(actor=actor, entry_id=entry_id)
    assert selectors.time_entry_get(actor=as_manager, entry_id=theirs.pk) == theirs


def test_filters(as_manager, workspace, member, other_member, project):
    client = ClientFactory(workspace=workspace)
    other_project = ProjectFactory(workspace=workspace, client=client, team=[member])
    task = TaskFactory(project=project)
    tag = TagFactory(workspace=workspace)
    a = entry(member, project, MONDAY, 9, task=task, billable=True)
    a.tags.add(tag)
    b = entry(member, other_project, MONDAY, 11, billable=False)
    c = entry(other_member, project, MONDAY + timedelta(days=1), 9, state=EntryState.DRAFT)

    def ids(**filters):
        return set(selectors.time_entry_list(actor=as_manager, **filters).values_list("pk", flat=True))

    assert ids(member=member) == {a.pk, b.pk}
    assert ids(project=project) == {a.pk, c.pk}
    assert ids(client=client) == {b.pk}
    assert ids(task=task) == {a.pk}
    assert ids(tag=tag) == {a.pk}
    assert ids(billable=False) == {b.pk}
    assert ids(state=EntryState.DRAFT) == {c.pk}
    assert ids(date_from=MONDAY + timedelta(days=1)) == {c.pk}
    assert ids(date_to=MONDAY) == {a.pk, b.pk}


def test_date_range_is_cut_in_the_workspace_time_zone(as_member, member, project):
    # 00:30 Tuesday in Berlin is Monday 22:30 UTC: it belongs to Tuesday.
    late = entry(member, project, MONDAY + timedelta(days=1), 0)
    assert list(selectors.time_entry_list(actor=as_member, date_from=MONDAY, date_to=MONDAY)) == []
    assert list(selectors.time_entry_list(actor=as_member, date_from=MONDAY + timedelta(days=1))) == [late]


def test_list_runs_a_constant_number_of_queries(as_manager, workspace, member, project, django_assert_max_num_queries):
    tag = TagFactory(workspace=workspace)

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            rows = list(selectors.time_entry_list(actor=as_manager))
            for row in rows:  # touch everything a face would render
                _ = (row.member.user.username, row.project.name, row.project.client, row.task, list(row.tags.all()))
        return len(ctx.captured_queries)

    first = entry(member, project, MONDAY, 9, task=TaskFactory(project=project))
    first.tags.add(tag)
    one = count_queries()
    for i in range(49):
        e = entry(member, project, MONDAY - timedelta(days=i + 1), 9, task=TaskFactory(project=project))
        e.tags.add(tag)
    assert count_queries() == one
    with django_assert_max_num_queries(2):
        list(selectors.time_entry_list(actor=as_manager))


def test_week_totals_by_day_and_project_leave_drafts_and_the_timer_apart(as_member, member, project, workspace):
    second = ProjectFactory(workspace=workspace, name="Another", team=[member])
    entry(member, project, MONDAY, 9, hours=2)
    entry(member, project, MONDAY + timedelta(days=1), 9, hours=3)
    entry(member, second, MONDAY + timedelta(days=1), 13, hours=1)
    entry(member, project, MONDAY + timedelta(days=2), 9, hours=4, state=EntryState.DRAFT)
    entry(member, project, MONDAY + timedelta(days=7), 9, hours=8)  # next week

    week = week_selectors.timesheet_week_get(actor=as_member, week_start=MONDAY + timedelta(days=3))

    assert week.week_start == MONDAY
    assert week.status == TimesheetStatus.OPEN
    assert week.total_seconds == 6 * 3600
    assert week.draft_seconds == 4 * 3600
    assert week.seconds_by_day[MONDAY] == 2 * 3600
    assert week.seconds_by_day[MONDAY + timedelta(days=1)] == 4 * 3600
    assert sum(week.seconds_by_day.values()) == week.total_seconds
    assert [(p.project_name, p.seconds) for p in week.projects] == [("Another", 3600), (project.name, 5 * 3600)]
    assert len(week.entries) == 4


def test_a_member_cannot_read_another_members_week(as_member, other_member):
    with pytest.raises(Forbidden):
        week_selectors.timesheet_week_get(actor=as_member, member=other_member, week_start=MONDAY)


def test_timer_get_returns_the_running_entry(as_member, member, project):
    assert selectors.timer_get(actor=as_member) is None
    running = TimeEntryFactory(member=member, project=project, ended_at=None, duration_seconds=None)
    assert selectors.timer_get(actor=as_member) == running


@pytest.mark.parametrize("week_start", range(7))
def test_week_start_in_sql_is_week_start_for(workspace, member, project, week_start):
    # given a workspace whose week starts on any day, and entries every 5 hours for two weeks
    # around the night Berlin's clocks go forward (29 March 2026), so some start near local midnight
    workspace.week_start = week_start
    workspace.save(update_fields=["week_start"])
    first = datetime(2026, 3, 21, 22, 30, tzinfo=UTC)
    for hours in range(0, 14 * 24, 5):
        TimeEntryFactory(member=member, project=project, started_at=first + timedelta(hours=hours))

    # when the database cuts each entry's week from its local date
    rows = TimeEntry.objects.filter(workspace=workspace).annotate(
        week=selectors.WeekStart(TruncDate("started_at", tzinfo=workspace.tzinfo), workspace=workspace)
    )

    # then it is the week week_start_for gives in Python
    assert len(rows) == 68
    for row in rows:
        assert row.week == selectors.week_start_for(workspace, selectors.local_date(workspace, row.started_at))


def test_whose_entries_to_list_and_whether_to_look_the_member_up(
    as_manager, as_member, member, other_member, django_assert_num_queries
):
    with django_assert_num_queries(0):
        assert selectors.time_entry_list_member(actor=as_member, member_id=None) == (as_member.membership, False)
        assert selectors.time_entry_list_member(actor=as_member, member_id=member.pk) == (as_member.membership, False)
        # a manager: no query, the page will tell; the member is only a reference by id
        colleague, unverified = selectors.time_entry_list_member(actor=as_manager, member_id=member.pk)
    assert (colleague.pk, colleague.workspace_id, unverified) == (member.pk, member.workspace_id, True)
    # anyone else has the member looked up, and is then refused a colleague's time
    looked_up, unverified = selectors.time_entry_list_member(actor=as_member, member_id=other_member.pk)
    assert (looked_up.pk, looked_up.user_id, unverified) == (other_member.pk, other_member.user_id, False)
    with pytest.raises(Forbidden):
        selectors.time_entry_filter(actor=as_member, member=looked_up)
    with pytest.raises(NotFound):
        selectors.time_entry_list_member(actor=as_member, member_id=10**9)
