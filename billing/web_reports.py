"""Web face of the reports: hours summary, utilization, budget burn, unbilled work, profitability.

Each page parses its period (or day) from the query, calls one report selector, and shows a
chart, the same numbers as a table, and CSV / XLSX downloads of the table the REST API serves.
Who sees what is the selectors' and policies' decision, as for the REST reports.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from billing import exports
from billing.forms import AsOfForm, HoursForm, PeriodForm, ProfitForm, ReportForm, quick_periods, with_defaults
from billing.reports import HoursSummary, Profitability, UtilizationRow, hours_summary, profitability
from billing.reports import utilization as utilization_report
from billing.selectors import BudgetHealth, budget_health
from billing.unbilled import Unbilled
from billing.unbilled import unbilled as unbilled_report
from workspaces import policies
from workspaces.errors import Invalid
from workspaces.policies import Perm
from workspaces.principals import Principal
from workspaces.tabular import download_response
from workspaces.web import show_error, workspace_view

GREEN, AMBER, RED, BLUE, GREY = "#2b8a3e", "#f59f00", "#c92a2a", "#3b5bdb", "#adb5bd"
STATUS_COLOURS = {"ok": GREEN, "warning": AMBER, "over": RED}
Chart = dict[str, Any]


# --- what every report page shares --------------------------------------------------------------


def can_see_profitability(principal: Principal) -> bool:
    """Margins are for admins and owners who may see sensitive figures (the API redacts them for others)."""
    return policies.can(principal, Perm.TIME_VIEW_ALL) and policies.can_view_sensitive(principal)


def _tabs(principal: Principal, current: str, period_query: str) -> list[dict[str, Any]]:
    tabs = [
        ("Hours", "reports", policies.can(principal, Perm.TIME_VIEW_OWN), True),
        ("Utilization", "report-utilization", policies.can(principal, Perm.TIME_VIEW_OWN), True),
        ("Budget burn", "report-budget", policies.can(principal, Perm.PROJECT_VIEW), False),
        ("Unbilled", "report-unbilled", policies.can(principal, Perm.INVOICE_VIEW), False),
        ("Profitability", "report-profitability", can_see_profitability(principal), True),
    ]
    slug = principal.workspace.slug
    return [
        {
            "label": label,
            "url": reverse(name, args=[slug]) + (f"?{period_query}" if period_query and periodic else ""),
            "current": name == current,
        }
        for label, name, visible, periodic in tabs
        if visible
    ]


def _quick_links(principal: Principal, form: forms.Form) -> list[dict[str, str]]:
    if not isinstance(form, PeriodForm):
        return []
    keep = {name: form.data[name] for name in form.fields if name not in ("date_from", "date_to") and name in form.data}
    return [
        {"label": p.label, "query": urlencode({**keep, "date_from": p.date_from, "date_to": p.date_to})}
        for p in quick_periods(principal.workspace)
    ]


def _report_page(
    request: HttpRequest,
    principal: Principal,
    *,
    name: str,
    title: str,
    template: str,
    form_class: type[ReportForm],
    run: Callable[[dict[str, Any]], Any],
    table: Callable[[Any], exports.Table],
    chart: Callable[[Any], Chart | None],
    url_name: str,
) -> HttpResponse:
    """Parse the period, run the report, answer with the page or a CSV / XLSX download of its table."""
    workspace = principal.workspace
    kind = request.GET.get("format") or None
    if kind not in (None, "csv", "xlsx"):
        return HttpResponseBadRequest("Download as format=csv or format=xlsx.", content_type="text/plain")
    form = form_class(with_defaults(request.GET, form_class.defaults(workspace)))
    report = None
    if form.is_valid():
        try:
            report = run(form.cleaned_data)
        except Invalid as exc:
            show_error(form, exc)
    if report is not None and kind is not None:
        header, rows = table(report)
        stamp = timezone.localtime(timezone.now(), workspace.tzinfo).strftime("%Y%m%d")
        return download_response(
            request, kind, header, rows, filename=f"{name}-{workspace.slug}-{stamp}.{kind}", sheet=name
        )
    query = urlencode({field: form.data[field] for field in form.fields if field in form.data})
    period_query = urlencode({f: form.data[f] for f in ("date_from", "date_to") if f in form.data})
    return render(
        request,
        template,
        {
            "title": title,
            "form": form,
            "report": report,
            "chart_config": chart(report) if report is not None else None,
            "tabs": _tabs(principal, url_name, period_query if report is not None else ""),
            "quick_links": _quick_links(principal, form),
            "query": query,
            "page_url": reverse(url_name, args=[workspace.slug]),
            "can_manage_invoices": policies.can(principal, Perm.INVOICE_MANAGE),
        },
        status=200 if report is not None else 400,
    )


def _hours(seconds: int) -> float:
    return round(seconds / 3600, 2)


def _money(amount: Decimal | None) -> float:
    return float(amount or 0)


def _bar(labels: list[str], datasets: list[dict[str, Any]], **options: Any) -> Chart:
    return {"type": "bar", "data": {"labels": labels, "datasets": datasets}, "options": options}


# --- hours summary ----------------------------------------------------------------------------


def hours_chart(report: HoursSummary) -> Chart | None:
    if not report.rows:
        return None
    return _bar(
        [r.label for r in report.rows],
        [
            {"label": "Billable hours", "data": [_hours(r.billable_seconds) for r in report.rows], "backgroundColor": BLUE},
            {"label": "Non-billable hours", "data": [_hours(r.non_billable_seconds) for r in report.rows], "backgroundColor": GREY},
        ],
        scales={"x": {"stacked": True}, "y": {"stacked": True, "title": {"display": True, "text": "hours"}}},
    )  # fmt: skip


@workspace_view(Perm.TIME_VIEW_OWN)
def report_hours(request: HttpRequest, principal: Principal) -> HttpResponse:
    """Finished time in a period grouped by member, project, client, task, tag, day, week or month."""
    return _report_page(
        request,
        principal,
        name="hours-summary",
        title="Hours",
        template="billing/report_hours.html",
        form_class=HoursForm,
        run=lambda data: hours_summary(actor=principal, **data),
        table=exports.hours_summary_table,
        chart=hours_chart,
        url_name="reports",
    )


# --- utilization ------------------------------------------------------------------------------


def utilization_chart(report: list[UtilizationRow]) -> Chart | None:
    if not report:
        return None
    return _bar(
        [r.username for r in report],
        [
            {"label": "Billable hours", "data": [_hours(r.billable_seconds) for r in report], "backgroundColor": BLUE, "stack": "worked"},
            {"label": "Non-billable hours", "data": [_hours(r.non_billable_seconds) for r in report], "backgroundColor": GREY, "stack": "worked"},
            {"label": "Capacity (hours)", "data": [_money(r.capacity_hours) for r in report], "backgroundColor": GREEN, "stack": "capacity"},
        ],
        scales={"x": {"stacked": True}, "y": {"stacked": True, "title": {"display": True, "text": "hours"}}},
    )  # fmt: skip


@workspace_view(Perm.TIME_VIEW_OWN)
def report_utilization(request: HttpRequest, principal: Principal) -> HttpResponse:
    """Per member: billable and non-billable time against capacity (members see themselves)."""
    return _report_page(
        request,
        principal,
        name="utilization",
        title="Utilization",
        template="billing/report_utilization.html",
        form_class=PeriodForm,
        run=lambda data: utilization_report(actor=principal, **data),
        table=exports.utilization_table,
        chart=utilization_chart,
        url_name="report-utilization",
    )


# --- budget burn ------------------------------------------------------------------------------


def budget_chart(report: list[BudgetHealth]) -> Chart | None:
    if not report:
        return None
    return _bar(
        [h.project_name for h in report],
        [
            {
                "label": "Budget used (%)",
                "data": [_money(h.percent) for h in report],
                "backgroundColor": [STATUS_COLOURS.get(h.status, BLUE) for h in report],
            }
        ],
        indexAxis="y",
        scales={"x": {"suggestedMax": 100, "title": {"display": True, "text": "% of budget"}}},
        plugins={"legend": {"display": False}},
    )


@workspace_view(Perm.PROJECT_VIEW)
def report_budget(request: HttpRequest, principal: Principal) -> HttpResponse:
    """Budget burn of every visible active project with a budget, up to a day."""
    return _report_page(
        request,
        principal,
        name="budget-health",
        title="Budget burn",
        template="billing/report_budget.html",
        form_class=AsOfForm,
        run=lambda data: budget_health(actor=principal, **data),
        table=exports.budget_health_table,
        chart=budget_chart,
        url_name="report-budget",
    )


# --- unbilled ---------------------------------------------------------------------------------


def unbilled_chart(report: Unbilled) -> Chart | None:
    if not report.clients:
        return None
    return _bar(
        [c.client_name for c in report.clients],
        [{"label": "Unbilled amount", "data": [_money(c.amount) for c in report.clients], "backgroundColor": AMBER}],
        scales={"y": {"title": {"display": True, "text": "amount"}}},
    )


@workspace_view(Perm.INVOICE_VIEW)
def report_unbilled(request: HttpRequest, principal: Principal) -> HttpResponse:
    """Approved, billable, not-yet-invoiced time and expenses per client and project."""
    return _report_page(
        request,
        principal,
        name="unbilled",
        title="Unbilled",
        template="billing/report_unbilled.html",
        form_class=AsOfForm,
        run=lambda data: unbilled_report(actor=principal, **data),
        table=exports.unbilled_table,
        chart=unbilled_chart,
        url_name="report-unbilled",
    )


# --- profitability ----------------------------------------------------------------------------


def profitability_chart(report: Profitability) -> Chart | None:
    if not report.rows:
        return None
    return _bar(
        [r.label for r in report.rows],
        [
            {"label": "Revenue", "data": [_money(r.revenue) for r in report.rows], "backgroundColor": BLUE},
            {"label": "Cost", "data": [_money(r.cost) for r in report.rows], "backgroundColor": GREY},
            {"label": "Margin", "data": [_money(r.margin) for r in report.rows], "backgroundColor": GREEN},
        ],
        scales={"y": {"title": {"display": True, "text": "amount"}}},
    )


@workspace_view(Perm.TIME_VIEW_ALL, Perm.SENSITIVE_VIEW)
def report_profitability(request: HttpRequest, principal: Principal) -> HttpResponse:
    """Revenue, cost and margin per project or client (admins and owners)."""
    if not can_see_profitability(principal):
        raise PermissionDenied("Profitability shows cost rates and margins, which you may not see.")
    return _report_page(
        request,
        principal,
        name="profitability",
        title="Profitability",
        template="billing/report_profitability.html",
        form_class=ProfitForm,
        run=lambda data: profitability(actor=principal, **data),
        table=exports.profitability_table,
        chart=profitability_chart,
        url_name="report-profitability",
    )
