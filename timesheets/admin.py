"""Django admin for time. Read-only: time changes go through the services, which enforce locks."""

from django.contrib import admin

from timesheets.models import TimeEntry, Timesheet
from workspaces.admin import ReadOnlyAdmin


@admin.register(TimeEntry)
class TimeEntryAdmin(ReadOnlyAdmin):
    list_display = (
        "started_at",
        "ended_at",
        "duration_seconds",
        "member",
        "project",
        "task",
        "billable",
        "state",
        "source",
        "connection",
        "draft_reason",
    )
    list_filter = ("state", "source", "billable", "workspace")
    search_fields = ("description", "member__user__username", "project__name")
    list_select_related = (
        "member__user",
        "member__workspace",
        "project",
        "task",
        "connection__application",
        "connection__user",
        "connection__workspace",
    )
    date_hierarchy = "started_at"
    show_full_result_count = False


@admin.register(Timesheet)
class TimesheetAdmin(ReadOnlyAdmin):
    list_display = ("week_start", "member", "status", "submitted_at", "decided_by", "decided_at")
    list_filter = ("status", "workspace")
    search_fields = ("member__user__username", "rejection_reason")
    list_select_related = ("member__user", "member__workspace", "decided_by")
    date_hierarchy = "week_start"
