"""REST routes of the billing app under /api/v1/workspaces/<workspace_slug>/ (see timetracker/urls.py)."""

from django.urls import path

from billing import rest_expenses, rest_invoices, rest_reports

urlpatterns = [
    path("expenses", rest_expenses.ExpenseListView.as_view(), name="api-expenses"),
    path("expenses/<int:pk>", rest_expenses.ExpenseDetailView.as_view(), name="api-expense"),
    path("expenses/<int:pk>/receipt", rest_expenses.ExpenseReceiptView.as_view(), name="api-expense-receipt"),
    path("invoices", rest_invoices.InvoiceListView.as_view(), name="api-invoices"),
    path("invoices/build", rest_invoices.InvoiceBuildView.as_view(), name="api-invoice-build"),
    path("invoices/<int:pk>", rest_invoices.InvoiceDetailView.as_view(), name="api-invoice"),
    path("invoices/<int:pk>/issue", rest_invoices.InvoiceIssueView.as_view(), name="api-invoice-issue"),
    path("invoices/<int:pk>/mark-paid", rest_invoices.InvoiceMarkPaidView.as_view(), name="api-invoice-paid"),
    path("invoices/<int:pk>/void", rest_invoices.InvoiceVoidView.as_view(), name="api-invoice-void"),
    path("invoices/<int:pk>/pdf", rest_invoices.InvoicePdfView.as_view(), name="api-invoice-pdf"),
    path("reports/hours-summary", rest_reports.HoursSummaryView.as_view(), name="api-report-hours"),
    path("reports/utilization", rest_reports.UtilizationView.as_view(), name="api-report-utilization"),
    path("reports/budget-health", rest_reports.BudgetHealthView.as_view(), name="api-report-budget-health"),
    path("reports/unbilled", rest_reports.UnbilledView.as_view(), name="api-report-unbilled"),
    path("reports/profitability", rest_reports.ProfitabilityView.as_view(), name="api-report-profitability"),
    path("projects/<int:pk>/budget", rest_reports.ProjectBudgetView.as_view(), name="api-project-budget"),
]
