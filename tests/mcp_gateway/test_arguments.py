"""How the tools read durations and days as a model writes them."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from mcp_gateway.arguments import day
from timesheets.durations import duration_seconds
from workspaces.errors import Invalid

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("text", "seconds"), [("90m", 5400), ("1h30m", 5400), ("1.5h", 5400), ("1:30", 5400), ("2", 7200), ("45 min", 2700)]
)
def test_durations_read_as_a_person_writes_them(text, seconds):
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "0m", "25h", "1h-3m", "-1"])
def test_unreadable_durations_are_invalid(text):
    with pytest.raises(Invalid):
        duration_seconds(text)


def test_days_are_read_in_the_workspace_time_zone(workspace):
    today = timezone.localtime(timezone.now(), workspace.tzinfo).date()
    assert day("today", workspace=workspace) == today
    assert day("yesterday", workspace=workspace) == today - timedelta(days=1)
    monday = day("monday", workspace=workspace)
    assert monday.weekday() == 0
    assert 0 <= (today - monday).days < 7
    assert day("2026-01-05", workspace=workspace) == date(2026, 1, 5)
    with pytest.raises(Invalid):
        day("next tuesday", workspace=workspace)
