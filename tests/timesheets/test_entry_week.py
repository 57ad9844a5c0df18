"""TimeEntry.week_start: the workspace week an entry counts in, kept on every write and moved when
the workspace's time zone or first weekday changes (through its service or Django admin)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.unbilled import unbilled
from tests.factories import ClientFactory, ProjectFactory, TimeEntryFactory, TimesheetFactory, WorkspaceFactory
from tests.workspaces.test_admin import form_data, form_errors, superuser, superuser_client  # noqa: F401
from timesheets.models import TimeEntry, TimesheetStatus, workspace_week
from timesheets.services import entry_weeks_recompute, time_entry_update
from workspaces.services import workspace_update

pytestmark = pytest.mark.django_db

# Sunday 31 May 2026, 23:30 UTC: already Monday 1 June in Berlin (UTC+2), still Sunday in UTC.
LATE_SUNDAY_UTC = datetime(2026, 5, 31, 23, 30, tzinfo=UTC)
MONDAY = date(2026, 6, 1)
PREVIOUS_MONDAY = date(2026, 5, 25)


def entry_at(member, project, started_at, seconds=1800, **kwargs):
    return TimeEntryFactory(
        member=member, project=project, started_at=started_at, ended_at=started_at + timedelta(seconds=seconds),
        duration_seconds=seconds, **kwargs,
    )  # fmt: skip


def stored_weeks(workspace) -> dict[int, date]:
    return dict(TimeEntry.objects.filter(workspace=workspace).values_list("id", "week_start"))


def test_an_entry_counts_in_the_week_of_its_local_start(workspace, member, project):
    # given the Berlin workspace, weeks from Monday; an entry at Sunday 23:30 UTC, Monday 01:30 in Berlin
    entry = entry_at(member, project, LATE_SUNDAY_UTC)

    # then it counts in the week from Monday 1 June, not the one its UTC date belongs to
    entry.refresh_from_db()
    assert entry.week_start == MONDAY


def test_moving_an_entry_moves_its_week(as_manager, member, project):
    # given an entry on Monday 1 June, Berlin time
    entry = entry_at(member, project, LATE_SUNDAY_UTC)

    # when a manager moves it back by two hours, to Sunday 23:30 in Berlin
    time_entry_update(
        actor=as_manager,
        entry=entry,
        data={"started_at": LATE_SUNDAY_UTC - timedelta(hours=2), "ended_at": LATE_SUNDAY_UTC - timedelta(hours=1)},
    )

    # then it counts in the week before
    entry.refresh_from_db()
    assert entry.week_start == PREVIOUS_MONDAY


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"timezone": "UTC"}, PREVIOUS_MONDAY),  # Sunday 31 May in UTC: the week from 25 May
        ({"week_start": 6}, date(2026, 5, 31)),  # Monday 1 June in a week from Sunday: from 31 May
    ],
)
def test_a_workspace_setting_that_cuts_weeks_moves_every_entry(as_owner, workspace, member, project, change, expected):
    # given entries spread over a year in this workspace, and one in another workspace
    entries = [entry_at(member, project, LATE_SUNDAY_UTC - timedelta(days=3 * i, hours=i % 24)) for i in range(120)]
    elsewhere = TimeEntryFactory(workspace=WorkspaceFactory(timezone="Asia/Tokyo"))
    elsewhere_week = TimeEntry.objects.get(pk=elsewhere.pk).week_start

    # when the owner changes the setting
    workspace_update(actor=as_owner, data=change)

    # then every entry of the workspace has the week the new setting cuts, computed afresh
    workspace.refresh_from_db()
    weeks = stored_weeks(workspace)
    assert weeks == {e.pk: workspace_week(workspace, e.started_at) for e in entries}
    assert weeks[entries[0].pk] == expected
    # and the other workspace's entries are untouched
    assert TimeEntry.objects.get(pk=elsewhere.pk).week_start == elsewhere_week


def test_other_settings_leave_the_weeks_alone(as_owner, workspace, member, project):
    entry_at(member, project, LATE_SUNDAY_UTC)

    with CaptureQueriesContext(connection) as queries:
        workspace_update(actor=as_owner, data={"name": "Renamed"})

    assert not any("timesheets_timeentry" in q["sql"] for q in queries.captured_queries)


def test_recomputing_the_weeks_is_one_query_whatever_the_number_of_entries(workspace, member, project):
    for i in range(50):
        entry_at(member, project, LATE_SUNDAY_UTC - timedelta(days=i))
    workspace.timezone = "America/Los_Angeles"
    workspace.save(update_fields=["timezone"])

    with CaptureQueriesContext(connection) as queries:
        moved = entry_weeks_recompute(workspace=workspace)

    assert (moved, len(queries.captured_queries)) == (50, 1)
    assert all(
        e.week_start == workspace_week(workspace, e.started_at) for e in TimeEntry.objects.filter(workspace=workspace)
    )


def test_an_admin_change_of_the_time_zone_moves_the_weeks(superuser_client, workspace, member, project):  # noqa: F811
    # given an entry on Monday 1 June in Berlin
    entry = entry_at(member, project, LATE_SUNDAY_UTC)
    url = reverse("admin:workspaces_workspace_change", args=[workspace.pk])
    data = form_data(superuser_client.get(url), "workspace_form")

    # when a superuser sets the workspace to UTC in Django admin
    data["timezone"] = ["UTC"]
    response = superuser_client.post(url, data)

    # then the entry counts in the week of its UTC date, Sunday 31 May
    assert response.status_code == 302, form_errors(response)
    entry.refresh_from_db()
    assert entry.week_start == PREVIOUS_MONDAY


def test_unbilled_time_follows_the_week_the_workspace_cuts(as_owner, workspace, member):
    # given billable client work on Monday 01:30 Berlin time, in the member's approved week from 1 June
    project = ProjectFactory(workspace=workspace, client=ClientFactory(workspace=workspace), team=[member])
    entry_at(member, project, LATE_SUNDAY_UTC, seconds=3600, billable=True, billable_rate=Decimal("100.00"))
    TimesheetFactory(member=member, week_start=MONDAY, status=TimesheetStatus.APPROVED)
    as_of = date(2026, 6, 30)
    assert [p.seconds for c in unbilled(actor=as_owner, as_of=as_of).clients for p in c.projects] == [3600]

    # when the workspace moves to UTC, where that work falls on Sunday, in a week nobody approved
    workspace_update(actor=as_owner, data={"timezone": "UTC"})

    # then it is no longer unbilled time
    assert unbilled(actor=as_owner, as_of=as_of).clients == []


@pytest.mark.parametrize("vendor", ["postgresql", "other"])
def test_the_migration_backfill_matches_the_model(workspace, member, project, vendor):
    # given entries around midnight and across a DST change, in a workspace with weeks from Sunday
    workspace.week_start = 6
    workspace.save(update_fields=["week_start"])
    starts = [LATE_SUNDAY_UTC + timedelta(hours=h) for h in (-2, -1, 0, 1, 22, 23)]
    starts += [datetime(2026, 3, 28, 22, 30, tzinfo=UTC) + timedelta(hours=h) for h in range(4)]  # DST, 29 March
    entries = [entry_at(member, project, start, seconds=600) for start in starts]
    TimeEntry.objects.filter(workspace=workspace).update(week_start=date(2000, 1, 1))

    # when the migration fills the column, by SQL (PostgreSQL) or by the ORM (any other database)
    migration = __import__("timesheets.migrations.0005_entry_week_start", fromlist=["backfill"])
    migration.backfill(apps, SimpleNamespace(connection=SimpleNamespace(vendor=vendor), execute=_execute))

    # then each entry has the week the model computes
    assert stored_weeks(workspace) == {e.pk: workspace_week(workspace, e.started_at) for e in entries}


def _execute(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, ())
