"""The report pages: the selectors' numbers in the table and in the chart's config, a period
picker with defaults and shortcuts, errors on the form, CSV / XLSX downloads of the same tables,
and a constant number of queries whatever the rows."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.forms import month_of
from tests.billing.test_budget_health import work
from tests.billing.web.conftest import JUNE_QUERY, SLUG, chart_config, csv_text, june, xlsx_rows
from tests.factories import ClientFactory, MembershipFactory, ProjectFactory, TimesheetFactory, WorkspaceFactory
from timesheets.models import EntryState, TimesheetStatus

pytestmark = pytest.mark.django_db


def url(name: str) -> str:
    return reverse(name, args=[SLUG])


@pytest.fixture
def june_work(member, manager, project):
    """Member: 2 h billable + 1 h not; manager: 3 h billable; an agent draft; another workspace's 7 h."""
    work(member, project, june(1), 2)
    work(member, project, june(2), 1, billable=False)
    work(manager, project, june(3), 3)
    work(member, project, june(4), 4, state=EntryState.DRAFT)
    elsewhere = MembershipFactory(workspace=WorkspaceFactory(slug="globex"))
    work(elsewhere, ProjectFactory(workspace=elsewhere.workspace, team=[elsewhere]), june(1), 7)


# --- hours summary --------------------------------------------------------------------------------


def test_hours_by_project_in_the_table_and_the_chart(login, manager, june_work, project):
    response = login(manager).get(url("reports"), {**JUNE_QUERY, "group_by": "project"})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="hours-total">6:00<' in html
    assert f'<th scope="row">{project.name}</th><td class="num">6:00</td>' in html
    assert "4:00 proposed by agents awaits review" in html
    config = chart_config(response)
    assert config["type"] == "bar"
    assert config["data"]["labels"] == [project.name]
    assert [d["data"] for d in config["data"]["datasets"]] == [[5.0], [1.0]]  # billable, not billable


def test_hours_grouped_by_member_and_a_member_sees_only_their_own(login, member, manager, june_work):
    by_member = chart_config(login(manager).get(url("reports"), {**JUNE_QUERY, "group_by": "member"}))
    assert by_member["data"]["labels"] == ["manager", "member"]
    assert by_member["data"]["datasets"][0]["data"] == [3.0, 2.0]

    own = login(member).get(url("reports"), {**JUNE_QUERY, "group_by": "member"})
    assert own.context["report"].total_seconds == 3 * 3600
    assert chart_config(own)["data"]["labels"] == ["member"]


def test_the_period_defaults_to_this_month_with_shortcuts(login, member, workspace):
    response = login(member).get(url("reports"))

    today = timezone.localdate(timezone=workspace.tzinfo)
    first, last = month_of(today)
    report = response.context["report"]
    assert (report.date_from, report.date_to, report.group_by) == (first, last, "project")
    labels = [link["label"] for link in response.context["quick_links"]]
    assert labels == ["This week", "This month", "Last month"]
    last_month = month_of(first - timedelta(days=1))
    assert f"date_from={last_month[0]}&amp;date_to={last_month[1]}" in response.content.decode()
    assert response.context["tabs"][0] == {"label": "Hours", "url": f"{url('reports')}?date_from={first}&date_to={last}", "current": True}  # fmt: skip


def test_an_empty_period_shows_an_empty_state_not_a_chart(login, member):
    response = login(member).get(url("reports"), {"date_from": "2020-01-01", "date_to": "2020-01-31"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "No finished time in this period" in html
    assert "data-chart=" not in html


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"date_from": "2026-06-30", "date_to": "2026-06-01"}, "date_to", "Must be on or after the first day."),
        ({"date_from": "2026-13-01", "date_to": "2026-06-30"}, "date_from", "Enter a valid date."),
        ({**JUNE_QUERY, "group_by": "planet"}, "group_by", "Select a valid choice."),
        ({"date_from": "2020-01-01", "date_to": "2026-06-30"}, "date_to", "Shorten the period."),  # the selector's rule
    ],
)
def test_a_bad_period_is_shown_on_its_field(login, manager, query, field, message):
    response = login(manager).get(url("reports"), query)
    assert response.status_code == 400
    assert any(e.startswith(message) for e in response.context["form"].errors[field])
    assert message in response.content.decode()
    assert "data-chart=" not in response.content.decode()
    assert login(manager).get(url("reports"), {**query, "format": "csv"}).status_code == 400


@pytest.mark.parametrize(
    ("url_name", "query", "field"),
    [
        ("report-budget", {"as_of": "yesterday"}, "as_of"),
        ("report-unbilled", {"as_of": "2026-02-30"}, "as_of"),
        ("report-utilization", {"date_from": "2026-06-30", "date_to": "2026-06-01"}, "date_to"),
        ("report-profitability", {**JUNE_QUERY, "group_by": "member"}, "group_by"),
    ],
)
def test_every_report_form_shows_its_errors(login, admin, url_name, query, field):
    response = login(admin).get(url(url_name), query)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert 'class="errorlist"' in response.content.decode()
    assert response.context["report"] is None


# --- utilization ----------------------------------------------------------------------------------


def test_utilization_per_member_against_capacity(login, member, manager, june_work):
    response = login(manager).get(url("report-utilization"), JUNE_QUERY)

    config = chart_config(response)
    assert config["data"]["labels"] == ["manager", "member", "other"]
    billable, non_billable, capacity = config["data"]["datasets"]
    assert (billable["data"], non_billable["data"]) == ([3.0, 2.0, 0.0], [0.0, 1.0, 0.0])
    assert capacity["data"] == [176.0, 176.0, 176.0]
    assert capacity["label"] == "Capacity (hours)"
    rows = {r.username: r for r in response.context["report"]}
    assert rows["member"].utilization_percent == Decimal("1.1")  # 2 h of 176 h (22 working days × 8 h)
    assert "1.1 %" in response.content.decode()

    own = login(member).get(url("report-utilization"), JUNE_QUERY)
    assert [r.username for r in own.context["report"]] == ["member"]


# --- budget burn ----------------------------------------------------------------------------------


def test_budget_burn_colours_the_thresholds(login, member, workspace):
    warm = ProjectFactory(workspace=workspace, name="Warm", budget_hours=Decimal("10"), team=[member])
    over = ProjectFactory(workspace=workspace, name="Over", budget_hours=Decimal("2"), team=[member])
    calm = ProjectFactory(workspace=workspace, name="Calm", budget_amount=Decimal("10000"), team=[member])
    work(member, warm, june(1), 8.5)
    work(member, over, june(1), 3)
    work(member, calm, june(1), 1)

    response = login(member).get(url("report-budget"), {"as_of": "2026-06-10"})

    assert response.status_code == 200
    config = chart_config(response)
    assert config["data"]["labels"] == ["Calm", "Over", "Warm"]
    dataset = config["data"]["datasets"][0]
    assert dataset["data"] == [1.0, 150.0, 85.0]
    assert dataset["backgroundColor"] == ["#2b8a3e", "#c92a2a", "#f59f00"]
    html = response.content.decode()
    assert 'class="progress over"' in html
    assert 'class="progress warning"' in html
    assert 'aria-valuenow="85"' in html
    assert "8.50 / 10" in html


def test_a_member_sees_the_budgets_of_their_projects_only(login, member, workspace):
    ProjectFactory(workspace=workspace, name="Not mine", budget_hours=Decimal("10"))
    response = login(member).get(url("report-budget"))
    assert response.context["report"] == []
    assert "No active project you can see has a budget" in response.content.decode()


# --- unbilled -------------------------------------------------------------------------------------


def test_unbilled_amounts_per_client_with_a_build_link_for_admins(login, admin, manager, globex):
    response = login(admin).get(url("report-unbilled"), {"as_of": "2026-06-30"})

    html = response.content.decode()
    assert 'id="unbilled-total">150.00 EUR<' in html
    assert "Globex site" in html
    config = chart_config(response)
    assert (config["data"]["labels"], config["data"]["datasets"][0]["data"]) == (["Globex"], [150.0])
    build = f"{url('invoice-build')}?client={globex.pk}&amp;period_end=2026-06-30"
    assert build in html

    as_manager = login(manager).get(url("report-unbilled"), {"as_of": "2026-06-30"})
    assert as_manager.context["report"].amount == Decimal("150.00")
    assert url("invoice-build") not in as_manager.content.decode()


# --- profitability --------------------------------------------------------------------------------


def test_profitability_shows_revenue_cost_and_margin_to_admins(login, admin, member, project):
    member.cost_rate = Decimal("40.00")
    member.save()
    entry = work(member, project, june(1), 2)
    entry.cost_rate = Decimal("40.00")
    entry.save()

    response = login(admin).get(url("report-profitability"), {**JUNE_QUERY, "group_by": "project"})

    assert response.status_code == 200
    config = chart_config(response)
    assert config["data"]["labels"] == [project.name]
    assert [(d["label"], d["data"]) for d in config["data"]["datasets"]] == [
        ("Revenue", [200.0]), ("Cost", [80.0]), ("Margin", [120.0]),
    ]  # fmt: skip
    assert (
        '<td class="num">200.00</td><td class="num">80.00</td><td class="num">120.00</td>' in response.content.decode()
    )


# --- downloads ------------------------------------------------------------------------------------


FILE_PREFIX = {"reports": "hours"}


@pytest.mark.parametrize(
    ("url_name", "query", "header", "first_row"),
    [
        ("reports", {**JUNE_QUERY, "group_by": "client"}, "client", "Globex"),
        ("report-utilization", JUNE_QUERY, "member", "admin"),
        ("report-unbilled", {"as_of": "2026-06-30"}, "client", "Globex"),
        ("report-profitability", JUNE_QUERY, "project", "Globex site"),
    ],
)
def test_each_report_downloads_as_csv_and_xlsx(login, admin, globex, url_name, query, header, first_row):
    page = login(admin)

    as_csv = page.get(url(url_name), {**query, "format": "csv"})
    assert as_csv.status_code == 200
    assert as_csv["Content-Type"] == "text/csv; charset=utf-8"
    assert as_csv["Content-Disposition"].startswith(
        f'attachment; filename="{FILE_PREFIX.get(url_name, url_name.removeprefix("report-"))}'
    )
    lines = csv_text(as_csv).splitlines()
    assert lines[0].split(",")[0] == header
    assert lines[1].split(",")[0] == first_row

    as_xlsx = page.get(url(url_name), {**query, "format": "xlsx"})
    assert as_xlsx["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    rows = xlsx_rows(as_xlsx)
    assert (rows[0][0], rows[1][0]) == (header, first_row)

    assert page.get(url(url_name), {**query, "format": "pdf"}).status_code == 400


def test_the_budget_download_has_its_rows(login, member, workspace):
    budgeted = ProjectFactory(workspace=workspace, name="Budgeted", budget_hours=Decimal("10"), team=[member])
    work(member, budgeted, june(1), 8.5)
    response = login(member).get(url("report-budget"), {"as_of": "2026-06-10", "format": "csv"})
    lines = csv_text(response).splitlines()
    assert lines[0].startswith("project,period,budget_hours,used_hours")
    assert lines[1].startswith("Budgeted,total,10.00,8.50")


def test_the_page_links_its_downloads_with_its_period(login, manager, june_work):
    html = login(manager).get(url("reports"), {**JUNE_QUERY, "group_by": "member"}).content.decode()
    assert "?date_from=2026-06-01&amp;date_to=2026-06-30&amp;group_by=member&amp;format=csv" in html
    assert "?date_from=2026-06-01&amp;date_to=2026-06-30&amp;group_by=member&amp;format=xlsx" in html


# --- a constant number of queries ---------------------------------------------------------------------


@pytest.fixture
def many(workspace, admin, member):
    """``many(n)``: n clients, each with a budgeted project of approved, billable June time."""

    def build(count: int) -> None:
        TimesheetFactory(member=member, week_start=june(1), status=TimesheetStatus.APPROVED)
        for i in range(count):
            client = ClientFactory(workspace=workspace, name=f"Client {i:02d}")
            project = ProjectFactory(
                workspace=workspace, client=client, name=f"P{i:02d}", budget_hours=Decimal("10"), team=[member]
            )
            work(member, project, june(1), 1)
        for extra in MembershipFactory.create_batch(count, workspace=workspace):
            work(extra, project, june(2), 1)

    return build


@pytest.mark.parametrize("rows", [1, 50])
@pytest.mark.parametrize(
    ("url_name", "query"),
    [
        ("reports", {**JUNE_QUERY, "group_by": "project"}),
        ("reports", {**JUNE_QUERY, "group_by": "member"}),
        ("report-utilization", JUNE_QUERY),
        ("report-budget", {"as_of": "2026-06-30"}),
        ("report-unbilled", {"as_of": "2026-06-30"}),
        ("report-profitability", JUNE_QUERY),
    ],
)
def test_each_report_runs_a_constant_number_of_queries(
    login, admin, many, rows, url_name, query, django_assert_max_num_queries
):
    many(rows)
    page = login(admin)
    with django_assert_max_num_queries(9):  # the same for 1 and 50 rows
        response = page.get(url(url_name), query)
    assert response.status_code == 200
    assert len(chart_config(response)["data"]["labels"]) >= rows
