"""An agent's write on the wire: what its transaction sends, in how many round trips (libpq's
trace of the connection, as ``tests/timetracker/test_fetch_together.py`` counts them)."""

from __future__ import annotations

from typing import Any

import pytest

import mcp_gateway.registry
from billing.selectors import budget_health
from tests.mcp_gateway.helpers import agent, call, ok
from tests.timetracker.test_postgresql_backend import round_trips_with, wire
from timesheets.member_time import time_entry_warnings
from timesheets.models import TimeEntry

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def one_connection(monkeypatch: Any) -> None:
    """The tool call keeps the test's connection (it drops a connection past its age, as Django
    does around a request): the trace follows that connection."""
    monkeypatch.setattr(mcp_gateway.registry, "close_old_connections", lambda: None)


def test_a_writes_answer_reads_its_budget_and_warnings_in_one_round_trip(one_connection, member, billable_project):
    caller = agent(member)
    day = {"project_id": billable_project.pk, "date": "yesterday", "billable": False}  # saved directly
    ok(call(caller, "log_time", **day, start="08:00", end="16:00"))

    with wire() as trips:
        data = ok(call(caller, "log_time", **day, start="15:00", end="19:00"))

    (budget_trip,) = round_trips_with(trips, 'AS "budget_period"')
    assert round_trips_with(trips, '"duration_seconds") AS "total"') == [budget_trip]  # the day's other time
    entry = TimeEntry.objects.get(pk=data["entry"]["id"])
    assert data["warnings"] == time_entry_warnings(entry=entry)
    assert "It overlaps another entry of the same person." in data["warnings"]
    (health,) = budget_health(actor=caller, project=billable_project)
    assert data["budget"]["project_id"] == health.project_id == billable_project.pk
    assert data["budget"]["used_hours"] == str(health.used_hours) == "12.00"


def test_an_agents_write_makes_five_round_trips(one_connection, member, internal_project):
    caller = agent(member)
    ok(call(caller, "log_time", project_id=internal_project.pk, date="yesterday", duration="1h"))

    with wire() as trips:
        data = ok(call(caller, "log_time", project_id=internal_project.pk, date="yesterday", duration="1h"))

    # 1. BEGIN with the project's read; 2. the savepoint of the service's block with the member's
    # lock and its reads; 3. the entry's INSERT and its audit event with the savepoint's release;
    # 4. the answer's budget and warnings; 5. the call's audit event with the COMMIT.
    assert round_trips_with(trips, "BEGIN") == [0]
    assert round_trips_with(trips, '"SAVEPOINT ') == round_trips_with(trips, "FOR UPDATE") == [1]
    assert round_trips_with(trips, 'INSERT INTO "timesheets_timeentry"') == [2]
    assert round_trips_with(trips, "RELEASE SAVEPOINT") == [2]
    assert round_trips_with(trips, 'AS "budget_period"') == [3]
    assert round_trips_with(trips, 'INSERT INTO "workspaces_auditevent"') == [2, 4]
    assert round_trips_with(trips, "COMMIT") == [4]
    assert len(trips) == 5
    assert TimeEntry.objects.get(pk=data["entry"]["id"]).duration_seconds == 3600
