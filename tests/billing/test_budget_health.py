"""budget_health: hours and money burn against the budget, monthly periods, forecast, status."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.selectors import budget_health, budget_status
from tests.factories import ProjectFactory, finished_entry
from timesheets.models import EntryState

BERLIN = ZoneInfo("Europe/Berlin")
AS_OF = date(2026, 6, 10)  # the 10th of a 30-day month


def work(member, project, day, hours, rate="100.00", billable=True, state=EntryState.ACTIVE, hour=9):
    start = datetime(day.year, day.month, day.day, hour, tzinfo=BERLIN)
    seconds = int(hours * 3600)
    return finished_entry(member, project, start, seconds, billable=billable, billable_rate=Decimal(rate), state=state)


def test_total_budget_burn_in_hours_and_money(as_manager, member, workspace):
    project = ProjectFactory(workspace=workspace, budget_hours=Decimal("10"), budget_amount=Decimal("2000.00"))
    work(member, project, date(2026, 5, 4), 4)  # last month still counts for a total budget
    work(member, project, date(2026, 6, 1), 2, billable=False)
    work(member, project, date(2026, 6, 2), 3, state=EntryState.DRAFT)  # pending review, not used
    work(member, project, date(2026, 6, 11), 5)  # after as_of: not yet

    [health] = budget_health(actor=as_manager, as_of=AS_OF)

    assert (health.used_hours, health.remaining_hours) == (Decimal("6.00"), Decimal("4.00"))
    assert (health.used_amount, health.remaining_amount) == (Decimal("400.00"), Decimal("1600.00"))
    assert health.percent == Decimal("60.0")  # hours 60 %, money 20 %: the larger
    assert health.status == "ok"
    assert health.pending_review_hours == Decimal("3.00")
    assert health.forecast_hours is None
    assert health.period == "total"


def test_monthly_budget_counts_the_month_and_forecasts_to_its_end(as_manager, member, workspace):
    project = ProjectFactory(workspace=workspace, budget_hours=Decimal("20"), budget_period="monthly")
    work(member, project, date(2026, 5, 29), 8)  # previous month: not counted
    work(member, project, date(2026, 6, 1), 2)
    work(member, project, date(2026, 6, 9), 3)
    # 23:30 on 31 May in Berlin is still May, though it is 21:30 UTC: not counted either.
    work(member, project, date(2026, 5, 31), 0.5, hour=23)

    [health] = budget_health(actor=as_manager, as_of=AS_OF)

    assert health.used_hours == Decimal("5.00")
    assert (health.period_start, health.period_end) == (date(2026, 6, 1), date(2026, 6, 30))
    assert health.forecast_hours == Decimal("15.00")  # 5 h in 10 of 30 days
    assert health.forecast_percent == Decimal("75.0")
    assert health.percent == Decimal("25.0")


def test_a_budget_with_no_time_in_its_period_is_untouched(as_manager, member, workspace):
    monthly = ProjectFactory(workspace=workspace, name="Monthly", budget_hours=Decimal("20"), budget_period="monthly")
    work(member, monthly, date(2026, 5, 29), 8)  # only last month
    untouched = ProjectFactory(workspace=workspace, name="Untouched", budget_amount=Decimal("500.00"))

    by_name = {health.project_name: health for health in budget_health(actor=as_manager, as_of=AS_OF)}

    for name, project in (("Monthly", monthly), ("Untouched", untouched)):
        health = by_name[name]
        assert health.project_id == project.pk
        assert (health.used_hours, health.used_amount) == (Decimal("0.00"), Decimal("0.00"))
        assert (health.percent, health.status, health.pending_review_hours) == (Decimal("0.0"), "ok", Decimal("0.00"))
    assert by_name["Untouched"].remaining_amount == Decimal("500.00")


@pytest.mark.parametrize(
    ("percent", "thresholds", "status"),
    [
        ("79.9", (80, 100), "ok"),
        ("80.0", (80, 100), "warning"),
        ("99.9", (80, 100), "warning"),
        ("100.0", (80, 100), "over"),
        ("55", (50, 100), "warning"),
    ],
)
def test_status_follows_the_thresholds(percent, thresholds, status):
    assert budget_status(Decimal(percent), thresholds) == status


def test_only_projects_with_a_budget_that_the_caller_may_see(as_member, as_manager, member, workspace):
    mine = ProjectFactory(workspace=workspace, budget_hours=Decimal("1"), team=[member])
    ProjectFactory(workspace=workspace, budget_hours=Decimal("1"))  # not on member's team
    ProjectFactory(workspace=workspace, team=[member])  # no budget
    assert [h.project_id for h in budget_health(actor=as_member, as_of=AS_OF)] == [mine.pk]
    assert len(budget_health(actor=as_manager, as_of=AS_OF)) == 2


def test_no_time_in_the_period_is_zero_and_money_keeps_every_cent(as_manager, member, workspace):
    ProjectFactory(workspace=workspace, name="Idle", budget_hours=Decimal("5"))
    last_month = ProjectFactory(
        workspace=workspace, name="Last month", budget_hours=Decimal("5"), budget_period="monthly"
    )
    work(member, last_month, date(2026, 5, 29), 3)
    big = ProjectFactory(workspace=workspace, name="Big", budget_amount=Decimal("9999999999.99"))
    work(member, big, date(2026, 6, 2), 23.99972, rate="9999999.99")  # 86 398 s
    work(member, big, date(2026, 6, 3), 0.5, rate="0.03")

    health = {h.project_name: h for h in budget_health(actor=as_manager, as_of=AS_OF)}

    for name in ("Idle", "Last month"):
        assert (health[name].used_hours, health[name].used_amount, health[name].pending_review_hours) == (
            Decimal("0.00"),
            Decimal("0.00"),
            Decimal("0.00"),
        )
    # (86 398 × 9 999 999.99 + 1 800 × 0.03) ÷ 3 600 = 239 994 444.21945, to the cent
    assert health["Big"].used_amount == Decimal("239994444.22")


def test_one_query_whatever_the_rows(as_manager, member, workspace):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            budget_health(actor=as_manager, as_of=AS_OF)
        return len(ctx.captured_queries)

    project = ProjectFactory(workspace=workspace, budget_hours=Decimal("100"))
    work(member, project, date(2026, 6, 1), 1)
    one = count()
    for i in range(20):
        p = ProjectFactory(workspace=workspace, budget_amount=Decimal("1000"), budget_period="monthly")
        work(member, p, date(2026, 6, 1 + i % 9), 1)
    assert count() == one == 1


def test_budget_health_exports(as_manager, member, workspace):
    from billing.exports import budget_health_table

    project = ProjectFactory(workspace=workspace, name="Relaunch", budget_hours=Decimal("10"))
    work(member, project, date(2026, 6, 1), 8.5)
    header, rows = budget_health_table(budget_health(actor=as_manager, as_of=AS_OF))
    assert header[0] == "project"
    assert dict(zip(header, rows[0], strict=True)) == {
        "project": "Relaunch",
        "period": "total",
        "budget_hours": Decimal("10.00"),
        "used_hours": Decimal("8.50"),
        "remaining_hours": Decimal("1.50"),
        "budget_amount": None,
        "used_amount": Decimal("850.00"),
        "remaining_amount": None,
        "percent": Decimal("85.0"),
        "forecast_percent": None,
        "status": "warning",
    }


def test_budget_health_matches_plain_python(as_manager, member, workspace):
    from timesheets.models import TimeEntry

    total = ProjectFactory(workspace=workspace, budget_hours=Decimal("50"), budget_amount=Decimal("9000"))
    monthly = ProjectFactory(workspace=workspace, budget_hours=Decimal("20"), budget_period="monthly")
    for i, day in enumerate(
        [date(2026, 5, 20), date(2026, 5, 31), date(2026, 6, 1), date(2026, 6, 9), date(2026, 6, 12)]
    ):
        work(member, total, day, 1 + i * 0.25, hour=9)
        work(member, monthly, day, 2, hour=23 if i == 1 else 14, billable=i % 2 == 0)
    health = {h.project_id: h for h in budget_health(actor=as_manager, as_of=AS_OF)}
    for project, month_only in ((total, False), (monthly, True)):
        seconds = Decimal(0)
        money = Decimal(0)
        for e in TimeEntry.objects.filter(project=project, state="active"):
            local = e.started_at.astimezone(BERLIN).date()
            if local > AS_OF or (month_only and local < AS_OF.replace(day=1)):
                continue
            seconds += e.duration_seconds or 0
            if e.billable:
                money += Decimal(e.duration_seconds or 0) * (e.billable_rate or 0) / 3600
        assert health[project.pk].used_hours == (seconds / 3600).quantize(Decimal("0.01"))
        assert health[project.pk].used_amount == money.quantize(Decimal("0.01"))
