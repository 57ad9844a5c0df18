"""TimeEntry.billable_cent_seconds: the entry's billable rate in cents × its seconds, computed by
PostgreSQL on every write (a stored generated column), so that budgets, unbilled time and revenue
sum an integer instead of multiplying a numeric rate per row. Every way an entry's seconds or rate
change is followed, and the money read from the sums is the money of the rates, rounded once."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from billing import services as billing_services
from billing.money import money_of_cent_seconds
from billing.reports import profitability
from billing.selectors import budget_health
from tests.factories import ProjectFactory, TaskFactory, finished_entry
from tests.timesheets.conftest import MONDAY, berlin
from timesheets.models import TimeEntry
from timesheets.services import time_entry_create, time_entry_update
from timesheets.timer_services import timer_start, timer_stop

pytestmark = pytest.mark.django_db


def stored(entry: TimeEntry) -> int | None:
    return TimeEntry.objects.values_list("billable_cent_seconds", flat=True).get(pk=entry.pk)


def test_the_database_computes_it_for_an_entry_logged_through_the_service(as_member, project):
    # given a project at 99.99 an hour
    project.billable_rate = Decimal("99.99")
    project.save()

    # when the member logs 1 h 0 min 7 s
    entry = time_entry_create(
        actor=as_member, project=project, started_at=berlin(MONDAY, 9), ended_at=berlin(MONDAY, 10, 0, 7)
    )

    # then the entry holds 9 999 cents × 3 607 s, exactly
    assert entry.billable_rate == Decimal("99.99")
    assert stored(entry) == 9999 * 3607


def test_it_follows_a_change_of_duration_and_of_the_rate_a_new_task_brings(as_member, project):
    project.billable_rate = Decimal("100.00")
    project.save()
    task = TaskFactory(project=project, billable_rate=Decimal("150.50"))
    entry = time_entry_create(
        actor=as_member, project=project, started_at=berlin(MONDAY, 9), ended_at=berlin(MONDAY, 10)
    )

    # when the entry is made 30 minutes longer
    entry = time_entry_update(actor=as_member, entry=entry, data={"ended_at": berlin(MONDAY, 10, 30)})
    assert stored(entry) == 10000 * 5400

    # and moved to a task with its own rate (the project, so the rates, re-resolved)
    entry = time_entry_update(actor=as_member, entry=entry, data={"project": project, "task": task})
    assert entry.billable_rate == Decimal("150.50")
    assert stored(entry) == 15050 * 5400


def test_a_running_timer_has_none_until_it_stops(as_member, project):
    project.billable_rate = Decimal("80.00")
    project.save()
    started = berlin(MONDAY, 9)

    running = timer_start(actor=as_member, project=project, started_at=started)
    assert stored(running) is None

    stopped = timer_stop(actor=as_member, ended_at=started + timedelta(minutes=45))
    assert stored(stopped) == 8000 * 2700


def test_repricing_reprices_it(as_admin, member, project):
    # given two entries snapshotted at 100.00, and the project's rate now 120.00
    entries = [
        finished_entry(member, project, berlin(MONDAY, h), 3600, billable=True, billable_rate=Decimal("100.00"))
        for h in (9, 11)
    ]
    project.billable_rate = Decimal("120.00")
    project.save()

    # when an admin applies today's rates (bulk_update, no save() per entry)
    billing_services.entries_reprice(actor=as_admin, dry_run=False)

    # then the stored amounts follow the new snapshots
    assert [stored(e) for e in entries] == [12000 * 3600, 12000 * 3600]


def test_an_entry_without_a_rate_has_none_and_counts_nothing(as_manager, member, workspace):
    project = ProjectFactory(workspace=workspace, budget_amount=Decimal("1000.00"))
    entry = finished_entry(member, project, berlin(MONDAY, 9), 3600, billable=True, billable_rate=None)

    assert stored(entry) is None
    [health] = budget_health(actor=as_manager, as_of=MONDAY)
    assert (health.used_hours, health.used_amount) == (Decimal("1.00"), Decimal("0.00"))


def test_the_largest_rate_for_a_whole_day_fits_and_stays_exact(member, project):
    # the rate's column holds 12 digits, 2 of them decimals; an entry lasts at most 24 h
    rate = Decimal("9999999999.99")
    entry = finished_entry(member, project, berlin(MONDAY, 0), 86_400, billable=True, billable_rate=rate)

    assert stored(entry) == 999_999_999_999 * 86_400
    assert money_of_cent_seconds(stored(entry)) == rate * 24


def test_sums_are_rounded_once_as_the_rates_multiplied_out_would_be(as_manager, member, workspace):
    # given 3 one-second billable entries at 100.00 an hour: 0.0277… each, 0.0833… together
    project = ProjectFactory(workspace=workspace, budget_amount=Decimal("10.00"))
    for second in range(3):
        finished_entry(
            member, project, berlin(MONDAY, 9, 0, 2 * second), 1, billable=True, billable_rate=Decimal("100")
        )

    # then budgets and revenue give 0.08 (the sum rounded), not 0.09 (three roundings of 0.03)
    [health] = budget_health(actor=as_manager, as_of=MONDAY)
    assert health.used_amount == Decimal("0.08")
    [row] = profitability(actor=as_manager, date_from=MONDAY, date_to=MONDAY).rows
    assert row.revenue == Decimal("0.08")


def test_it_is_a_stored_generated_column_on_postgresql():
    # a write path that bypasses the ORM (COPY, raw SQL, a future bulk import) cannot set it wrong
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT is_generated, generation_expression FROM information_schema.columns"
            " WHERE table_name = 'timesheets_timeentry' AND column_name = 'billable_cent_seconds'"
        )
        is_generated, expression = cursor.fetchone()
    assert is_generated == "ALWAYS"
    assert "billable_rate" in expression
    assert "duration_seconds" in expression
