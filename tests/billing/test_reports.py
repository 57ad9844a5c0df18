"""Reports against a hand-computed fixture (a DST week, a member far from the workspace's time
zone), against the same numbers computed in plain Python, and with a constant number of queries."""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.reports import hours_summary, profitability, utilization, working_days
from tests.factories import ClientFactory, ProjectFactory, TagFactory, finished_entry
from timesheets.models import EntryState, TimeEntry
from workspaces.errors import Forbidden, Invalid

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
MON, SUN, NEXT_MON = date(2026, 3, 23), date(2026, 3, 29), date(2026, 3, 30)  # clocks go forward on the 29th


def at(moment: datetime, seconds: int, member, project, **kwargs):
    return finished_entry(member, project, moment, seconds, **kwargs)


@pytest.fixture
def fixture(workspace, member, other_member):
    member.cost_rate, other_member.cost_rate = Decimal("40.00"), Decimal("30.00")
    member.save()
    other_member.save()
    client = ClientFactory(workspace=workspace, name="Client One")
    p1 = ProjectFactory(workspace=workspace, client=client, name="P1", team=[member, other_member])
    p2 = ProjectFactory(workspace=workspace, client=None, name="P2 internal", team=[member])
    tag = TagFactory(workspace=workspace, name="workshop")
    e1 = at(datetime(2026, 3, 23, 9, tzinfo=BERLIN), 7200, member, p1, billable=True,
            billable_rate=Decimal("100.00"), cost_rate=Decimal("40.00"))  # fmt: skip
    e1.tags.add(tag)
    # 01:30 CET to 03:30 CEST on the night the clocks go forward: one real hour.
    at(datetime(2026, 3, 29, 0, 30, tzinfo=UTC), 3600, member, p2, billable=False, cost_rate=Decimal("40.00"))
    # Sunday 19:30 in New York is already Monday 01:30 in Berlin: the workspace counts it on Monday.
    at(datetime(2026, 3, 29, 19, 30, tzinfo=NEW_YORK), 5400, other_member, p1, billable=True,
       billable_rate=Decimal("120.00"), cost_rate=Decimal("30.00"))  # fmt: skip
    at(datetime(2026, 3, 24, 9, tzinfo=BERLIN), 3600, member, p1, billable=True, state=EntryState.DRAFT,
       billable_rate=Decimal("100.00"))  # fmt: skip
    at(datetime(2026, 3, 22, 23, 30, tzinfo=BERLIN), 1800, member, p1, billable=True)  # the Sunday before
    return {"p1": p1, "p2": p2, "client": client, "tag": tag}


def rows(summary):
    return {r.key: (r.seconds, r.billable_seconds) for r in summary.rows}


def test_hours_summary_by_every_grouping(as_manager, fixture, member, other_member):
    def summary(group_by, **filters):
        return hours_summary(actor=as_manager, date_from=MON, date_to=NEXT_MON, group_by=group_by, **filters)

    by_project = summary("project")
    assert rows(by_project) == {fixture["p1"].pk: (12600, 12600), fixture["p2"].pk: (3600, 0)}
    assert (by_project.total_seconds, by_project.billable_seconds, by_project.non_billable_seconds) == (
        16200,
        12600,
        3600,
    )
    assert by_project.pending_review_seconds == 3600
    assert rows(summary("day")) == {MON: (7200, 7200), SUN: (3600, 0), NEXT_MON: (5400, 5400)}
    assert rows(summary("week")) == {MON: (10800, 7200), NEXT_MON: (5400, 5400)}
    assert rows(summary("month")) == {date(2026, 3, 1): (16200, 12600)}
    assert rows(summary("member")) == {member.pk: (10800, 7200), other_member.pk: (5400, 5400)}
    assert rows(summary("client")) == {fixture["client"].pk: (12600, 12600), None: (3600, 0)}
    assert rows(summary("tag")) == {fixture["tag"].pk: (7200, 7200), None: (9000, 5400)}
    assert rows(summary("project", billable=False)) == {fixture["p2"].pk: (3600, 0)}
    assert [r.label for r in summary("client").rows] == ["Client One", "(no client)"]


@pytest.mark.parametrize("group_by", ["project", "day", "tag"])
def test_drafts_alone_make_no_row_but_count_as_pending(as_manager, fixture, member, workspace, group_by):
    # given a project whose only time in the period is an agent's draft, on a day with no other time
    proposed = ProjectFactory(workspace=workspace, name="Proposed", team=[member])
    at(datetime(2026, 3, 25, 9, tzinfo=BERLIN), 1800, member, proposed, state=EntryState.DRAFT)

    # when the period is summed
    summary = hours_summary(actor=as_manager, date_from=MON, date_to=NEXT_MON, group_by=group_by)

    # then the draft is pending review only: no row of its own, outside the totals
    assert proposed.pk not in {r.key for r in summary.rows}
    assert date(2026, 3, 25) not in {r.key for r in summary.rows}
    assert (summary.total_seconds, summary.billable_seconds, summary.pending_review_seconds) == (16200, 12600, 5400)


def test_hours_summary_matches_plain_python(as_manager, fixture):
    expected: dict[int, int] = defaultdict(int)
    start, end = datetime(2026, 3, 23, tzinfo=BERLIN), datetime(2026, 3, 31, tzinfo=BERLIN)
    for e in TimeEntry.objects.filter(state=EntryState.ACTIVE, ended_at__isnull=False):
        if start <= e.started_at < end:
            expected[e.project_id] += e.duration_seconds or 0
    summary = hours_summary(actor=as_manager, date_from=MON, date_to=NEXT_MON)
    assert {r.key: r.seconds for r in summary.rows} == dict(expected)


def test_members_summarise_only_their_own_time(as_member, fixture, member, other_member):
    summary = hours_summary(actor=as_member, date_from=MON, date_to=NEXT_MON, group_by="member")
    assert rows(summary) == {member.pk: (10800, 7200)}
    with pytest.raises(Forbidden):
        hours_summary(actor=as_member, date_from=MON, date_to=NEXT_MON, member=other_member)


@pytest.mark.parametrize(
    ("kwargs", "field"), [({"group_by": "colour"}, "group_by"), ({"date_to": MON - timedelta(days=1)}, "date_to")]
)
def test_bad_report_input_is_invalid(as_manager, kwargs, field):
    with pytest.raises(Invalid) as exc:
        hours_summary(actor=as_manager, **({"date_from": MON, "date_to": NEXT_MON} | kwargs))
    assert field in exc.value.fields


def test_utilization(as_manager, fixture, member, other_member, manager):
    report = {r.member_id: r for r in utilization(actor=as_manager, date_from=MON, date_to=SUN)}
    a = report[member.pk]
    assert (a.billable_seconds, a.non_billable_seconds, a.capacity_hours) == (7200, 3600, Decimal("40.00"))
    assert a.utilization_percent == Decimal("5.0")
    assert a.pending_review_seconds == 3600
    assert report[other_member.pk].billable_seconds == 0  # their Sunday evening is Monday here
    assert manager.pk in report


@pytest.mark.parametrize(
    ("start", "end", "days"), [(MON, SUN, 5), (MON, MON, 1), (SUN, SUN, 0), (date(2026, 3, 1), date(2026, 3, 31), 22)]
)
def test_working_days(start, end, days):
    assert working_days(start, end) == days


def test_profitability_for_an_admin_with_sensitive_access(as_admin, fixture):
    report = profitability(actor=as_admin, date_from=MON, date_to=NEXT_MON)
    by_key = {r.key: r for r in report.rows}
    p1 = by_key[fixture["p1"].pk]
    assert (p1.revenue, p1.cost, p1.margin, p1.margin_percent) == (
        Decimal("380.00"),
        Decimal("125.00"),
        Decimal("255.00"),
        Decimal("67.1"),
    )
    p2 = by_key[fixture["p2"].pk]
    assert (p2.revenue, p2.cost, p2.margin, p2.margin_percent) == (
        Decimal("0.00"),
        Decimal("40.00"),
        Decimal("-40.00"),
        None,
    )
    assert (report.revenue, report.cost, report.margin) == (Decimal("380.00"), Decimal("165.00"), Decimal("215.00"))
    assert report.redacted == []
    assert sum(r.revenue for r in report.rows) == report.revenue


def test_profitability_redacts_cost_and_margin_for_managers(as_manager, fixture):
    report = profitability(actor=as_manager, date_from=MON, date_to=NEXT_MON, group_by="client")
    assert report.redacted == ["cost", "margin", "margin_percent"]
    assert (report.cost, report.margin, report.margin_percent) == (None, None, None)
    assert {r.label: r.revenue for r in report.rows} == {
        "Client One": Decimal("380.00"),
        "(no client)": Decimal("0.00"),
    }
    assert all(r.cost is None and r.margin is None for r in report.rows)


def test_members_cannot_see_profitability(as_member, fixture):
    with pytest.raises(Forbidden):
        profitability(actor=as_member, date_from=MON, date_to=NEXT_MON)


@pytest.mark.parametrize("group_by", ["project", "member", "tag", "day", "week"])
def test_reports_run_a_constant_number_of_queries(as_admin, workspace, member, group_by):
    project = ProjectFactory(workspace=workspace, team=[member])

    def count() -> tuple[int, int, int]:
        counts = []
        for report in (
            lambda: hours_summary(actor=as_admin, date_from=MON, date_to=NEXT_MON, group_by=group_by),
            lambda: utilization(actor=as_admin, date_from=MON, date_to=NEXT_MON),
            lambda: profitability(actor=as_admin, date_from=MON, date_to=NEXT_MON),
        ):
            with CaptureQueriesContext(connection) as ctx:
                report()
            counts.append(len(ctx.captured_queries))
        return counts[0], counts[1], counts[2]

    at(datetime(2026, 3, 23, 9, tzinfo=BERLIN), 600, member, project)
    one = count()
    for i in range(40):
        other = ProjectFactory(workspace=workspace, team=[member])
        at(datetime(2026, 3, 23, 10, tzinfo=BERLIN) + timedelta(hours=i * 3), 600, member, other)
    assert count() == one == (2 if group_by == "tag" else 1, 2, 1)


def test_every_report_exports_to_csv_with_the_same_numbers(as_admin, as_manager, fixture):
    import csv
    import io

    from billing.exports import (
        csv_lines,
        hours_summary_table,
        profitability_table,
        unbilled_table,
        utilization_table,
    )
    from billing.unbilled import unbilled

    def table(header_rows):
        header, rows = header_rows
        body = b"".join(csv_lines(header, rows)).decode("utf-8-sig")
        return list(csv.reader(io.StringIO(body)))

    hours = table(hours_summary_table(hours_summary(actor=as_manager, date_from=MON, date_to=NEXT_MON)))
    assert hours[0] == ["project", "hours", "billable_hours", "non_billable_hours"]
    assert ["P1", "3.50", "3.50", "0.00"] in hours
    assert ["total", "4.50", "3.50", "1.00"] in hours
    assert ["pending review (drafts)", "1.00", "", ""] in hours

    util = table(utilization_table(utilization(actor=as_manager, date_from=MON, date_to=SUN)))
    assert ["member", "2.00", "1.00", "40.00", "5.0"] in util

    profit = table(profitability_table(profitability(actor=as_manager, date_from=MON, date_to=NEXT_MON)))
    assert ["P1", "3.50", "380.00", "", "", ""] in profit
    assert profit[-1] == ["redacted: cost, margin, margin_percent", "", "", "", "", ""]
    full = table(profitability_table(profitability(actor=as_admin, date_from=MON, date_to=NEXT_MON)))
    assert ["P1", "3.50", "380.00", "125.00", "255.00", "67.1"] in full

    assert table(unbilled_table(unbilled(actor=as_admin, as_of=NEXT_MON)))[-1] == ["total", "", "", "", "", "0.00"]


def _in_period(entry, start: date, end: date) -> bool:
    local = entry.started_at.astimezone(BERLIN).date()
    return start <= local <= end


def test_utilization_and_profitability_match_plain_python(as_admin, fixture):
    rows = list(TimeEntry.objects.filter(ended_at__isnull=False, state=EntryState.ACTIVE))
    billable: dict[int, int] = defaultdict(int)
    revenue: dict[int, Decimal] = defaultdict(Decimal)
    cost: dict[int, Decimal] = defaultdict(Decimal)
    for e in rows:
        if _in_period(e, MON, SUN) and e.billable:
            billable[e.member_id] += e.duration_seconds or 0
        if _in_period(e, MON, NEXT_MON):
            seconds = Decimal(e.duration_seconds or 0)
            if e.billable:
                revenue[e.project_id] += seconds * (e.billable_rate or 0) / 3600
            cost[e.project_id] += seconds * (e.cost_rate or 0) / 3600
    util = {r.member_id: r.billable_seconds for r in utilization(actor=as_admin, date_from=MON, date_to=SUN)}
    assert {k: v for k, v in util.items() if v} == dict(billable)
    report = profitability(actor=as_admin, date_from=MON, date_to=NEXT_MON)
    assert {r.key: r.revenue for r in report.rows} == {k: revenue[k].quantize(Decimal("0.01")) for k in cost}
    assert {r.key: r.cost for r in report.rows} == {k: v.quantize(Decimal("0.01")) for k, v in cost.items()}
