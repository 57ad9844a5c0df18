"""Django admin for billing. Budget alerts are a record of what was sent: read-only."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from billing.models import BudgetAlert, Expense, Invoice, InvoiceLine, Notification, WorkspaceExport
from workspaces.admin import ReadOnlyAdmin


@admin.register(BudgetAlert)
class BudgetAlertAdmin(ReadOnlyAdmin):
    list_display = ("project", "period_start", "threshold", "percent", "created_at")
    list_filter = ("threshold", "project__workspace")
    search_fields = ("project__name",)
    list_select_related = ("project",)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "user", "workspace", "kind", "message", "read_at")
    list_filter = ("kind", ("read_at", admin.EmptyFieldListFilter), "workspace")
    search_fields = ("message", "user__username")
    list_select_related = ("user", "workspace")


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    fields = ("position", "kind", "description", "quantity", "unit_price", "amount")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    """Invoices change through the billing services (numbering, locks, audit), never here."""

    list_display = ("__str__", "client", "workspace", "status", "period_start", "period_end", "total", "issued_at")
    list_filter = ("status", "workspace")
    search_fields = ("client__name", "number")
    list_select_related = ("client", "workspace")
    inlines = [InvoiceLineInline]


@admin.register(Expense)
class ExpenseAdmin(ReadOnlyAdmin):
    list_display = ("date", "member", "project", "category", "amount", "currency", "billable", "state")
    list_filter = ("billable", "state", "category", "workspace")
    search_fields = ("description", "category", "project__name", "member__user__username")
    list_select_related = ("member__user", "member__workspace", "project")


@admin.register(WorkspaceExport)
class WorkspaceExportAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "workspace", "requested_by", "status", "file", "finished_at")
    list_filter = ("status", "workspace")
    list_select_related = ("workspace", "requested_by")
