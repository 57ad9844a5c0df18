"""REST reports: validated parameters, the same figures as the selectors, redaction, downloads,
nothing of another workspace, and a constant number of queries."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.billing.test_budget_health import work
from tests.conftest import principal_for
from tests.factories import MembershipFactory, ProjectFactory, WorkspaceFactory
from workspaces import connection_services
from workspaces.models import Role

pytestmark = pytest.mark.django_db
BASE = "/api/v1/workspaces/acme/reports"
JUNE = {"date_from": "2026-06-01", "date_to": "2026-06-30"}


def api_for(membership, *, sensitive=False) -> APIClient:
    key = connection_services.api_key_create(
        actor=principal_for(membership), label="r", scopes=["read"], allow_sensitive=sensitive
    ).secret
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def june(member, manager, project):
    work(member, project, date(2026, 6, 1), 2)
    work(member, project, date(2026, 6, 2), 1, billable=False)
    work(manager, project, date(2026, 6, 3), 3)
    elsewhere = MembershipFactory(workspace=WorkspaceFactory(slug="globex"))
    work(elsewhere, ProjectFactory(workspace=elsewhere.workspace, team=[elsewhere]), date(2026, 6, 1), 7)


def test_hours_summary_by_project_counts_this_workspace_only(manager, june, project):
    response = api_for(manager).get(f"{BASE}/hours-summary", {**JUNE, "group_by": "project"})
    assert response.status_code == 200
    body = response.json()
    assert (body["total_seconds"], body["billable_seconds"], body["non_billable_seconds"]) == (21600, 18000, 3600)
    assert [(r["key"], r["label"], r["hours"]) for r in body["rows"]] == [(str(project.pk), project.name, "6.00")]


def test_a_member_sees_only_their_own_hours_and_utilization(member, june):
    api = api_for(member)
    assert api.get(f"{BASE}/hours-summary", JUNE).json()["total_seconds"] == 3 * 3600
    rows = api.get(f"{BASE}/utilization", JUNE).json()["rows"]
    assert [r["username"] for r in rows] == [member.user.username]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"date_from": "2026-13-01", "date_to": "2026-06-30"}, "date_from"),
        ({"date_from": "2026-06-30", "date_to": "2026-06-01"}, "date_to"),
        ({**JUNE, "group_by": "planet"}, "group_by"),
        ({**JUNE, "colour": "red"}, "colour"),
        ({"date_from": "2026-06-01"}, "date_to"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(manager, query, field):
    response = api_for(manager).get(f"{BASE}/hours-summary", query)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert field in response.json()["error"]["fields"]


def test_profitability_withholds_cost_and_margin_without_sensitive_access(admin, june):
    hidden = api_for(admin).get(f"{BASE}/profitability", JUNE).json()
    assert hidden["cost"] is None
    assert hidden["margin"] is None
    assert set(hidden["redacted"]) >= {"cost", "margin"}
    assert Decimal(hidden["revenue"]) == Decimal("500.00")  # 5 billable hours at 100
    shown = api_for(admin, sensitive=True).get(f"{BASE}/profitability", JUNE).json()
    assert shown["redacted"] == []
    assert shown["cost"] is not None


def test_budget_health_and_one_projects_budget(manager, member, workspace):
    budgeted = ProjectFactory(workspace=workspace, budget_hours=Decimal("10"), team=[member])
    work(member, budgeted, date(2026, 6, 1), 8.5)
    api = api_for(manager)
    rows = api.get(f"{BASE}/budget-health", {"as_of": "2026-06-10"}).json()["rows"]
    assert [(r["project_id"], r["used_hours"], r["status"]) for r in rows] == [(budgeted.pk, "8.50", "warning")]
    one = api.get(f"/api/v1/workspaces/acme/projects/{budgeted.pk}/budget", {"as_of": "2026-06-10"}).json()
    assert one["rows"] == rows


def test_unbilled_is_for_managers(member, manager):
    assert api_for(member).get(f"{BASE}/unbilled").status_code == 403
    body = api_for(manager).get(f"{BASE}/unbilled", {"as_of": "2026-06-30"}).json()
    assert set(body) == {"as_of", "clients", "amount", "pending_review_seconds"}


@pytest.mark.parametrize(
    ("report", "query", "first_column"),
    [
        ("hours-summary", JUNE, "project"),
        ("utilization", JUNE, "member"),
        ("budget-health", {}, "project"),
        ("unbilled", {}, "client"),
        ("profitability", JUNE, "project"),
    ],
)
def test_every_report_downloads_as_csv_and_xlsx(manager, june, report, query, first_column):
    api = api_for(manager)
    csv_response: Any = api.get(f"{BASE}/{report}", {**query, "format": "csv"})
    assert csv_response.status_code == 200
    assert csv_response.streaming
    text = b"".join(csv_response.streaming_content).decode("utf-8-sig")
    assert text.splitlines()[0].split(",")[0] == first_column
    xlsx: Any = api.get(f"{BASE}/{report}", {**query, "format": "xlsx"})
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    assert b"".join(xlsx.streaming_content).startswith(b"PK")
    assert api.get(f"{BASE}/{report}", {**query, "format": "pdf"}).status_code == 400


@pytest.mark.parametrize("projects", [1, 50])
@pytest.mark.parametrize(
    ("report", "query"),
    [("hours-summary", JUNE), ("utilization", JUNE), ("budget-health", {}), ("unbilled", {}), ("profitability", JUNE)],
)
def test_each_report_runs_a_constant_number_of_queries(
    owner, member, workspace, projects, report, query, django_assert_max_num_queries
):
    for i in range(projects):
        project = ProjectFactory(workspace=workspace, budget_hours=Decimal("100"), team=[member])
        work(member, project, date(2026, 6, 1 + i % 28), 1, hour=8 + i % 10)
    api = api_for(owner)
    with django_assert_max_num_queries(12):
        assert api.get(f"{BASE}/{report}", query).status_code == 200


def test_the_manager_role_is_needed_for_profitability(workspace):
    member = MembershipFactory(workspace=workspace, role=Role.MEMBER)
    response = api_for(member).get(f"{BASE}/profitability", JUNE)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
