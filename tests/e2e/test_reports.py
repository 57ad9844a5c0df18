"""Reports in the browser: each report draws its chart from real data, nothing fetched from elsewhere."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tests.e2e.conftest import sign_in, with_password
from tests.factories import (
    ClientFactory,
    MembershipFactory,
    ProjectFactory,
    TimeEntryFactory,
    TimesheetFactory,
    WorkspaceFactory,
)
from timesheets.models import TimesheetStatus
from timesheets.selectors import local_date, week_start_for
from workspaces.models import Role

pytestmark = pytest.mark.django_db(transaction=True)

REPORTS = [
    ("reports/?group_by=project", "Website"),
    ("reports/?group_by=member", "mia"),
    ("reports/utilization", "mia"),
    ("reports/budget", "Website"),
    ("reports/unbilled", "Initech"),
    ("reports/profitability", "Website"),
]


@pytest.fixture
def owner_and_period():
    workspace = WorkspaceFactory(name="Acme Studio", slug="acme", timezone="Europe/Berlin")
    owner = with_password(MembershipFactory(workspace=workspace, role=Role.OWNER, user__username="olivia"))
    mia = MembershipFactory(workspace=workspace, role=Role.MEMBER, user__username="mia", cost_rate=Decimal("40"))
    initech = ClientFactory(workspace=workspace, name="Initech")
    website = ProjectFactory(
        workspace=workspace,
        client=initech,
        name="Website",
        team=[mia],
        budget_hours=Decimal("20"),
        billable_rate=Decimal("100"),
    )
    # Last week, approved: in every report, unbilled included.
    monday = week_start_for(workspace, local_date(workspace, timezone.now())) - timedelta(days=7)
    for offset in range(3):
        start = datetime.combine(monday + timedelta(days=offset), time(9), tzinfo=workspace.tzinfo)
        TimeEntryFactory(
            member=mia,
            project=website,
            started_at=start,
            ended_at=start + timedelta(hours=2),
            billable_rate=Decimal("100"),
            cost_rate=Decimal("40"),
        )
    TimesheetFactory(member=mia, week_start=monday, status=TimesheetStatus.APPROVED)
    period = f"date_from={monday.isoformat()}&date_to={(monday + timedelta(days=6)).isoformat()}"
    return owner, period


def chart_points(page: Page) -> int:
    """How many values the page's Chart.js chart drew in its first dataset."""
    return page.evaluate(
        """() => {
          const canvas = document.querySelector("canvas[data-chart]");
          const chart = canvas && window.Chart && window.Chart.getChart(canvas);
          return chart ? chart.data.datasets[0].data.length : 0;
        }"""
    )


@pytest.mark.parametrize(("path", "label"), REPORTS)
def test_each_report_draws_its_chart(page: Page, owner_and_period, path, label):
    owner, period = owner_and_period
    sign_in(page, owner)
    page.goto(f"/w/acme/{path}{'&' if '?' in path else '?'}{period}")
    canvas = page.locator("canvas[data-chart]")
    expect(canvas).to_be_visible()
    page.wait_for_function("() => window.Chart && window.Chart.getChart(document.querySelector('canvas[data-chart]'))")
    assert chart_points(page) >= 1
    box = canvas.bounding_box()
    assert box is not None
    assert box["width"] > 100
    assert box["height"] > 100
    expect(page.locator("main table").first).to_contain_text(label)  # the same numbers as a table
