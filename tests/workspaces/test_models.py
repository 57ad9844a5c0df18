"""Database constraints and indexes, proven at the database itself (no service in the way).

Each violation is matched on the constraint's name, so the test fails if some other rule
(a foreign key, another unique index) happens to reject the row instead.
"""

import re
from datetime import date, timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from tests.factories import MembershipFactory, TimeEntryFactory, TimesheetFactory, WorkspaceFactory
from timesheets.models import TimeEntry, Timesheet, TimesheetStatus
from workspaces.models import Membership, Workspace

pytestmark = pytest.mark.django_db


def test_one_membership_per_user_and_workspace():
    first = MembershipFactory()

    with pytest.raises(IntegrityError, match="membership_unique_user_workspace"), transaction.atomic():
        MembershipFactory(user=first.user, workspace=first.workspace)

    # the same user in another workspace is fine
    MembershipFactory(user=first.user)
    assert Membership.objects.filter(user=first.user).count() == 2


def test_a_member_cannot_run_two_timers():
    running = TimeEntryFactory(ended_at=None)
    assert running.duration_seconds is None

    with pytest.raises(IntegrityError, match="time_entry_one_running_timer_per_member"), transaction.atomic():
        TimeEntryFactory(member=running.member, project=running.project, ended_at=None)

    assert TimeEntry.objects.filter(member=running.member, ended_at__isnull=True).count() == 1


def test_two_members_may_each_run_a_timer_on_the_same_project():
    running = TimeEntryFactory(ended_at=None)
    colleague = MembershipFactory(workspace=running.workspace)

    TimeEntryFactory(member=colleague, project=running.project, ended_at=None)

    assert TimeEntry.objects.filter(project=running.project, ended_at__isnull=True).count() == 2


def test_a_finished_entry_and_a_running_timer_coexist():
    finished = TimeEntryFactory()

    TimeEntryFactory(member=finished.member, project=finished.project, ended_at=None)

    assert TimeEntry.objects.filter(member=finished.member).count() == 2


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(hours=-1)], ids=["equal", "before"])
def test_an_entry_ends_after_it_starts(offset):
    entry = TimeEntryFactory()

    with pytest.raises(IntegrityError, match="time_entry_ends_after_start"), transaction.atomic():
        TimeEntryFactory(member=entry.member, ended_at=entry.started_at + offset, duration_seconds=1)


@pytest.mark.parametrize("seconds", [0, 86_401, None])
def test_a_finished_entry_outside_1_second_to_24_hours_is_refused(seconds):
    with pytest.raises(IntegrityError, match="time_entry_duration_1s_to_24h"), transaction.atomic():
        TimeEntryFactory(duration_seconds=seconds)


@pytest.mark.parametrize("seconds", [1, 3_600, 86_400])
def test_a_finished_entry_of_1_second_to_24_hours_is_stored(seconds):
    entry = TimeEntryFactory(duration_seconds=seconds)

    assert TimeEntry.objects.get(pk=entry.pk).duration_seconds == seconds


def test_a_running_timer_has_no_duration_yet():
    with pytest.raises(IntegrityError, match="time_entry_duration_1s_to_24h"), transaction.atomic():
        TimeEntryFactory(ended_at=None, duration_seconds=3_600)


def test_one_timesheet_per_member_and_week():
    sheet = TimesheetFactory(week_start=date(2026, 6, 1))

    with pytest.raises(IntegrityError, match="timesheet_unique_member_week"), transaction.atomic():
        TimesheetFactory(member=sheet.member, week_start=date(2026, 6, 1))

    TimesheetFactory(member=sheet.member, week_start=date(2026, 6, 8))
    assert Timesheet.objects.filter(member=sheet.member).count() == 2


def test_a_rejected_timesheet_needs_a_reason():
    with pytest.raises(IntegrityError, match="timesheet_rejection_has_reason"), transaction.atomic():
        TimesheetFactory(status=TimesheetStatus.REJECTED, rejection_reason="")

    sheet = TimesheetFactory(status=TimesheetStatus.REJECTED, rejection_reason="Split the workshop hours")
    assert Timesheet.objects.get(pk=sheet.pk).status == TimesheetStatus.REJECTED


@pytest.mark.parametrize("week_start", [0, 6])
def test_week_start_0_to_6_is_stored(week_start):
    workspace = WorkspaceFactory(week_start=week_start)

    assert Workspace.objects.get(pk=workspace.pk).week_start == week_start


def test_week_start_beyond_sunday_is_refused():
    with pytest.raises(IntegrityError, match="workspace_week_start_0_6"), transaction.atomic():
        WorkspaceFactory(week_start=7)


def _index_definitions(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s", [table]
        )
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.parametrize(
    "columns",
    [
        "workspace_id, member_id, started_at",
        "workspace_id, started_at",
        "project_id, started_at",
    ],
)
def test_time_entries_are_indexed_for_the_filters_the_faces_offer(columns):
    definitions = _index_definitions("timesheets_timeentry")

    assert any(f"USING btree ({columns})" in d for d in definitions), definitions


def test_the_running_timer_index_is_unique_and_partial():
    definitions = _index_definitions("timesheets_timeentry")

    partial_unique = re.compile(
        r"^CREATE UNIQUE INDEX \S+ ON \S+ USING btree \(member_id\) WHERE \(ended_at IS NULL\)$"
    )
    assert any(partial_unique.match(d) for d in definitions), definitions
