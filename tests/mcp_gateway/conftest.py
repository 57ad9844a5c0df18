"""Shared data for the in-process tool tests: projects, another workspace, entries a person logged."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.conftest import principal_for
from tests.factories import MembershipFactory, ProjectFactory, TimeEntryFactory, WorkspaceFactory
from timesheets.services import time_entry_create
from workspaces.models import Role

YESTERDAY_NOON = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)


@pytest.fixture
def billable_project(workspace, member, other_member):
    project = ProjectFactory(
        workspace=workspace,
        name="Website",
        billable_by_default=True,
        billable_rate=Decimal("100.00"),
        budget_hours=Decimal("10"),
        team=[member, other_member],
    )
    member.cost_rate = Decimal("40.00")
    member.save()
    return project


@pytest.fixture
def internal_project(workspace, member):
    return ProjectFactory(workspace=workspace, client=None, name="Internal", billable_by_default=False, team=[member])


@pytest.fixture
def elsewhere(db):
    """Another workspace with its own client, project, member and entry."""
    other = WorkspaceFactory(name="Globex", slug="globex")
    stranger = MembershipFactory(workspace=other, role=Role.MEMBER)
    project = ProjectFactory(workspace=other, team=[stranger])
    entry = TimeEntryFactory(member=stranger, project=project)
    return {"workspace": other, "member": stranger, "project": project, "client": project.client, "entry": entry}


def human_entry(member, project, *, hours: int = 1, started_at=None):
    start = started_at or YESTERDAY_NOON
    return time_entry_create(
        actor=principal_for(member), project=project, started_at=start, ended_at=start + timedelta(hours=hours)
    )
