"""Report tools: the same selectors, and the same numbers, as the REST reports."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from billing.reports import hours_summary as hours_summary_report
from billing.reports import profitability, utilization
from billing.rest_reports import (
    BudgetHealthListOutput,
    HoursSummaryOutput,
    ProfitabilityOutput,
    UnbilledOutput,
    UtilizationOutput,
)
from billing.selectors import budget_health as budget_health_report
from billing.unbilled import unbilled
from mcp_gateway.arguments import optional_day, period
from mcp_gateway.registry import tool
from mcp_gateway.schemas import model_for
from mcp_gateway.tools.common import DayArg, OptionalId, shaped
from workspaces.policies import Perm
from workspaces.principals import Principal
from workspaces.selectors import client_get, member_get, project_get

HoursSummary = model_for(HoursSummaryOutput)
Utilization = model_for(UtilizationOutput)
BudgetHealth = model_for(BudgetHealthListOutput, "BudgetHealth")
Unbilled = model_for(UnbilledOutput)
Profitability = model_for(ProfitabilityOutput)


@tool(title="Hours summary", perm=Perm.TIME_VIEW_OWN)
def hours_summary(
    caller: Principal,
    date_from: DayArg = None,
    date_to: DayArg = None,
    group_by: Literal["member", "project", "client", "task", "tag", "day", "week", "month"] = "project",
    member_id: OptionalId = None,
    project_id: OptionalId = None,
    client_id: OptionalId = None,
    billable: Annotated[bool | None, Field(description="Only billable (true) or non-billable (false) time")] = None,
) -> HoursSummary:  # type: ignore[valid-type]
    """Finished, active time in a period grouped by member, project, client, task, tag, day, week or
    month: seconds and decimal hours per row with the billable / non-billable split, and totals.
    Members see only their own time. Agent drafts are not counted; their total is in
    pending_review_seconds. date_from/date_to are inclusive days in the workspace time zone (default: this month up to today)."""
    start, end = period(date_from, date_to, workspace=caller.workspace)
    filters = {
        "member": member_get(actor=caller, member_id=member_id) if member_id is not None else None,
        "project": project_get(actor=caller, project_id=project_id) if project_id is not None else None,
        "client": client_get(actor=caller, client_id=client_id) if client_id is not None else None,
        "billable": billable,
    }
    report = hours_summary_report(
        actor=caller,
        date_from=start,
        date_to=end,
        group_by=group_by,
        **{name: value for name, value in filters.items() if value is not None},
    )
    return HoursSummary.model_validate(shaped(HoursSummaryOutput, report, caller))


@tool(title="Utilization", perm=Perm.TIME_VIEW_OWN)
def utilization_report(caller: Principal, date_from: DayArg = None, date_to: DayArg = None) -> Utilization:  # type: ignore[valid-type]
    """Per member: billable and non-billable seconds, capacity hours for the period's working days,
    and utilization % (billable ÷ capacity; null without capacity). Members see only themselves. date_from/date_to are inclusive days in the workspace time zone (default: this month up to today)."""
    start, end = period(date_from, date_to, workspace=caller.workspace)
    rows = utilization(actor=caller, date_from=start, date_to=end)
    return Utilization.model_validate(shaped(UtilizationOutput, {"rows": rows}, caller))


@tool(title="Budget health", perm=Perm.PROJECT_VIEW)
def budget_health(
    caller: Principal,
    as_of: DayArg = None,
    project_id: OptionalId = None,
) -> BudgetHealth:  # type: ignore[valid-type]
    """Per active project with a budget: hours and money used vs budget (total, or this month for
    monthly budgets), remaining, the linear forecast to the month's end, percent burnt and status
    (ok, warning at the first alert threshold, over at 100 %). Drafts are apart in
    pending_review_hours. as_of: count up to this day (default today)."""
    project = project_get(actor=caller, project_id=project_id) if project_id is not None else None
    rows = budget_health_report(
        actor=caller,
        as_of=optional_day(as_of, workspace=caller.workspace, name="as_of"),
        project=project,
    )
    return BudgetHealth.model_validate(shaped(BudgetHealthListOutput, {"rows": rows}, caller))


@tool(title="Unbilled time and expenses", perm=Perm.INVOICE_VIEW)
def unbilled_time(caller: Principal, as_of: DayArg = None) -> Unbilled:  # type: ignore[valid-type]
    """Approved, billable time and expenses not yet on an invoice, per client and project, with
    amounts in the workspace currency (decimal strings) up to as_of (default today). Managers and up."""
    report = unbilled(actor=caller, as_of=optional_day(as_of, workspace=caller.workspace, name="as_of"))
    return Unbilled.model_validate(shaped(UnbilledOutput, report, caller))


@tool(title="Profitability", perm=Perm.SENSITIVE_VIEW, sensitive_only=True)
def profitability_report(
    caller: Principal,
    date_from: DayArg = None,
    date_to: DayArg = None,
    group_by: Literal["project", "client"] = "project",
) -> Profitability:  # type: ignore[valid-type]
    """Revenue (billable amounts), cost (cost rates) and margin per project or client for a period.
    Offered only to admins whose connection allows sensitive data. date_from/date_to are inclusive days in the workspace time zone (default: this month up to today)."""
    start, end = period(date_from, date_to, workspace=caller.workspace)
    report = profitability(actor=caller, date_from=start, date_to=end, group_by=group_by)
    return Profitability.model_validate(shaped(ProfitabilityOutput, report, caller))
