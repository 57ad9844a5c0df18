"""An agent's write on the wire: what its transaction sends, in how many round trips (libpq's
trace of the connection, as ``tests/timetracker/test_fetch_together.py`` counts them)."""

from __future__ import annotations

from typing import Any

import pytest

import mcp_gateway.registry
from tests.mcp_gateway.helpers import agent, call, ok
from tests.timetracker.wire import round_trips_with, wire
from timesheets.models import TimeEntry

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def one_connection(monkeypatch: Any) -> None:
    """The tool call keeps the test's connection (it drops a connection past its age, as Django
    does around a request): the trace follows that connection."""
    monkeypatch.setattr(mcp_gateway.registry, "close_old_connections", lambda: None)


def test_an_agents_write_sends_its_services_savepoint_with_the_members_lock(one_connection, member, internal_project):
    caller = agent(member)
    ok(call(caller, "log_time", project_id=internal_project.pk, date="yesterday", duration="1h"))

    with wire() as trips:
        data = ok(call(caller, "log_time", project_id=internal_project.pk, date="yesterday", duration="1h"))

    # The service's atomic block inside the tool call's transaction is a savepoint: sent with the
    # member's lock and its reads, not in a round trip of its own.
    (lock_trip,) = round_trips_with(trips, "FOR UPDATE")
    assert round_trips_with(trips, '"SAVEPOINT ') == [lock_trip]
    assert round_trips_with(trips, "RELEASE SAVEPOINT") == [lock_trip + 3]  # after the INSERT and its event
    assert round_trips_with(trips, "COMMIT") == [len(trips) - 1]
    assert len(trips) == 9
    assert TimeEntry.objects.get(pk=data["entry"]["id"]).duration_seconds == 3600
