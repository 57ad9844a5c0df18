"""Web pages of time under /w/<workspace_slug>/: dashboard and timer, week grid, entries, approvals, review queue."""

from django.urls import path

from timesheets import web_dashboard, web_entries, web_review, web_week

urlpatterns = [
    path("", web_dashboard.dashboard, name="dashboard"),
    path("timer/start", web_dashboard.timer_start_view, name="timer-start"),
    path("timer/stop", web_dashboard.timer_stop_view, name="timer-stop"),
    path("week/", web_week.week, name="week"),
    path("week/save", web_week.week_save, name="week-save"),
    path("week/submit", web_week.week_submit, name="week-submit"),
    path("entries/", web_entries.entries, name="entries"),
    path("entries/export.<str:kind>", web_entries.entries_export, name="entries-export"),
    path("entries/delete", web_entries.entries_delete, name="entries-delete"),
    path("entries/<int:entry_id>/", web_entries.entry_row, name="entry-row"),
    path("entries/<int:entry_id>/edit", web_entries.entry_edit, name="entry-edit"),
    path("approvals/", web_review.approvals, name="approvals"),
    path("approvals/<int:timesheet_id>/approve", web_review.timesheet_approve_view, name="timesheet-approve"),
    path("approvals/<int:timesheet_id>/reject", web_review.timesheet_reject_view, name="timesheet-reject"),
    path("review/", web_review.review_queue, name="review-queue"),
    path("review/decide", web_review.review_decide, name="review-decide"),
]
