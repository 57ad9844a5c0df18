"""Writes of invoices: build a draft from approved, billable, uninvoiced work; edit; issue with a
gapless number; mark paid; void (the number is kept, the work is released).

Money is Decimal, rounded half-up to cents per line; the subtotal is the sum of the lines, tax
is rounded once on the subtotal, and the total is their sum (a CHECK constraint holds it).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from functools import partial

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from billing.models import Expense, Invoice, InvoiceLine, InvoiceLineKind, InvoiceStatus
from billing.money import SECONDS_PER_HOUR, amount_for, round_money
from billing.pdf import invoice_pdf_bytes
from billing.tasks import render_invoice_pdf
from timesheets.models import EntryState, TimeEntry, Timesheet, TimesheetStatus
from timesheets.selectors import day_start_utc, week_start_for
from workspaces import audit, policies
from workspaces.errors import Conflict, Invalid, NotFound
from workspaces.models import Client, Workspace
from workspaces.policies import Perm
from workspaces.principals import Principal

MAX_TAX_RATE = Decimal("100")
logger = logging.getLogger(__name__)


def _locked_invoice(actor: Principal, invoice: Invoice, *, status: str | None = None) -> Invoice:
    locked = Invoice.objects.select_for_update().filter(pk=invoice.pk, workspace=actor.workspace).first()
    if locked is None:
        raise NotFound("Invoice not found.")
    if status is not None and locked.status != status:
        raise Conflict(f"This invoice is {locked.status}; only a {status} invoice can be changed this way.")
    return locked


def _recalculate(invoice: Invoice) -> None:
    subtotal = sum((line.amount for line in invoice.lines.all()), Decimal("0.00"))
    invoice.subtotal = subtotal
    invoice.tax = round_money(subtotal * invoice.tax_rate / 100)
    invoice.total = invoice.subtotal + invoice.tax
    invoice.save(update_fields=["subtotal", "tax", "total", "tax_rate"])


def _check_tax(tax_rate: Decimal) -> Decimal:
    if tax_rate < 0 or tax_rate > MAX_TAX_RATE:
        raise Invalid("The tax rate is a percentage from 0 to 100.", fields={"tax_rate": ["E.g. 19 or 7.7."]})
    return tax_rate


def _approved_weeks(workspace: Workspace, member_ids: set[int]) -> set[tuple[int, date]]:
    return set(
        Timesheet.objects.filter(
            workspace=workspace, member_id__in=member_ids, status=TimesheetStatus.APPROVED
        ).values_list("member_id", "week_start")
    )


@transaction.atomic
def invoice_build(
    *, actor: Principal, client: Client, period_start: date, period_end: date, tax_rate: Decimal = Decimal("0")
) -> Invoice:
    """A draft for ``client`` from approved, billable, not-yet-invoiced time and expenses in the period.

    Time becomes one line per project, task and snapshotted rate (hours × rate); each expense a
    line at cost. The work is reserved (locked) by the draft until it is voided or deleted.
    """
    policies.ensure(actor, Perm.INVOICE_MANAGE)
    workspace = actor.workspace
    if client.workspace_id != workspace.pk:
        raise NotFound("Client not found.")
    if period_end < period_start:
        raise Invalid("The period ends before it starts.", fields={"period_end": ["On or after period_start."]})
    _check_tax(tax_rate)
    entries = list(
        TimeEntry.objects.select_for_update(of=("self",))
        .filter(
            workspace=workspace,
            project__client=client,
            billable=True,
            state=EntryState.ACTIVE,
            ended_at__isnull=False,
            invoice_line__isnull=True,
            started_at__gte=day_start_utc(workspace, period_start),
            started_at__lt=day_start_utc(workspace, period_end + timedelta(days=1)),
        )
        .select_related("project", "task")
        .order_by("started_at", "id")
    )
    expenses = list(
        Expense.objects.select_for_update(of=("self",))
        .filter(
            workspace=workspace,
            project__client=client,
            billable=True,
            state="active",
            invoice_line__isnull=True,
            date__gte=period_start,
            date__lte=period_end,
        )
        .select_related("project")
        .order_by("date", "id")
    )
    approved = _approved_weeks(workspace, {e.member_id for e in entries} | {x.member_id for x in expenses})
    entries = [e for e in entries if (e.member_id, e.week_start) in approved]
    expenses = [x for x in expenses if (x.member_id, week_start_for(workspace, x.date)) in approved]
    if not entries and not expenses:
        raise Invalid(
            f"Nothing to invoice for {client.name} from {period_start} to {period_end}: no approved, "
            "billable, uninvoiced time or expenses."
        )

    invoice = Invoice.objects.create(
        workspace=workspace,
        client=client,
        period_start=period_start,
        period_end=period_end,
        currency=workspace.currency,
        tax_rate=tax_rate,
        created_by=actor.user,
    )
    groups: dict[tuple[int, int | None, Decimal | None], list[TimeEntry]] = defaultdict(list)
    for entry in entries:
        groups[(entry.project_id, entry.task_id, entry.billable_rate)].append(entry)
    position = 0
    for (_, _, rate), group in sorted(
        groups.items(), key=lambda item: (item[1][0].project.name, item[1][0].task.name if item[1][0].task else "")
    ):
        first = group[0]
        seconds = sum(e.duration_seconds or 0 for e in group)
        position += 1
        line = InvoiceLine.objects.create(
            invoice=invoice,
            kind=InvoiceLineKind.TIME,
            position=position,
            description=f"{first.project.name} — {first.task.name}" if first.task else first.project.name,
            project=first.project,
            task=first.task,
            quantity=(Decimal(seconds) / SECONDS_PER_HOUR).quantize(Decimal("0.01")),
            unit_price=rate or Decimal("0.00"),
            amount=amount_for(seconds, rate),
            seconds=seconds,
        )
        TimeEntry.objects.filter(pk__in=[e.pk for e in group]).update(invoice_line=line)
    for expense in expenses:
        position += 1
        line = InvoiceLine.objects.create(
            invoice=invoice,
            kind=InvoiceLineKind.EXPENSE,
            position=position,
            description=f"{expense.category}: {expense.description}".rstrip(": ")[:300],
            project=expense.project,
            quantity=Decimal("1"),
            unit_price=expense.amount,
            amount=expense.amount,
        )
        Expense.objects.filter(pk=expense.pk).update(invoice_line=line)
    _recalculate(invoice)
    audit.record(
        action="invoice.build",
        actor=actor,
        target=invoice,
        detail={"entries": len(entries), "expenses": len(expenses), "total": str(invoice.total)},
    )
    return invoice


@transaction.atomic
def invoice_line_add(
    *, actor: Principal, invoice: Invoice, description: str, quantity: Decimal, unit_price: Decimal
) -> InvoiceLine:
    """A manual line on a draft (a discount is a negative unit price)."""
    policies.ensure(actor, Perm.INVOICE_MANAGE)
    invoice = _locked_invoice(actor, invoice, status=InvoiceStatus.DRAFT)
    if not description.strip():
        raise Invalid("A line needs a description.", fields={"description": ["Required."]})
    if quantity <= 0:
        raise Invalid("The quantity must be positive.", fields={"quantity": ["Greater than 0."]})
    position = (invoice.lines.aggregate(m=Max("position"))["m"] or 0) + 1
    line = InvoiceLine.objects.create(
        invoice=invoice,
        kind=InvoiceLineKind.MANUAL,
        position=position,
        description=description.strip()[:300],
        quantity=quantity,
        unit_price=unit_price,
        amount=round_money(quantity * unit_price),
    )
    _recalculate(invoice)
    audit.record(action="invoice.line_add", actor=actor, target=invoice, detail={"amount": str(line.amount)})
    return line


@transaction.atomic
def invoice_line_remove(*, actor: Principal, line: InvoiceLine) -> Invoice:
    """Remove a line from a draft; its time and expenses are released."""
    policies.ensure(actor, Perm.INVOICE_MANAGE)
    invoice = _locked_invoice(actor, line.invoice, status=InvoiceStatus.DRAFT)
    line_id = line.pk  # delete() clears it
    line.delete()  # entries and expenses: invoice_line SET NULL
    _recalculate(invoice)
    audit.record(action="invoice.line_remove", actor=actor, target=invoice, detail={"line_id": line_id})
    return invoice


@transaction.atomic
def invoice_set_tax(*, actor: Principal, invoice: Invoice, tax_rate: Decimal) -> Invoice:
    policies.ensure(actor, Perm.INVOICE_MANAGE)
    invoice = _locked_invoice(actor, invoice, status=InvoiceStatus.DRAFT)
    invoice.tax_rate = _check_tax(tax_rate)
    _recalculate(invoice)
    audit.record(action="invoice.tax", actor=actor, target=invoice, detail={"tax_rate": str(tax_rate)})
    return invoice


@transaction.atomic
def invoice_issue(*, actor: Principal, invoice: Invoice) -> Invoice:
    """Give a draft the next number of the workspace — gapless, even under concurrent issuing."""
    policies.ensure(actor, Perm.INVOICE_MANAGE)
    # The workspace row is the lock that serializes numbering; the number is then max + 1.
    Workspace.objects.select_for_update().filter(pk=actor.workspace.pk).first()
    invoice = _locked_invoice(actor, invoice, status=InvoiceStatus.DRAFT)
    if not invoice.lines.exists():
        raise Invalid("An invoice needs at least one line.")
    last = Invoice.objects.filter(workspace=actor.workspace).aggregate(m=Max("number"))["m"] or 0
    invoice.number = last + 1
    invoice.status = InvoiceStatus.ISSUED
    invoice.issued_at = timezone.now()
    invoice.save(update_fields=["number", "status", "issued_at"])
    audit.record(action="invoice.issue", actor=actor, target=invoice, detail={"number": invoice.number})
    transaction.on_commit(partial(_queue_pdf, invoice.pk))
    return invoice


def _queue_pdf(invoice_id: int) -> None:
    # The invoice is issued whatever happens here; a PDF that could not be queued is rendered
    # again by calling render_invoice_pdf (or invoice_pdf_store) later.
    try:
        render_invoice_pdf.delay(invoice_id=invoice_id)
    except Exception:  # the broker being down must not fail an issued invoice
        logger.exception("Could not queue the PDF of invoice %s", invoice_id)


def invoice_pdf_store(*, invoice_id: int) -> Invoice | None:
    """Render an issued (or paid, or void) invoice to PDF and store it. Idempotent: rendering
    again replaces the file with the same content. Drafts are not rendered."""
    invoice = (
        Invoice.objects.select_related("workspace", "client").prefetch_related("lines").filter(pk=invoice_id).first()
    )
    if invoice is None or invoice.status == InvoiceStatus.DRAFT:
        return None
    content = invoice_pdf_bytes(invoice)
    if invoice.pdf:
        invoice.pdf.delete(save=False)
    invoice.pdf.save(f"invoice-{invoice.workspace.slug}-{invoice.number}.pdf", ContentFile(content), save=False)
    Invoice.objects.filter(pk=invoice.pk).update(pdf=invoice.pdf.name)
    return invoice


@transaction.atomic
def invoice_mark_paid(*, actor: Principal, invoice: Invoice) -> Invoice:
    policies.ensure(actor, Perm.INVOICE_MANAGE)
    invoice = _locked_invoice(actor, invoice, status=InvoiceStatus.ISSUED)
    invoice.status = InvoiceStatus.PAID
    invoice.paid_at = timezone.now()
    invoice.save(update_fields=["status", "paid_at"])
    audit.record(action="invoice.paid", actor=actor, target=invoice)
    return invoice


@transaction.atomic
def invoice_void(*, actor: Principal, invoice: Invoice, reason: str = "") -> Invoice:
    """Void an issued or paid invoice: its number stays taken, its time and expenses are released."""
    policies.ensure(actor, Perm.INVOICE_MANAGE)
    invoice = _locked_invoice(actor, invoice)
    if invoice.status not in (InvoiceStatus.ISSUED, InvoiceStatus.PAID):
        raise Conflict(f"Only an issued or paid invoice can be voided; this one is {invoice.status}.")
    released = TimeEntry.objects.filter(invoice_line__invoice=invoice).update(invoice_line=None)
    released_expenses = Expense.objects.filter(invoice_line__invoice=invoice).update(invoice_line=None)
    invoice.status = InvoiceStatus.VOID
    invoice.voided_at = timezone.now()
    invoice.save(update_fields=["status", "voided_at"])
    audit.record(
        action="invoice.void",
        actor=actor,
        target=invoice,
        detail={"entries_released": released, "expenses_released": released_expenses, "reason": reason[:200]},
    )
    return invoice


@transaction.atomic
def invoice_delete_draft(*, actor: Principal, invoice: Invoice) -> None:
    """Throw a draft away (it never had a number); its work is released."""
    policies.ensure(actor, Perm.INVOICE_MANAGE)
    invoice = _locked_invoice(actor, invoice, status=InvoiceStatus.DRAFT)
    audit.record(action="invoice.delete_draft", actor=actor, target=invoice)
    invoice.delete()
