"""Invoices (read-only over MCP) and expenses (read, and log as a draft)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from django.db.models import Prefetch
from pydantic import Field

from billing.expense_services import expense_create
from billing.models import Invoice, InvoiceLine
from billing.rest_expenses import ExpenseOutput
from billing.rest_invoices import InvoiceDetailOutput, InvoiceOutput
from billing.selectors import expense_get, expense_list, invoice_get, invoice_list
from mcp_gateway.arguments import keyset_page, optional_day, today_in
from mcp_gateway.registry import tool
from mcp_gateway.schemas import model_for, page_of
from mcp_gateway.tools.common import CursorArg, DayArg, Id, Limit, OptionalId, WriteResult, shaped
from workspaces.errors import Invalid
from workspaces.policies import Perm
from workspaces.principals import Principal
from workspaces.selectors import client_get, member_get, project_get

InvoiceSummary = model_for(InvoiceOutput, "InvoiceSummary")
InvoiceDetail = model_for(InvoiceDetailOutput, "Invoice")
Expense = model_for(ExpenseOutput)
InvoicePage = page_of(InvoiceSummary, "InvoicePage")
ExpensePage = page_of(Expense, "ExpensePage")


@tool(title="List invoices", perm=Perm.INVOICE_VIEW)
def list_invoices(
    caller: Principal,
    status: Literal["draft", "issued", "paid", "void"] | None = None,
    client_id: OptionalId = None,
    cursor: CursorArg = None,
    limit: Limit = 50,
) -> InvoicePage:  # type: ignore[valid-type]
    """Invoices of the workspace, newest first (managers and up): number (given when issued), status,
    client, period, subtotal, tax and total as decimal strings in the invoice currency. Read-only:
    building, issuing and voiding invoices are for people."""
    client = client_get(actor=caller, client_id=client_id) if client_id is not None else None
    rows, next_cursor = keyset_page(
        invoice_list(actor=caller, status=status, client_id=client.pk if client else None),
        order=("-created_at", "-id"),
        cursor=cursor,
        limit=limit,
    )
    return InvoicePage(items=shaped(InvoiceOutput, rows, caller, many=True), next_cursor=next_cursor)


@tool(title="Get an invoice", perm=Perm.INVOICE_VIEW)
def get_invoice(caller: Principal, invoice_id: Id) -> InvoiceDetail:  # type: ignore[valid-type]
    """One invoice with its lines (time per project/task in hours, expenses, manual lines)."""
    invoice = invoice_get(actor=caller, invoice_id=invoice_id)
    with_lines = (
        Invoice.objects.filter(workspace=caller.workspace)
        .select_related("client")
        .prefetch_related(Prefetch("lines", queryset=InvoiceLine.objects.order_by("position", "id")))
        .get(pk=invoice.pk)
    )
    return InvoiceDetail.model_validate(shaped(InvoiceDetailOutput, with_lines, caller))


@tool(title="List expenses", perm=Perm.TIME_VIEW_OWN)
def list_expenses(
    caller: Principal,
    member_id: Annotated[int | None, Field(ge=1, description="Whose (default: all you may see)")] = None,
    project_id: OptionalId = None,
    date_from: DayArg = None,
    date_to: DayArg = None,
    cursor: CursorArg = None,
    limit: Limit = 50,
) -> ExpensePage:  # type: ignore[valid-type]
    """Expenses you may see (members: their own), newest first: date, amount (decimal string, in
    the workspace currency), category, billable, state (draft: logged by an agent, awaiting a person)."""
    workspace = caller.workspace
    member = member_get(actor=caller, member_id=member_id) if member_id is not None else None
    project = project_get(actor=caller, project_id=project_id) if project_id is not None else None
    expenses = expense_list(
        actor=caller,
        member_id=member.pk if member else None,
        project_id=project.pk if project else None,
        date_from=optional_day(date_from, workspace=workspace, name="date_from"),
        date_to=optional_day(date_to, workspace=workspace, name="date_to"),
    )
    rows, next_cursor = keyset_page(expenses, order=("-date", "-id"), cursor=cursor, limit=limit)
    return ExpensePage(items=shaped(ExpenseOutput, rows, caller, many=True), next_cursor=next_cursor)


class ExpenseLogged(WriteResult):
    expense: Expense  # type: ignore[valid-type]


@tool(title="Log an expense (as a draft)", perm=Perm.TIME_LOG_OWN, write=True)
def log_expense(
    caller: Principal,
    project_id: Id,
    amount: Annotated[str, Field(description="In the workspace currency, e.g. '42.50'", pattern=r"^\d+(\.\d{1,2})?$")],
    category: Annotated[str, Field(min_length=1, max_length=60, examples=["Travel", "Software"])],
    date: DayArg = None,
    billable: bool = True,
    description: Annotated[str, Field(max_length=300)] = "",
) -> ExpenseLogged:
    """Log money you spent on a project. Expenses from agents are always drafts: a person confirms
    them before they count or can be invoiced. Receipts are uploaded by people in the web UI."""
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise Invalid("amount must be a decimal number.", fields={"amount": ["E.g. '42.50'."]}) from None
    expense = expense_create(
        actor=caller,
        project=project_get(actor=caller, project_id=project_id),
        date=optional_day(date, workspace=caller.workspace, name="date") or today_in(caller.workspace),
        amount=value,
        category=category,
        billable=billable,
        description=description,
        state="draft",
    )
    fresh = expense_get(actor=caller, expense_id=expense.pk)
    return ExpenseLogged(
        expense=shaped(ExpenseOutput, fresh, caller),
        warnings=["Saved as a draft: a person confirms it before it counts or is invoiced."],
        summary=f"Expense of {value} {fresh.currency} logged on {fresh.project.name} as a draft.",
    )
