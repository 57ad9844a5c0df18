"""REST routes of the billing app under /api/v1/workspaces/<workspace_slug>/ (see timetracker/urls.py)."""

from django.urls import path

from billing import rest_reports

urlpatterns = [
    path("reports/hours-summary", rest_reports.HoursSummaryView.as_view(), name="api-report-hours"),
    path("reports/utilization", rest_reports.UtilizationView.as_view(), name="api-report-utilization"),
    path("reports/budget-health", rest_reports.BudgetHealthView.as_view(), name="api-report-budget-health"),
    path("reports/unbilled", rest_reports.UnbilledView.as_view(), name="api-report-unbilled"),
    path("reports/profitability", rest_reports.ProfitabilityView.as_view(), name="api-report-profitability"),
    path("projects/<int:pk>/budget", rest_reports.ProjectBudgetView.as_view(), name="api-project-budget"),
]
