"""Every list page runs the same number of queries for 1 row as for 50."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import ClientFactory, MembershipFactory, ProjectFactory, TaskFactory, TimeEntryFactory

pytestmark = pytest.mark.django_db

# Session, user, principal and navigation, then the page's own reads; the same for 1 and 50 rows.
MAX_QUERIES = {"projects": 8, "clients": 6, "settings-members": 6, "settings-rates": 8, "project-detail": 8}


@pytest.mark.parametrize("rows", [1, 50])
def test_the_projects_list_with_budget_bars(as_manager_browser, workspace, member, rows, django_assert_max_num_queries):
    yesterday = timezone.now() - timedelta(days=1)
    for n in range(rows):
        client = ClientFactory(workspace=workspace)
        project = ProjectFactory(workspace=workspace, client=client, budget_hours=Decimal("10"), team=[member])
        TimeEntryFactory(
            member=member, project=project, started_at=yesterday, ended_at=yesterday + timedelta(hours=n % 12 + 1)
        )

    with django_assert_max_num_queries(MAX_QUERIES["projects"]):
        response = as_manager_browser.get(reverse("projects", args=["acme"]))

    assert response.status_code == 200
    assert len(response.context["rows"]) == rows
    assert all(bar is not None for _project, bar in response.context["rows"])


@pytest.mark.parametrize("rows", [1, 50])
def test_the_clients_list(as_admin_browser, workspace, rows, django_assert_max_num_queries):
    ClientFactory.create_batch(rows, workspace=workspace)
    with django_assert_max_num_queries(MAX_QUERIES["clients"]):
        response = as_admin_browser.get(reverse("clients", args=["acme"]))
    assert len(response.context["page"].object_list) == rows


@pytest.mark.parametrize("rows", [1, 50])
def test_the_members_list(as_admin_browser, workspace, rows, django_assert_max_num_queries):
    MembershipFactory.create_batch(rows, workspace=workspace)
    with django_assert_max_num_queries(MAX_QUERIES["settings-members"]):
        response = as_admin_browser.get(reverse("settings-members", args=["acme"]))
    assert len(response.context["page"].object_list) == min(rows + 1, 50)  # and the admin; 50 a page


@pytest.mark.parametrize("rows", [1, 50])
def test_the_rates_page(as_admin_browser, workspace, rows, django_assert_max_num_queries):
    MembershipFactory.create_batch(rows, workspace=workspace)
    ProjectFactory.create_batch(rows, workspace=workspace)
    with django_assert_max_num_queries(MAX_QUERIES["settings-rates"]):
        response = as_admin_browser.get(reverse("settings-rates", args=["acme"]))
    assert len(response.context["project_rows"]) == rows


@pytest.mark.parametrize("rows", [1, 50])
def test_a_project_with_its_tasks_and_team(as_manager_browser, workspace, rows, django_assert_max_num_queries):
    team = MembershipFactory.create_batch(rows, workspace=workspace)
    project = ProjectFactory(workspace=workspace, budget_hours=Decimal("100"), team=team)
    TaskFactory.create_batch(rows, project=project)
    with django_assert_max_num_queries(MAX_QUERIES["project-detail"]):
        response = as_manager_browser.get(reverse("project-detail", args=["acme", project.pk]))
    assert len(response.context["tasks"]) == rows
