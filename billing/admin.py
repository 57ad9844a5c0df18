"""Django admin for billing. Budget alerts are a record of what was sent: read-only."""

from django.contrib import admin

from billing.models import BudgetAlert, Notification
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
