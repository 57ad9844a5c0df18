"""Web pages of billing under /w/<workspace_slug>/: reports, invoices, expenses."""

from django.urls import path

from billing import web_expenses, web_invoices, web_reports

urlpatterns = [
    # "reports" (the navigation's link) and "report-hours" are the same page; the first pattern
    # resolves, so the navigation marks Reports as current there.
    path("reports/", web_reports.report_hours, name="reports"),
    path("reports/utilization", web_reports.report_utilization, name="report-utilization"),
    path("reports/budget", web_reports.report_budget, name="report-budget"),
    path("reports/unbilled", web_reports.report_unbilled, name="report-unbilled"),
    path("reports/profitability", web_reports.report_profitability, name="report-profitability"),
    path("invoices/", web_invoices.invoices, name="invoices"),
    path("invoices/build", web_invoices.invoice_build, name="invoice-build"),
    path("invoices/<int:invoice_id>/", web_invoices.invoice_detail, name="invoice-detail"),
    path("invoices/<int:invoice_id>/tax", web_invoices.invoice_tax, name="invoice-tax"),
    path("invoices/<int:invoice_id>/lines", web_invoices.invoice_line_add, name="invoice-line-add"),
    path(
        "invoices/<int:invoice_id>/lines/<int:line_id>/remove",
        web_invoices.invoice_line_remove,
        name="invoice-line-remove",
    ),
    path("invoices/<int:invoice_id>/issue", web_invoices.invoice_issue, name="invoice-issue"),
    path("invoices/<int:invoice_id>/paid", web_invoices.invoice_mark_paid, name="invoice-paid"),
    path("invoices/<int:invoice_id>/void", web_invoices.invoice_void, name="invoice-void"),
    path("invoices/<int:invoice_id>/delete", web_invoices.invoice_delete, name="invoice-delete"),
    path("invoices/<int:invoice_id>/pdf", web_invoices.invoice_pdf, name="invoice-pdf"),
    path("expenses/", web_expenses.expenses, name="expenses"),
    path("expenses/new", web_expenses.expense_new, name="expense-new"),
    path("expenses/<int:expense_id>/edit", web_expenses.expense_edit, name="expense-edit"),
    path("expenses/<int:expense_id>/delete", web_expenses.expense_delete, name="expense-delete"),
    path("expenses/<int:expense_id>/receipt", web_expenses.expense_receipt, name="expense-receipt"),
]
