"""REST face of invoices: list, build a draft from unbilled work, read, set tax, delete a draft,
issue, mark paid, void, and download the PDF. Decisions live in billing.invoice_services."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from billing import invoice_services
from billing.models import Invoice, InvoiceStatus
from billing.selectors import invoice_get, invoice_list
from workspaces.api import StrictSerializer
from workspaces.api_base import WorkspaceAPIView
from workspaces.api_catalog import InWorkspace, list_query, visible_clients
from workspaces.models import Client
from workspaces.policies import Perm


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, **kwargs)


class InvoiceLineOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    position = serializers.IntegerField()
    description = serializers.CharField()
    project = serializers.IntegerField(source="project_id", allow_null=True)
    task = serializers.IntegerField(source="task_id", allow_null=True)
    quantity = _money(help_text="Hours for time lines, 1 for expenses")
    unit_price = _money()
    amount = _money()
    seconds = serializers.IntegerField(allow_null=True)


class InvoiceOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    number = serializers.IntegerField(allow_null=True, help_text="Given when issued; gapless per workspace")
    status = serializers.ChoiceField(choices=InvoiceStatus.choices)
    client = serializers.IntegerField(source="client_id")
    client_name = serializers.CharField(source="client.name")
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    currency = serializers.CharField()
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=2)
    subtotal = _money()
    tax = _money()
    total = _money()
    notes = serializers.CharField()
    pdf_ready = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    issued_at = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)
    voided_at = serializers.DateTimeField(allow_null=True)

    def get_pdf_ready(self, invoice: Invoice) -> bool:
        return bool(invoice.pdf)


class InvoiceDetailOutput(InvoiceOutput):
    lines = InvoiceLineOutput(many=True)


class InvoiceQuery(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=InvoiceStatus.choices, required=False)
    client = InWorkspace(selector=visible_clients, model=Client, required=False, help_text="A client's id")


class InvoiceBuildInput(StrictSerializer):
    client = InWorkspace(selector=visible_clients, model=Client)
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=2, required=False, help_text='e.g. "19.00"')


class InvoiceTaxInput(StrictSerializer):
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=2)


class VoidInput(StrictSerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)


def _detail(invoice: Invoice) -> Any:
    return InvoiceDetailOutput(
        Invoice.objects.filter(workspace_id=invoice.workspace_id)
        .prefetch_related("lines")
        .select_related("client")
        .get(pk=invoice.pk)
    ).data


class InvoiceListView(WorkspaceAPIView):
    """Invoices of the workspace, newest first (managers and up)."""

    perms = {"GET": Perm.INVOICE_VIEW}
    audit_name = "invoice"
    ordering = ("-created_at", "-id")

    @extend_schema(parameters=[InvoiceQuery], responses=InvoiceOutput(many=True))
    def get(self, request: Request, workspace_slug: str) -> Response:
        query = list_query(InvoiceQuery, self)
        client = query.get("client")
        invoices = invoice_list(
            actor=self.principal, status=query.get("status"), client_id=client.pk if client else None
        )
        return self.page(invoices, InvoiceOutput)


class InvoiceBuildView(WorkspaceAPIView):
    """A draft for one client from approved, billable, not-yet-invoiced work in a period (admins)."""

    perms = {"POST": Perm.INVOICE_MANAGE}
    audit_name = "invoice"

    @extend_schema(request=InvoiceBuildInput, responses={201: InvoiceDetailOutput})
    def post(self, request: Request, workspace_slug: str) -> Response:
        data = InvoiceBuildInput(data=request.data, context={"principal": self.principal})
        data.is_valid(raise_exception=True)
        invoice = invoice_services.invoice_build(actor=self.principal, **data.validated_data)
        return self.single(_detail(invoice), status=201)


class InvoiceDetailView(WorkspaceAPIView):
    perms = {"GET": Perm.INVOICE_VIEW, "PATCH": Perm.INVOICE_MANAGE, "DELETE": Perm.INVOICE_MANAGE}
    audit_name = "invoice"

    @extend_schema(responses=InvoiceDetailOutput)
    def get(self, request: Request, workspace_slug: str, pk: int) -> Response:
        return self.single(_detail(invoice_get(actor=self.principal, invoice_id=pk)))

    @extend_schema(request=InvoiceTaxInput, responses=InvoiceDetailOutput)
    def patch(self, request: Request, workspace_slug: str, pk: int) -> Response:
        """Change a draft's tax rate (If-Match: the ETag you read)."""
        data = InvoiceTaxInput(data=request.data)
        data.is_valid(raise_exception=True)
        invoice = invoice_get(actor=self.principal, invoice_id=pk)
        self.check_if_match(_detail(invoice))
        invoice = invoice_services.invoice_set_tax(actor=self.principal, invoice=invoice, **data.validated_data)
        return self.single(_detail(invoice))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, workspace_slug: str, pk: int) -> Response:
        """Delete a draft; its work is free to invoice again."""
        invoice = invoice_get(actor=self.principal, invoice_id=pk)
        invoice_services.invoice_delete_draft(actor=self.principal, invoice=invoice)
        return Response(status=204)


class InvoiceIssueView(WorkspaceAPIView):
    """Give a draft the workspace's next number; the PDF is rendered in the background."""

    perms = {"POST": Perm.INVOICE_MANAGE}
    audit_name = "invoice"

    @extend_schema(request=None, responses=InvoiceDetailOutput)
    def post(self, request: Request, workspace_slug: str, pk: int) -> Response:
        invoice = invoice_get(actor=self.principal, invoice_id=pk)
        return self.single(_detail(invoice_services.invoice_issue(actor=self.principal, invoice=invoice)))


class InvoiceMarkPaidView(WorkspaceAPIView):
    perms = {"POST": Perm.INVOICE_MANAGE}
    audit_name = "invoice"

    @extend_schema(request=None, responses=InvoiceDetailOutput)
    def post(self, request: Request, workspace_slug: str, pk: int) -> Response:
        invoice = invoice_get(actor=self.principal, invoice_id=pk)
        return self.single(_detail(invoice_services.invoice_mark_paid(actor=self.principal, invoice=invoice)))


class InvoiceVoidView(WorkspaceAPIView):
    """Void an issued invoice: it keeps its number, and its work is free to invoice again."""

    perms = {"POST": Perm.INVOICE_MANAGE}
    audit_name = "invoice"

    @extend_schema(request=VoidInput, responses=InvoiceDetailOutput)
    def post(self, request: Request, workspace_slug: str, pk: int) -> Response:
        data = VoidInput(data=request.data)
        data.is_valid(raise_exception=True)
        invoice = invoice_get(actor=self.principal, invoice_id=pk)
        voided = invoice_services.invoice_void(actor=self.principal, invoice=invoice, **data.validated_data)
        return self.single(_detail(voided))


class InvoicePdfView(WorkspaceAPIView):
    perms = {"GET": Perm.INVOICE_VIEW}
    audit_name = "invoice.pdf"

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The issued invoice's PDF")
        }
    )
    def get(self, request: Request, workspace_slug: str, pk: int) -> Any:
        invoice = invoice_get(actor=self.principal, invoice_id=pk)
        if not invoice.pdf:
            raise Http404("This invoice has no PDF yet: it is a draft, or it is still being rendered.")
        return FileResponse(
            invoice.pdf.open("rb"),
            as_attachment=True,
            filename=f"invoice-{invoice.number}.pdf",
            content_type="application/pdf",
        )
