"""Database constraints and indexes, proven at the database itself (no service in the way)."""

from datetime import date, timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from tests.factories import MembershipFactory, TimeEntryFactory, TimesheetFactory, WorkspaceFactory
from timesheets.models import TimesheetStatus

pytestmark = pytest.mark.django_db


def violates(make) -> bool:
    try:
        with transaction.atomic():
            make()
    except IntegrityError:
        return True
    return False


def test_one_membership_per_user_and_workspace():
    first = MembershipFactory()
    assert violates(lambda: MembershipFactory(user=first.user, workspace=first.workspace))
    assert not violates(lambda: MembershipFactory(user=first.user))


def test_at_most_one_running_timer_per_member():
    running = TimeEntryFactory(ended_at=None, duration_seconds=None)
    assert violates(
        lambda: TimeEntryFactory(member=running.member, project=running.project, ended_at=None, duration_seconds=None)
    )
    # a finished entry next to it, and another member's timer, are fine
    assert not violates(lambda: TimeEntryFactory(member=running.member, project=running.project))
    assert not violates(lambda: TimeEntryFactory(ended_at=None, duration_seconds=None))


def test_an_entry_ends_after_it_starts():
    entry = TimeEntryFactory()
    assert violates(lambda: TimeEntryFactory(member=entry.member, ended_at=entry.started_at, duration_seconds=1))
    assert violates(
        lambda: TimeEntryFactory(
            member=entry.member, ended_at=entry.started_at - timedelta(hours=1), duration_seconds=1
        )
    )


@pytest.mark.parametrize(("seconds", "bad"), [(0, True), (1, False), (86_400, False), (86_401, True), (None, True)])
def test_a_finished_entry_lasts_1_second_to_24_hours(seconds, bad):
    assert violates(lambda: TimeEntryFactory(duration_seconds=seconds)) is bad


def test_one_timesheet_per_member_and_week():
    sheet = TimesheetFactory(week_start=date(2026, 6, 1))
    assert violates(lambda: TimesheetFactory(member=sheet.member, week_start=date(2026, 6, 1)))
    assert not violates(lambda: TimesheetFactory(member=sheet.member, week_start=date(2026, 6, 8)))


def test_a_rejected_timesheet_has_a_reason():
    assert violates(lambda: TimesheetFactory(status=TimesheetStatus.REJECTED, rejection_reason=""))
    assert not violates(lambda: TimesheetFactory(status=TimesheetStatus.REJECTED, rejection_reason="Split it"))


@pytest.mark.parametrize(("week_start", "bad"), [(0, False), (6, False), (7, True)])
def test_week_start_is_a_weekday_number(week_start, bad):
    assert violates(lambda: WorkspaceFactory(week_start=week_start)) is bad


def _indexes(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.parametrize(
    "columns",
    ["(workspace_id, member_id, started_at)", "(workspace_id, project_id, started_at)", "(workspace_id, started_at)"],
)
def test_time_entries_are_indexed_for_the_filters_the_faces_offer(columns):
    assert any(definition.endswith(columns) for definition in _indexes("timesheets_timeentry")), _indexes(
        "timesheets_timeentry"
    )


def test_the_running_timer_index_is_partial_and_unique():
    definitions = _indexes("timesheets_timeentry")
    assert any(
        d.startswith("CREATE UNIQUE INDEX") and "(member_id)" in d and "WHERE (ended_at IS NULL)" in d
        for d in definitions
    ), definitions


def test_a_running_entry_has_no_duration():
    assert violates(lambda: TimeEntryFactory(ended_at=None, duration_seconds=3600))
