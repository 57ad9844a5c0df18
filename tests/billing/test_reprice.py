"""Repricing: today's rates applied to chosen, unlocked entries — dry run first, never silently."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing import services
from billing.money import amount_for
from tests.factories import ProjectFactory, TimesheetFactory, finished_entry
from tests.timesheets.conftest import MONDAY, berlin
from timesheets.models import TimeEntry, TimesheetStatus
from workspaces.errors import Forbidden
from workspaces.models import AuditEvent


def entry(member, project, day, hour, seconds=3600, rate="100.00", billable=True):
    start = berlin(day, hour)
    return finished_entry(member, project, start, seconds, billable=billable, billable_rate=Decimal(rate))


@pytest.fixture
def priced(member, project):
    project.billable_rate = Decimal("120.00")
    project.save()
    return [entry(member, project, MONDAY, 9), entry(member, project, MONDAY, 11, seconds=5400)]


def test_a_dry_run_reports_the_change_and_writes_nothing(as_admin, priced):
    result = services.entries_reprice(actor=as_admin, dry_run=True)
    assert (result.considered, result.changed, result.skipped_locked) == (2, 2, 0)
    assert result.billable_amount_before == Decimal("250.00")  # 1 h + 1.5 h at 100
    assert result.billable_amount_after == Decimal("300.00")  # at 120
    assert result.billable_amount_delta == Decimal("50.00")
    assert set(TimeEntry.objects.values_list("billable_rate", flat=True)) == {Decimal("100.00")}
    assert AuditEvent.objects.get(action="time_entry.reprice.dry_run").detail["changed"] == 2


def test_applying_updates_the_snapshots_and_is_audited(as_admin, priced, member):
    member.cost_rate = Decimal("45.00")
    member.save()
    result = services.entries_reprice(actor=as_admin, dry_run=False)
    assert result.changed == 2
    assert set(TimeEntry.objects.values_list("billable_rate", "cost_rate")) == {(Decimal("120.00"), Decimal("45.00"))}
    event = AuditEvent.objects.get(action="time_entry.reprice")
    assert event.detail["billable_amount_delta"] == "50.00"
    # a second run finds nothing left to change
    assert services.entries_reprice(actor=as_admin, dry_run=False).changed == 0


def test_locked_entries_are_skipped_and_counted(as_admin, priced, member, workspace):
    TimesheetFactory(member=member, week_start=MONDAY, status=TimesheetStatus.APPROVED)
    next_week = entry(member, priced[0].project, MONDAY + timedelta(days=7), 9)
    workspace.lock_date = MONDAY - timedelta(days=1)
    workspace.save()
    result = services.entries_reprice(actor=as_admin, dry_run=False)
    assert (result.considered, result.changed, result.skipped_locked) == (1, 1, 2)
    assert result.changed_entry_ids == [next_week.pk]
    assert TimeEntry.objects.get(pk=priced[0].pk).billable_rate == Decimal("100.00")


def test_filters_choose_the_entries(as_admin, priced, member, other_member, workspace):
    other_project = ProjectFactory(workspace=workspace, billable_rate=Decimal("80.00"))
    elsewhere = entry(other_member, other_project, MONDAY + timedelta(days=1), 9)
    assert services.entries_reprice(actor=as_admin, project=other_project).changed_entry_ids == [elsewhere.pk]
    assert services.entries_reprice(actor=as_admin, member=member).considered == 2
    assert services.entries_reprice(actor=as_admin, date_from=MONDAY + timedelta(days=1)).considered == 1
    assert services.entries_reprice(actor=as_admin, date_to=MONDAY).considered == 2


@pytest.mark.parametrize("fixture", ["as_member", "as_manager"])
def test_only_admins_reprice(request, priced, fixture):
    with pytest.raises(Forbidden):
        services.entries_reprice(actor=request.getfixturevalue(fixture), dry_run=False)


def test_constant_number_of_queries(as_admin, member, project):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            services.entries_reprice(actor=as_admin, dry_run=False)
        TimeEntry.objects.update(billable_rate=Decimal("1.00"))
        return len(ctx.captured_queries)

    project.billable_rate = Decimal("120.00")
    project.save()
    entry(member, project, MONDAY, 9)
    one = queries()
    for i in range(30):
        entry(member, project, MONDAY - timedelta(days=i + 1), 9)
    assert queries() == one


@pytest.mark.parametrize(
    ("seconds", "rate", "expected"),
    [
        (3600, "100.00", "100.00"),
        (1, "100.00", "0.03"),
        (900, "33.33", "8.33"),
        (60, "0.50", "0.01"),
        (18, "1.00", "0.01"),
    ],
)
def test_amounts_round_half_up_to_cents(seconds, rate, expected):
    assert amount_for(seconds, Decimal(rate)) == Decimal(expected)
