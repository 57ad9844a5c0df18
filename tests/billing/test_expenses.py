"""Expenses: the same who-may and lock rules as time; Decimal amounts; receipts checked by content."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from billing import expense_services as expenses
from billing import invoice_services as invoices
from billing.models import Expense
from tests.billing.test_invoices import JUNE, WEEK, approve
from tests.factories import ClientFactory, ProjectFactory, TimesheetFactory
from timesheets.models import TimesheetStatus
from workspaces.errors import Forbidden, Invalid, Locked
from workspaces.models import AuditEvent

PDF = b"%PDF-1.7\n%fake but well-signed\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def spend(actor, project, **kwargs: Any):
    defaults: dict[str, Any] = {"date": WEEK, "amount": "42.50", "category": "Travel"}
    return expenses.expense_create(actor=actor, project=project, **(defaults | kwargs))


def test_an_expense_with_a_receipt(as_member, project, workspace):
    receipt = SimpleUploadedFile("taxi.pdf", PDF, content_type="application/pdf")
    expense = spend(as_member, project, receipt=receipt, description=" Taxi ")
    expense.refresh_from_db()
    assert (expense.amount, expense.currency, expense.description) == (Decimal("42.50"), "EUR", "Taxi")
    assert expense.receipt.read() == PDF
    assert AuditEvent.objects.filter(action="expense.create", target_id=str(expense.pk)).count() == 1


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"MZ\x90\x00 not a receipt", "receipt.pdf", "PDF, PNG or JPEG"),
        (b"<svg></svg>", "receipt.png", "PDF, PNG or JPEG"),
    ],
)
def test_receipts_are_checked_by_content(as_member, project, content, name, message):
    with pytest.raises(Invalid, match=message):
        spend(as_member, project, receipt=SimpleUploadedFile(name, content))
    assert not Expense.objects.exists()


def test_receipts_are_at_most_10_mb(as_member, project):
    big = SimpleUploadedFile("big.png", PNG + b"\x00" * (10 * 1024 * 1024))
    with pytest.raises(Invalid, match="10 MB"):
        spend(as_member, project, receipt=big)


@pytest.mark.parametrize("amount", ["0", "-5", "1.005", "abc"])
def test_amounts_are_positive_with_two_decimals(as_member, project, amount):
    with pytest.raises(Invalid):
        spend(as_member, project, amount=amount)


def test_same_lock_rules_as_time(as_member, project, member, workspace):
    expense = spend(as_member, project)
    TimesheetFactory(member=member, week_start=WEEK, status=TimesheetStatus.SUBMITTED)
    with pytest.raises(Locked, match="submitted"):
        spend(as_member, project, date=WEEK + timedelta(days=1))
    with pytest.raises(Locked):
        expenses.expense_update(actor=as_member, expense=expense, data={"amount": "1.00"})
    with pytest.raises(Locked):
        expenses.expense_delete(actor=as_member, expense=expense)
    workspace.lock_date = WEEK + timedelta(days=7)
    workspace.save()
    with pytest.raises(Locked, match="lock date"):
        spend(as_member, project, date=WEEK + timedelta(days=7))


def test_members_spend_only_for_themselves_on_their_projects(as_member, as_manager, project, other_member, workspace):
    with pytest.raises(Forbidden):
        spend(as_member, project, member=other_member)
    with pytest.raises(Forbidden, match="not on the team"):
        spend(as_member, ProjectFactory(workspace=workspace))
    assert spend(as_manager, project, member=other_member).member == other_member


def test_update_is_allow_listed_and_delete_is_audited(as_member, project):
    expense = spend(as_member, project)
    with pytest.raises(Invalid, match="currency"):
        expenses.expense_update(actor=as_member, expense=expense, data={"currency": "USD"})
    expenses.expense_update(actor=as_member, expense=expense, data={"amount": "10.10", "category": "Software"})
    expense.refresh_from_db()
    assert (expense.amount, expense.category) == (Decimal("10.10"), "Software")
    expenses.expense_delete(actor=as_member, expense=expense)
    assert not Expense.objects.exists()
    assert AuditEvent.objects.filter(action="expense.delete").count() == 1


def test_an_invoiced_expense_is_locked(as_admin, as_member, member, workspace):
    client = ClientFactory(workspace=workspace)
    project = ProjectFactory(workspace=workspace, client=client, team=[member])
    expense = spend(as_member, project)
    approve(member)
    invoices.invoice_build(actor=as_admin, client=client, period_start=JUNE[0], period_end=JUNE[1])
    with pytest.raises(Locked, match="on an invoice"):
        expenses.expense_update(actor=as_admin, expense=expense, data={"description": "x"})
