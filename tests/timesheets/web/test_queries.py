"""Every heavy page renders in the same number of queries for 1 and for 50 rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from tests.factories import MembershipFactory, ProjectFactory, TaskFactory, TimeEntryFactory, TimesheetFactory
from tests.timesheets.web.conftest import at
from timesheets.models import EntryState, TimesheetStatus
from workspaces.models import Role

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("rows", [1, 50])
def test_week_grid(member_client, workspace, member, monday, rows, django_assert_max_num_queries):
    for i in range(rows):  # 50 rows: each its own project/task, over the week's days
        project = ProjectFactory(workspace=workspace, team=[member])
        task = TaskFactory(project=project)
        day = monday + timedelta(days=i % 7)
        TimeEntryFactory(
            member=member,
            project=project,
            task=task,
            started_at=at(workspace, day, 8 + i % 10),
            ended_at=at(workspace, day, 8 + i % 10, 30),
        )
    with django_assert_max_num_queries(14):
        response = member_client.get(reverse("week", args=[workspace.slug]), {"week": monday.isoformat()})
    assert len(response.context["grid"].rows) == rows


@pytest.mark.parametrize("rows", [1, 50])
def test_entries(manager_client, workspace, member, project, monday, rows, django_assert_max_num_queries):
    for i in range(rows):
        TimeEntryFactory(
            member=member,
            project=project,
            started_at=at(workspace, monday, 0) + timedelta(minutes=20 * i),
            ended_at=at(workspace, monday, 0) + timedelta(minutes=20 * i + 10),
        )
    with django_assert_max_num_queries(14):
        response = manager_client.get(reverse("entries", args=[workspace.slug]))
    assert len(response.context["rows"]) == rows


@pytest.mark.parametrize("rows", [1, 50])
def test_approvals(manager_client, workspace, project, monday, rows, django_assert_max_num_queries):
    for _ in range(rows):
        someone = MembershipFactory(workspace=workspace, role=Role.MEMBER)
        TimeEntryFactory(
            member=someone, project=project, started_at=at(workspace, monday, 9), ended_at=at(workspace, monday, 10)
        )
        TimesheetFactory(member=someone, week_start=monday, status=TimesheetStatus.SUBMITTED)
    with django_assert_max_num_queries(12):
        response = manager_client.get(reverse("approvals", args=[workspace.slug]))
    assert [row["seconds"] for row in response.context["submitted"]] == [3600] * rows


@pytest.mark.parametrize("rows", [1, 50])
def test_review_queue(manager_client, workspace, member, project, rows, django_assert_max_num_queries):
    TimeEntryFactory.create_batch(rows, member=member, project=project, state=EntryState.DRAFT)
    with django_assert_max_num_queries(12):
        response = manager_client.get(reverse("review-queue", args=[workspace.slug]))
    assert len(response.context["drafts"]) == rows


@pytest.mark.parametrize("rows", [1, 50])
def test_dashboard(member_client, workspace, member, project, rows, django_assert_max_num_queries):
    TimeEntryFactory.create_batch(rows, member=member, project=project)
    with django_assert_max_num_queries(14):
        assert member_client.get(reverse("dashboard", args=[workspace.slug])).status_code == 200
