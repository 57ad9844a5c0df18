"""Invoices: what goes on them, rounding, gapless numbering under a real race, lock on build,
release on void."""

import threading
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from billing import invoice_services as invoices
from billing.models import Expense, Invoice, InvoiceStatus
from tests.conftest import principal_for
from tests.factories import (
    ClientFactory,
    MembershipFactory,
    ProjectFactory,
    TaskFactory,
    TimeEntryFactory,
    TimesheetFactory,
)
from timesheets import services as time_services
from timesheets.models import EntryState, TimeEntry, TimesheetStatus
from workspaces.errors import Conflict, Forbidden, Invalid, Locked
from workspaces.models import AuditEvent, Role

BERLIN = ZoneInfo("Europe/Berlin")
WEEK = date(2026, 6, 1)
JUNE = (date(2026, 6, 1), date(2026, 6, 30))


def work(member, project, day, seconds, rate="100.00", task=None, **kwargs):
    start = datetime(day.year, day.month, day.day, 9, tzinfo=BERLIN)
    return TimeEntryFactory(
        member=member,
        project=project,
        task=task,
        started_at=start,
        ended_at=start + timedelta(seconds=seconds),
        duration_seconds=seconds,
        billable_rate=Decimal(rate) if rate else None,
        **kwargs,
    )


def approve(member, week=WEEK):
    TimesheetFactory(member=member, week_start=week, status=TimesheetStatus.APPROVED)


@pytest.fixture
def setup(workspace, member, other_member):
    client = ClientFactory(workspace=workspace, name="Globex")
    project = ProjectFactory(workspace=workspace, client=client, name="Website", team=[member, other_member])
    design = TaskFactory(project=project, name="Design")
    approve(member)
    return {"client": client, "project": project, "design": design}


def test_a_draft_takes_only_approved_billable_uninvoiced_work_of_the_client(
    as_admin, setup, member, other_member, workspace
):
    client, project, design = setup["client"], setup["project"], setup["design"]
    a = work(member, project, WEEK, 3600, task=design)
    b = work(member, project, WEEK + timedelta(days=1), 1800, task=design)
    c = work(member, project, WEEK + timedelta(days=2), 5400, rate="120.00", task=design)  # other rate: own line
    d = work(member, project, WEEK + timedelta(days=3), 3600)  # no task
    work(other_member, project, WEEK, 3600)  # week not approved
    work(member, project, WEEK, 3600, billable=False)
    work(member, project, WEEK, 3600, state=EntryState.DRAFT)
    work(member, ProjectFactory(workspace=workspace, team=[member]), WEEK, 3600)  # another client
    work(member, project, WEEK + timedelta(days=30), 3600)  # outside the period (and unapproved)
    taxi = Expense.objects.create(
        workspace=workspace, member=member, project=project, date=WEEK, amount=Decimal("42.50"),
        currency="EUR", category="Travel", description="Taxi to workshop", created_by=member.user,
    )  # fmt: skip

    invoice = invoices.invoice_build(actor=as_admin, client=client, period_start=JUNE[0], period_end=JUNE[1])

    lines = [(ln.kind, ln.description, ln.quantity, ln.unit_price, ln.amount) for ln in invoice.lines.all()]
    assert lines == [
        ("time", "Website", Decimal("1.00"), Decimal("100.00"), Decimal("100.00")),
        ("time", "Website — Design", Decimal("1.50"), Decimal("100.00"), Decimal("150.00")),
        ("time", "Website — Design", Decimal("1.50"), Decimal("120.00"), Decimal("180.00")),
        ("expense", "Travel: Taxi to workshop", Decimal("1.00"), Decimal("42.50"), Decimal("42.50")),
    ]
    assert (invoice.subtotal, invoice.tax, invoice.total) == (Decimal("472.50"), Decimal("0.00"), Decimal("472.50"))
    assert invoice.status == InvoiceStatus.DRAFT
    assert invoice.number is None
    assert set(TimeEntry.objects.filter(invoice_line__invoice=invoice).values_list("pk", flat=True)) == {
        a.pk,
        b.pk,
        c.pk,
        d.pk,
    }
    taxi.refresh_from_db()
    assert taxi.invoice_line is not None


def test_invoiced_time_is_locked_and_not_invoiced_twice(as_admin, as_member, setup, member):
    entry = work(member, setup["project"], WEEK, 3600)
    invoices.invoice_build(actor=as_admin, client=setup["client"], period_start=JUNE[0], period_end=JUNE[1])
    with pytest.raises(Locked, match="on an invoice"):
        time_services.time_entry_delete(actor=as_member, entry=entry)
    with pytest.raises(Invalid, match="Nothing to invoice"):
        invoices.invoice_build(actor=as_admin, client=setup["client"], period_start=JUNE[0], period_end=JUNE[1])


@pytest.mark.parametrize(
    ("seconds", "rate", "tax", "line", "tax_amount"),
    [
        (1000, "99.99", "19", "27.78", "10.56"),  # 27.775 rounds half-up; tax 10.5564
        (1, "100.00", "7.7", "0.03", "0.00"),  # 0.0277…; tax 0.00462
        (5399, "33.33", "19", "49.99", "19.00"),  # 49.9857…; tax 18.9962
    ],
)
def test_rounding_and_totals_equal_the_sum_of_lines(as_admin, setup, member, seconds, rate, tax, line, tax_amount):
    work(member, setup["project"], WEEK, seconds, rate=rate)
    work(member, setup["project"], WEEK + timedelta(days=1), seconds, rate=rate, task=setup["design"])
    invoice = invoices.invoice_build(
        actor=as_admin, client=setup["client"], period_start=JUNE[0], period_end=JUNE[1], tax_rate=Decimal(tax)
    )
    amounts = [ln.amount for ln in invoice.lines.all()]
    assert amounts == [Decimal(line), Decimal(line)]
    assert invoice.subtotal == sum(amounts)
    assert invoice.tax == Decimal(tax_amount) * 2 or invoice.tax == (sum(amounts) * Decimal(tax) / 100).quantize(
        Decimal("0.01")
    )
    assert invoice.total == invoice.subtotal + invoice.tax


def test_manual_lines_and_tax_on_a_draft(as_admin, setup, member):
    work(member, setup["project"], WEEK, 3600)
    invoice = invoices.invoice_build(actor=as_admin, client=setup["client"], period_start=JUNE[0], period_end=JUNE[1])
    invoices.invoice_line_add(
        actor=as_admin, invoice=invoice, description="Discount", quantity=Decimal("1"), unit_price=Decimal("-10.00")
    )
    invoice = invoices.invoice_set_tax(actor=as_admin, invoice=invoice, tax_rate=Decimal("19"))
    assert (invoice.subtotal, invoice.tax, invoice.total) == (Decimal("90.00"), Decimal("17.10"), Decimal("107.10"))
    with pytest.raises(Invalid):
        invoices.invoice_set_tax(actor=as_admin, invoice=invoice, tax_rate=Decimal("101"))


def test_issue_pay_void_and_numbers_are_never_reused(as_admin, setup, member, other_member):
    work(member, setup["project"], WEEK, 3600)
    first = invoices.invoice_build(actor=as_admin, client=setup["client"], period_start=JUNE[0], period_end=JUNE[1])
    first = invoices.invoice_issue(actor=as_admin, invoice=first)
    assert (first.number, first.status) == (1, InvoiceStatus.ISSUED)
    with pytest.raises(Conflict):
        invoices.invoice_line_add(
            actor=as_admin, invoice=first, description="x", quantity=Decimal(1), unit_price=Decimal(1)
        )
    invoices.invoice_mark_paid(actor=as_admin, invoice=first)
    voided = invoices.invoice_void(actor=as_admin, invoice=first, reason="wrong client")
    assert (voided.status, voided.number) == (InvoiceStatus.VOID, 1)
    assert not TimeEntry.objects.filter(invoice_line__isnull=False).exists()

    second = invoices.invoice_build(actor=as_admin, client=setup["client"], period_start=JUNE[0], period_end=JUNE[1])
    assert invoices.invoice_issue(actor=as_admin, invoice=second).number == 2
    assert AuditEvent.objects.filter(action__startswith="invoice.").count() == 6


def test_only_admins_handle_invoices(as_manager, setup, member):
    work(member, setup["project"], WEEK, 3600)
    with pytest.raises(Forbidden):
        invoices.invoice_build(actor=as_manager, client=setup["client"], period_start=JUNE[0], period_end=JUNE[1])


@pytest.mark.slow
def test_concurrent_issuing_gives_gapless_unique_numbers(transactional_db):
    owner = MembershipFactory(role=Role.OWNER)
    actor = principal_for(owner)
    client = ClientFactory(workspace=owner.workspace)
    project = ProjectFactory(workspace=owner.workspace, client=client, team=[owner])
    drafts = []
    for i in range(8):
        week = WEEK + timedelta(days=7 * i)
        approve(owner, week)
        work(owner, project, week, 3600)
        drafts.append(
            invoices.invoice_build(actor=actor, client=client, period_start=week, period_end=week + timedelta(days=6))
        )

    barrier = threading.Barrier(len(drafts))
    errors: list[Exception] = []

    def issue(invoice):
        try:
            barrier.wait(timeout=10)
            invoices.invoice_issue(actor=actor, invoice=invoice)
        except Exception as exc:  # asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue, args=(d,)) for d in drafts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    numbers = list(Invoice.objects.values_list("number", flat=True))
    assert None not in numbers
    assert sorted(n for n in numbers if n is not None) == list(range(1, 9))
