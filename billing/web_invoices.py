"""Web face of invoices: the list, building a draft from unbilled work, the detail page with its
actions (tax, lines, issue, mark paid, void, delete) and the PDF download.

Managers and up read (INVOICE_VIEW); admins and owners change (INVOICE_MANAGE). Every change is
a POST that calls one service and redirects with a message; the services decide what is allowed.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from billing import invoice_services
from billing.forms import InvoiceBuildForm, InvoiceFilterForm, InvoiceLineForm, InvoiceTaxForm, InvoiceVoidForm
from billing.models import Invoice
from billing.selectors import invoice_get, invoice_list
from workspaces import policies
from workspaces.errors import DomainError, Forbidden, InsufficientScope
from workspaces.policies import Perm
from workspaces.principals import Principal
from workspaces.selectors import get_or_not_found
from workspaces.web import is_htmx, show_error, workspace_view

PAGE_SIZE = 50


def _to_detail(principal: Principal, invoice: Invoice | int) -> HttpResponse:
    invoice_id = invoice.pk if isinstance(invoice, Invoice) else invoice
    return redirect("invoice-detail", principal.workspace.slug, invoice_id)


def _name(invoice: Invoice) -> str:
    return f"Invoice {invoice.number}" if invoice.number else f"The draft for {invoice.client.name}"


@workspace_view(Perm.INVOICE_VIEW)
def invoices(request: HttpRequest, principal: Principal) -> HttpResponse:
    """Invoices of the workspace, newest first, filtered by status and client, 50 a page."""
    form = InvoiceFilterForm(request.GET or None, principal=principal)
    if form.is_bound and not form.is_valid():
        page = Paginator(invoice_list(actor=principal).none(), PAGE_SIZE).get_page(1)
    else:
        data = form.cleaned_data if form.is_bound else {}
        client = data.get("client")
        rows = invoice_list(actor=principal, status=data.get("status") or None, client_id=client.pk if client else None)
        page = Paginator(rows.order_by("-created_at", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "billing/invoice_list.html",
        {
            "form": form,
            "page": page,
            "filtered": any(request.GET.get(name) for name in form.fields),
            "can_manage": policies.can(principal, Perm.INVOICE_MANAGE),
        },
        status=400 if form.errors else 200,
    )


@workspace_view(Perm.INVOICE_MANAGE, methods=("GET", "HEAD", "POST"))
def invoice_build(request: HttpRequest, principal: Principal) -> HttpResponse:
    """A draft for one client from approved, billable, not-yet-invoiced work in a period."""
    if request.method != "POST":
        form = InvoiceBuildForm(
            initial=InvoiceBuildForm.initial_for(principal.workspace, request.GET), principal=principal
        )
        return render(request, "billing/invoice_build.html", {"form": form})
    form = InvoiceBuildForm(request.POST, principal=principal)
    if form.is_valid():
        try:
            invoice = invoice_services.invoice_build(actor=principal, **form.cleaned_data)
        except DomainError as exc:
            show_error(form, exc)
        else:
            messages.success(request, f"Draft built for {invoice.client.name}: {invoice.total} {invoice.currency}.")
            return _to_detail(principal, invoice)
    return render(request, "billing/invoice_build.html", {"form": form}, status=400)


def _detail_page(
    request: HttpRequest, principal: Principal, invoice: Invoice, *, status: int = 200, **forms_: forms.Form
) -> HttpResponse:
    context: dict[str, Any] = {
        "invoice": invoice,
        "lines": list(invoice.lines.all()),
        "can_manage": policies.can(principal, Perm.INVOICE_MANAGE),
        "tax_form": forms_.get("tax_form") or InvoiceTaxForm(initial={"tax_rate": invoice.tax_rate}),
        "line_form": forms_.get("line_form") or InvoiceLineForm(),
        "void_form": forms_.get("void_form") or InvoiceVoidForm(),
    }
    return render(request, "billing/invoice_detail.html", context, status=status)


@workspace_view(Perm.INVOICE_VIEW)
def invoice_detail(request: HttpRequest, principal: Principal, invoice_id: int) -> HttpResponse:
    """One invoice: lines, totals, tax, and the actions its status allows."""
    invoice = invoice_get(actor=principal, invoice_id=invoice_id)
    if is_htmx(request) and request.GET.get("part") == "pdf":  # the "PDF is being rendered" note polls this
        return render(request, "billing/_invoice_pdf.html", {"invoice": invoice})
    return _detail_page(request, principal, invoice)


@workspace_view(Perm.INVOICE_MANAGE, methods=("POST",))
def invoice_tax(request: HttpRequest, principal: Principal, invoice_id: int) -> HttpResponse:
    invoice = invoice_get(actor=principal, invoice_id=invoice_id)
    form = InvoiceTaxForm(request.POST)
    if form.is_valid():
        try:
            invoice = invoice_services.invoice_set_tax(actor=principal, invoice=invoice, **form.cleaned_data)
        except DomainError as exc:
            show_error(form, exc)
        else:
            messages.success(
                request, f"Tax rate set to {invoice.tax_rate} %: total {invoice.total} {invoice.currency}."
            )
            return _to_detail(principal, invoice)
    return _detail_page(request, principal, invoice, tax_form=form, status=400)


@workspace_view(Perm.INVOICE_MANAGE, methods=("POST",))
def invoice_line_add(request: HttpRequest, principal: Principal, invoice_id: int) -> HttpResponse:
    invoice = invoice_get(actor=principal, invoice_id=invoice_id)
    form = InvoiceLineForm(request.POST)
    if form.is_valid():
        try:
            line = invoice_services.invoice_line_add(actor=principal, invoice=invoice, **form.cleaned_data)
        except DomainError as exc:
            show_error(form, exc)
        else:
            messages.success(request, f"Line “{line.description}” added.")
            return _to_detail(principal, invoice)
    return _detail_page(request, principal, invoice, line_form=form, status=400)


@workspace_view(Perm.INVOICE_MANAGE, methods=("POST",))
def invoice_line_remove(request: HttpRequest, principal: Principal, invoice_id: int, line_id: int) -> HttpResponse:
    """Take a line off a draft; its time and expenses are free to invoice again."""
    invoice = invoice_get(actor=principal, invoice_id=invoice_id)
    line = get_or_not_found(invoice.lines.select_related("invoice"), line_id, label="Invoice line")
    try:
        invoice_services.invoice_line_remove(actor=principal, line=line)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Line “{line.description}” removed.")
    return _to_detail(principal, invoice)


@workspace_view(Perm.INVOICE_MANAGE, methods=("POST",))
def invoice_issue(request: HttpRequest, principal: Principal, invoice_id: int) -> HttpResponse:
    """Give a draft the workspace's next number; the PDF is rendered in the background."""
    invoice = invoice_get(actor=principal, invoice_id=invoice_id)
    try:
        invoice = invoice_services.invoice_issue(actor=principal, invoice=invoice)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Invoice {invoice.number} issued. Its PDF is being rendered.")
    return _to_detail(principal, invoice)


@workspace_view(Perm.INVOICE_MANAGE, methods=("POST",))
def invoice_mark_paid(request: HttpRequest, principal: Principal, invoice_id: int) -> HttpResponse:
    invoice = invoice_get(actor=principal, invoice_id=invoice_id)
    try:
        invoice = invoice_services.invoice_mark_paid(actor=principal, invoice=invoice)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{_name(invoice)} marked paid.")
    return _to_detail(principal, invoice)


@workspace_view(Perm.INVOICE_MANAGE, methods=("POST",))
def invoice_void(request: HttpRequest, principal: Principal, invoice_id: int) -> HttpResponse:
    """Void an issued or paid invoice, with a reason; it keeps its number, its work is released."""
    invoice = invoice_get(actor=principal, invoice_id=invoice_id)
    form = InvoiceVoidForm(request.POST)
    if form.is_valid():
        try:
            invoice = invoice_services.invoice_void(actor=principal, invoice=invoice, **form.cleaned_data)
        except DomainError as exc:
            show_error(form, exc)
        else:
            messages.success(request, f"{_name(invoice)} voided. Its time and expenses can be invoiced again.")
            return _to_detail(principal, invoice)
    return _detail_page(request, principal, invoice, void_form=form, status=400)


@workspace_view(Perm.INVOICE_MANAGE, methods=("POST",))
def invoice_delete(request: HttpRequest, principal: Principal, invoice_id: int) -> HttpResponse:
    """Throw a draft away; its work is free to invoice again."""
    invoice = invoice_get(actor=principal, invoice_id=invoice_id)
    try:
        invoice_services.invoice_delete_draft(actor=principal, invoice=invoice)
    except DomainError as exc:
        messages.error(request, exc.message)
        return _to_detail(principal, invoice)
    messages.success(request, f"The draft for {invoice.client.name} was deleted.")
    return redirect("invoices", principal.workspace.slug)


@workspace_view()
def invoice_pdf(request: HttpRequest, principal: Principal, invoice_id: int) -> FileResponse:
    """The stored PDF of an issued invoice, for managers and up of its workspace."""
    try:
        invoice = invoice_get(actor=principal, invoice_id=invoice_id)
    except (Forbidden, InsufficientScope):
        # Below manager the PDF answers like a missing one, as this download did before the invoice pages.
        raise Http404("Invoice not found.") from None
    if not invoice.pdf:
        raise Http404("This invoice has no PDF yet: it is a draft, or it is still being rendered.")
    return FileResponse(
        invoice.pdf.open("rb"),
        as_attachment=True,
        filename=f"invoice-{invoice.number}.pdf",
        content_type="application/pdf",
    )
