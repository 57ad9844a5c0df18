"""REST and MCP give the same numbers for the same principal and data: entries and every report."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests.conftest import principal_for
from tests.factories import MembershipFactory, ProjectFactory, TimeEntryFactory
from tests.mcp_gateway.helpers import call, ok
from timesheets.models import EntryState
from workspaces import connection_services
from workspaces.connection_selectors import connection_for_api_key, connection_principal
from workspaces.models import Channel, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def principal_pair(workspace, owner):
    """One API key of an owner with sensitive access: its REST client and its MCP principal."""
    key = connection_services.api_key_create(
        actor=principal_for(owner), label="parity", scopes=["read", "write", "admin"], allow_sensitive=True
    )
    connection = connection_for_api_key(key.secret)
    assert connection is not None
    mcp = connection_principal(connection, channel=Channel.MCP)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.secret}")
    return client, mcp


@pytest.fixture
def data(workspace, owner):
    people = [MembershipFactory(workspace=workspace, role=Role.MEMBER, cost_rate=Decimal("35.00")) for _ in range(3)]
    projects = [
        ProjectFactory(workspace=workspace, billable_rate=Decimal(rate), budget_hours=Decimal("40"), team=people)
        for rate in ("90.00", "120.00")
    ]
    start = timezone.now().replace(hour=7, minute=0, second=0, microsecond=0) - timedelta(days=3)
    for index, person in enumerate(people):
        for day in range(3):
            started = start + timedelta(days=day, hours=index)
            TimeEntryFactory(
                member=person,
                project=projects[(index + day) % 2],
                started_at=started,
                ended_at=started + timedelta(minutes=45 * (day + 1)),
                billable=day != 1,
                billable_rate=projects[(index + day) % 2].billable_rate,
                cost_rate=Decimal("35.00"),
                state=EntryState.DRAFT if (index, day) == (2, 2) else EntryState.ACTIVE,
            )
    today = timezone.localtime(timezone.now(), workspace.tzinfo).date()
    return {"from": (today - timedelta(days=10)).isoformat(), "to": today.isoformat()}


def rest(client, path: str, **query) -> dict:
    response = client.get(f"/api/v1/workspaces/acme/{path}", query)
    assert response.status_code == 200, response.content
    return response.json()


def test_entries_are_the_same_through_both_faces(principal_pair, data):
    client, mcp = principal_pair
    over_rest = rest(client, "time-entries", date_from=data["from"], date_to=data["to"], limit=200)["results"]
    people = {entry["member"] for entry in over_rest}
    over_mcp = []
    for member_id in people:
        over_mcp += ok(
            call(mcp, "list_time_entries", member_id=member_id, date_from=data["from"], date_to=data["to"], limit=200)
        )["items"]
    assert len(over_rest) == 9
    key = lambda e: e["id"]  # noqa: E731
    assert sorted(over_mcp, key=key) == sorted(over_rest, key=key)


@pytest.mark.parametrize("group_by", ["member", "project", "client", "day", "week"])
def test_hours_summary_is_the_same(principal_pair, data, group_by):
    client, mcp = principal_pair
    over_rest = rest(client, "reports/hours-summary", date_from=data["from"], date_to=data["to"], group_by=group_by)
    over_mcp = ok(call(mcp, "hours_summary", date_from=data["from"], date_to=data["to"], group_by=group_by))
    assert over_mcp == over_rest
    assert over_mcp["total_seconds"] > 0


def test_utilization_budget_unbilled_and_profitability_are_the_same(principal_pair, data):
    client, mcp = principal_pair
    period = {"date_from": data["from"], "date_to": data["to"]}
    assert ok(call(mcp, "utilization_report", **period)) == rest(client, "reports/utilization", **period)
    budget = ok(call(mcp, "budget_health"))
    assert budget == rest(client, "reports/budget-health")
    assert len(budget["rows"]) == 2
    assert ok(call(mcp, "unbilled_time")) == rest(client, "reports/unbilled")
    profit = ok(call(mcp, "profitability_report", **period))
    assert profit == rest(client, "reports/profitability", **period)
    assert Decimal(profit["revenue"]) > 0
    assert Decimal(profit["cost"]) > 0
