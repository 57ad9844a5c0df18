from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from timesheets.selectors import local_date, week_start_for
from workspaces.models import Workspace


def last_monday(workspace: Workspace) -> date:
    """The first day of last week: wholly in the past, so the grid and the services accept any day of it."""
    return week_start_for(workspace, local_date(workspace, timezone.now())) - timedelta(days=7)


def at(workspace: Workspace, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=workspace.tzinfo)


@pytest.fixture
def monday(workspace) -> date:
    return last_monday(workspace)


@pytest.fixture
def member_client(client, member):
    client.force_login(member.user)
    return client


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager.user)
    return client
