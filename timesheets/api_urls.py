"""REST routes of the timesheets app under /api/v1/workspaces/<workspace_slug>/ (see timetracker/urls.py)."""

from django.urls import path

from timesheets import api, api_timesheets

urlpatterns = [
    path("time-entries", api.TimeEntryListView.as_view(), name="api-time-entries"),
    path("time-entries/<int:pk>", api.TimeEntryDetailView.as_view(), name="api-time-entry"),
    path("timer", api.TimerView.as_view(), name="api-timer"),
    path("timer/start", api.TimerStartView.as_view(), name="api-timer-start"),
    path("timer/stop", api.TimerStopView.as_view(), name="api-timer-stop"),
    path("timesheets", api_timesheets.TimesheetListView.as_view(), name="api-timesheets"),
    path("timesheets/submit", api_timesheets.TimesheetSubmitView.as_view(), name="api-timesheet-submit"),
    path("timesheets/<int:pk>", api_timesheets.TimesheetDetailView.as_view(), name="api-timesheet"),
    path("timesheets/<int:pk>/approve", api_timesheets.TimesheetApproveView.as_view(), name="api-timesheet-approve"),
    path("timesheets/<int:pk>/reject", api_timesheets.TimesheetRejectView.as_view(), name="api-timesheet-reject"),
    path("timesheets/<int:pk>/reopen", api_timesheets.TimesheetReopenView.as_view(), name="api-timesheet-reopen"),
    path("review-queue", api_timesheets.ReviewQueueView.as_view(), name="api-review-queue"),
    path("review-queue/bulk", api_timesheets.ReviewBulkView.as_view(), name="api-review-queue-bulk"),
    path("review-queue/<int:pk>/accept", api_timesheets.DraftAcceptView.as_view(), name="api-draft-accept"),
    path("review-queue/<int:pk>/discard", api_timesheets.DraftDiscardView.as_view(), name="api-draft-discard"),
]
