"""REST face of expenses: list, create, read, PATCH (If-Match), delete, and the receipt
(upload as multipart, download). Decisions live in billing.expense_services."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from billing import expense_services
from billing.models import Expense
from billing.selectors import expense_get, expense_list
from workspaces.api import StrictSerializer
from workspaces.api_base import WorkspaceAPIView
from workspaces.api_catalog import ActiveMember, VisibleProject, list_query
from workspaces.policies import Perm


class ExpenseOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    member = serializers.IntegerField(source="member_id")
    username = serializers.CharField(source="member.user.username")
    project = serializers.IntegerField(source="project_id")
    project_name = serializers.CharField(source="project.name")
    date = serializers.DateField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    category = serializers.CharField()
    billable = serializers.BooleanField()
    description = serializers.CharField()
    state = serializers.CharField()
    has_receipt = serializers.SerializerMethodField()
    invoiced = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_has_receipt(self, expense: Expense) -> bool:
        return bool(expense.receipt)

    def get_invoiced(self, expense: Expense) -> bool:
        return expense.invoice_line_id is not None


class ExpenseQuery(serializers.Serializer[Any]):
    member = ActiveMember(required=False)
    project = VisibleProject(required=False)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)


class ExpenseUpdateInput(StrictSerializer):
    project = VisibleProject(required=False)
    date = serializers.DateField(required=False)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, required=False, help_text='e.g. "42.50"')
    category = serializers.CharField(max_length=60, required=False)
    billable = serializers.BooleanField(required=False)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)


class ExpenseCreateInput(ExpenseUpdateInput):
    project = VisibleProject()
    date = serializers.DateField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, help_text='e.g. "42.50"')
    category = serializers.CharField(max_length=60)
    member = ActiveMember(required=False, help_text="Managers: whose")


class ReceiptInput(serializers.Serializer[Any]):
    receipt = serializers.FileField(help_text="PDF, PNG or JPEG")


def _out(expense: Expense) -> Any:
    fresh = Expense.objects.filter(workspace_id=expense.workspace_id).select_related("member__user", "project")
    return ExpenseOutput(fresh.get(pk=expense.pk)).data


class ExpenseListView(WorkspaceAPIView):
    """Expenses: members see and log their own; managers and up everyone's."""

    perms = {"GET": Perm.TIME_VIEW_OWN, "POST": Perm.TIME_LOG_OWN}
    audit_name = "expense"
    ordering = ("-date", "-id")

    @extend_schema(parameters=[ExpenseQuery], responses=ExpenseOutput(many=True))
    def get(self, request: Request, workspace_slug: str) -> Response:
        query = list_query(ExpenseQuery, self)
        member, project = query.pop("member", None), query.pop("project", None)
        expenses = expense_list(
            actor=self.principal,
            member_id=member.pk if member else None,
            project_id=project.pk if project else None,
            **query,
        )
        return self.page(expenses, ExpenseOutput)

    @extend_schema(request=ExpenseCreateInput, responses={201: ExpenseOutput})
    def post(self, request: Request, workspace_slug: str) -> Response:
        data = ExpenseCreateInput(data=request.data, context={"principal": self.principal})
        data.is_valid(raise_exception=True)
        expense = expense_services.expense_create(actor=self.principal, **data.validated_data)
        return self.single(_out(expense), status=201)


class ExpenseDetailView(WorkspaceAPIView):
    perms = {"GET": Perm.TIME_VIEW_OWN, "PATCH": Perm.TIME_LOG_OWN, "DELETE": Perm.TIME_LOG_OWN}
    audit_name = "expense"

    @extend_schema(responses=ExpenseOutput)
    def get(self, request: Request, workspace_slug: str, pk: int) -> Response:
        return self.single(_out(expense_get(actor=self.principal, expense_id=pk)))

    @extend_schema(request=ExpenseUpdateInput, responses=ExpenseOutput)
    def patch(self, request: Request, workspace_slug: str, pk: int) -> Response:
        data = ExpenseUpdateInput(data=request.data, context={"principal": self.principal})
        data.is_valid(raise_exception=True)
        expense = expense_get(actor=self.principal, expense_id=pk)
        self.check_if_match(_out(expense))
        expense = expense_services.expense_update(actor=self.principal, expense=expense, data=data.validated_data)
        return self.single(_out(expense))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, workspace_slug: str, pk: int) -> Response:
        expense = expense_get(actor=self.principal, expense_id=pk)
        expense_services.expense_delete(actor=self.principal, expense=expense)
        return Response(status=204)


class ExpenseReceiptView(WorkspaceAPIView):
    """The receipt: download it, or upload (replace) it as multipart/form-data."""

    perms = {"GET": Perm.TIME_VIEW_OWN, "POST": Perm.TIME_LOG_OWN}
    audit_name = "expense.receipt"
    parser_classes = [MultiPartParser]

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The file")}
    )
    def get(self, request: Request, workspace_slug: str, pk: int) -> Any:
        expense = expense_get(actor=self.principal, expense_id=pk)
        if not expense.receipt:
            raise Http404("This expense has no receipt.")
        return FileResponse(
            expense.receipt.open("rb"), as_attachment=True, filename=expense.receipt.name.rsplit("/")[-1]
        )

    @extend_schema(request={"multipart/form-data": ReceiptInput}, responses=ExpenseOutput)
    def post(self, request: Request, workspace_slug: str, pk: int) -> Response:
        data = ReceiptInput(data=request.data)
        data.is_valid(raise_exception=True)
        expense = expense_get(actor=self.principal, expense_id=pk)
        expense = expense_services.expense_update(
            actor=self.principal, expense=expense, data={"receipt": data.validated_data["receipt"]}
        )
        return self.single(_out(expense))
