"""Unbilled: approved, billable, uninvoiced work per client and project — gone once invoiced, back on void."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing import invoice_services as invoices
from billing.models import Expense
from billing.unbilled import unbilled
from tests.billing.test_invoices import JUNE, WEEK, approve, work
from tests.factories import ClientFactory, ProjectFactory
from timesheets.models import EntryState
from workspaces.errors import Forbidden


@pytest.fixture
def world(workspace, member, other_member):
    globex = ClientFactory(workspace=workspace, name="Globex")
    acme = ClientFactory(workspace=workspace, name="Acme Corp")
    site = ProjectFactory(workspace=workspace, client=globex, name="Site", team=[member, other_member])
    app = ProjectFactory(workspace=workspace, client=acme, name="App", team=[member])
    approve(member)
    work(member, site, WEEK, 5400, rate="100.00")
    work(member, app, WEEK + timedelta(days=1), 3600, rate="80.00")
    work(other_member, site, WEEK, 3600)  # week not approved
    work(member, site, WEEK + timedelta(days=2), 3600, state=EntryState.DRAFT)
    Expense.objects.create(
        workspace=workspace, member=member, project=site, date=WEEK, amount=Decimal("12.30"),
        currency="EUR", category="Travel", created_by=member.user,
    )  # fmt: skip
    return {"globex": globex, "acme": acme, "site": site, "app": app}


def test_unbilled_per_client_and_project(as_admin, world):
    report = unbilled(actor=as_admin, as_of=JUNE[1])
    summary = [
        (c.client_name, [(p.project_name, p.seconds, p.time_amount, p.expense_amount) for p in c.projects])
        for c in report.clients
    ]
    assert summary == [
        ("Acme Corp", [("App", 3600, Decimal("80.00"), Decimal("0.00"))]),
        ("Globex", [("Site", 5400, Decimal("150.00"), Decimal("12.30"))]),
    ]
    assert report.amount == Decimal("242.30")
    assert report.pending_review_seconds == 3600


def test_invoiced_work_leaves_unbilled_and_comes_back_on_void(as_admin, world):
    before = unbilled(actor=as_admin, as_of=JUNE[1])
    invoice = invoices.invoice_build(actor=as_admin, client=world["globex"], period_start=JUNE[0], period_end=JUNE[1])
    assert invoice.subtotal == next(c.amount for c in before.clients if c.client_name == "Globex")
    assert [c.client_name for c in unbilled(actor=as_admin, as_of=JUNE[1]).clients] == ["Acme Corp"]
    invoices.invoice_void(actor=as_admin, invoice=invoices.invoice_issue(actor=as_admin, invoice=invoice))
    assert unbilled(actor=as_admin, as_of=JUNE[1]).amount == before.amount


def test_as_of_cuts_the_period(as_admin, world):
    assert unbilled(actor=as_admin, as_of=WEEK).amount == Decimal("162.30")
    assert unbilled(actor=as_admin, as_of=WEEK - timedelta(days=1)).clients == []


def test_the_approved_week_is_the_workspaces_week(as_admin, workspace, member):
    # given a workspace whose weeks start on Sunday, and the member's week from Sunday 31 May approved
    workspace.week_start = 6
    workspace.save(update_fields=["week_start"])
    site = ProjectFactory(workspace=workspace, client=ClientFactory(workspace=workspace), name="Site")
    approve(member, WEEK - timedelta(days=1))
    work(member, site, WEEK - timedelta(days=1), 3600)  # Sunday: the approved week's first day
    work(member, site, WEEK + timedelta(days=5), 1800)  # Saturday: its last day
    work(member, site, WEEK + timedelta(days=6), 600)  # Sunday: the next week, not approved
    Expense.objects.create(
        workspace=workspace, member=member, project=site, date=WEEK + timedelta(days=5), amount=Decimal("5.00"),
        currency="EUR", category="Travel", created_by=member.user,
    )  # fmt: skip
    Expense.objects.create(
        workspace=workspace, member=member, project=site, date=WEEK + timedelta(days=6), amount=Decimal("7.00"),
        currency="EUR", category="Travel", created_by=member.user,
    )  # fmt: skip

    # when the admin asks what is unbilled
    [client] = unbilled(actor=as_admin, as_of=JUNE[1]).clients

    # then only the approved Sunday-to-Saturday week counts
    [project] = client.projects
    assert (project.seconds, project.time_amount, project.expense_amount) == (5400, Decimal("150.00"), Decimal("5.00"))


def test_members_cannot_see_unbilled(as_member, world):
    with pytest.raises(Forbidden):
        unbilled(actor=as_member)


def test_constant_number_of_queries(as_admin, world, member, workspace):
    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            unbilled(actor=as_admin, as_of=date(2026, 8, 31))
        return len(ctx.captured_queries)

    one = count()
    for i in range(10):
        week = WEEK + timedelta(days=7 * (i + 1))
        approve(member, week)
        project = ProjectFactory(workspace=workspace, client=world["globex"], team=[member])
        work(member, project, week, 3600)
    assert count() == one == 4  # time, expenses, their projects' names, drafts


def test_unbilled_matches_plain_python(as_admin, world):
    from billing.models import Expense as ExpenseModel
    from timesheets.models import TimeEntry, Timesheet

    approved = set(Timesheet.objects.filter(status="approved").values_list("member_id", "week_start"))
    expected: dict[int, Decimal] = {}
    for e in TimeEntry.objects.filter(billable=True, state="active", invoice_line__isnull=True, ended_at__isnull=False):
        local = e.started_at.astimezone(e.workspace.tzinfo).date()
        if e.project.client_id and (e.member_id, local - timedelta(days=local.weekday())) in approved:
            amount = Decimal(e.duration_seconds or 0) * (e.billable_rate or 0) / 3600
            expected[e.project_id] = expected.get(e.project_id, Decimal("0")) + amount
    for x in ExpenseModel.objects.filter(billable=True, invoice_line__isnull=True):
        if (x.member_id, x.date - timedelta(days=x.date.weekday())) in approved:
            expected[x.project_id] = expected.get(x.project_id, Decimal("0")) + x.amount
    report = unbilled(actor=as_admin, as_of=JUNE[1])
    assert {p.project_id: p.amount for c in report.clients for p in c.projects} == {
        k: v.quantize(Decimal("0.01")) for k, v in expected.items()
    }
