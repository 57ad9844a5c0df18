"""Reads of the money side: which rates apply, and how budgets burn."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import (
    Case,
    CharField,
    DateTimeField,
    Func,
    JSONField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, JSONObject
from django.db.models.lookups import Exact
from django.utils import timezone

from billing.models import Expense, Invoice
from billing.money import SECONDS_PER_HOUR, money_of_cent_seconds, round_money
from timesheets.models import EntryState, TimeEntry
from timesheets.selectors import day_start_utc
from timetracker.compiled import ID, Param, values_rows
from workspaces import policies
from workspaces.models import BudgetPeriod, Membership, Project, Task
from workspaces.policies import Perm
from workspaces.principals import Principal
from workspaces.selectors import get_or_not_found, project_list, project_team_member


@dataclass(frozen=True)
class ResolvedRates:
    billable_rate: Decimal | None
    cost_rate: Decimal | None


def rates_resolve(*, member: Membership, project: Project, task: Task | None) -> ResolvedRates:
    """Billable rate: task → project → member → workspace, the first that is set. Cost rate: the member's."""
    for candidate in (
        task.billable_rate if task is not None else None,
        project.billable_rate,
        member.billable_rate,
        member.workspace.default_billable_rate,  # the project's too (time is logged in its workspace)
    ):
        if candidate is not None:
            billable_rate: Decimal | None = candidate
            break
    else:
        billable_rate = None
    return ResolvedRates(billable_rate=billable_rate, cost_rate=member.cost_rate)


def billable_default(*, project: Project, task: Task | None) -> bool:
    """Whether new time is billable: task → project → workspace, the first that is set."""
    if task is not None and task.billable is not None:
        return task.billable
    if project.billable_by_default is not None:
        return project.billable_by_default
    return project.workspace.default_billable


@dataclass(frozen=True)
class BudgetHealth:
    """A project's budget burn in its current period (hours and money; drafts apart)."""

    project_id: int
    project_name: str
    period: str  # "total" | "monthly"
    period_start: date | None
    period_end: date | None  # inclusive; None for a total budget
    budget_hours: Decimal | None
    used_hours: Decimal
    remaining_hours: Decimal | None
    budget_amount: Decimal | None
    used_amount: Decimal
    remaining_amount: Decimal | None
    percent: Decimal  # the larger of hours and money burn
    forecast_hours: Decimal | None  # linear, to the period end (monthly budgets)
    forecast_amount: Decimal | None
    forecast_percent: Decimal | None
    status: str  # "ok" | "warning" | "over"
    thresholds: tuple[int, ...]
    pending_review_hours: Decimal


def _percent(used: Decimal, budget: Decimal | None) -> Decimal | None:
    if budget is None or budget <= 0:
        return None
    return (used * 100 / budget).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def budget_status(percent: Decimal, thresholds: Iterable[int]) -> str:
    if percent >= 100:
        return "over"
    if any(percent >= t for t in thresholds):
        return "warning"
    return "ok"


# Before any entry: where a total budget's count starts.
BEGINNING = datetime(1, 1, 1, tzinfo=UTC)


class OverEveryRow(Func):
    """Aggregates over every row a subquery reads, as one row: without ``GROUP BY``.

    Django groups a subquery's aggregate by a column (``values("project")``), or by the row's id
    when nothing is named. Summed per project that way, PostgreSQL sorted the rows into groups
    first; as one plain aggregate, ``budget_health``'s query took 8.7–9.5 instead of 11.0–12.1 ms
    at one million entries (bench/README, eighteenth round)."""

    template = "%(expressions)s"
    contains_aggregate = False  # so Django adds no GROUP BY


def _budget_query(actor: Principal, *, one_project: bool) -> QuerySet[Any]:
    """budget_health's one query, with placeholders for the workspace, the team member (members
    see their projects), the project, the end of ``as_of`` and the start of its month."""
    projects = project_list(actor=actor, params=True).filter(
        Q(budget_hours__isnull=False) | Q(budget_amount__isnull=False)
    )
    if one_project:
        projects = projects.filter(pk=Param("project_id", ID))
    # Each project sums its own finished entries up to ``as_of`` in its budget period, in a
    # subquery read by (project, started_at). Summed over all projects' entries joined to them
    # instead, the database aggregated the joined rows (bench/ at 1M entries, measured in turns:
    # the query 30 → 24 ms, the selector 41 → 34 ms). The period's start is one bound of that
    # read (the beginning of time for a total budget): as "total, or since the month began", it
    # was a filter over every entry a monthly budget's project ever had (bench/README, eighteenth
    # round: the query 12.8 → 11.3 ms at 1M entries).
    period_start = Case(
        When(Exact(OuterRef("budget_period"), BudgetPeriod.TOTAL), then=Value(BEGINNING)),
        default=Param("period_start", DateTimeField()),
        output_field=DateTimeField(),
    )
    active = Q(state=EntryState.ACTIVE)
    per_project = (
        TimeEntry.objects.filter(
            project=OuterRef("pk"),
            ended_at__isnull=False,
            started_at__lt=Param("until", DateTimeField()),
            started_at__gte=period_start,
        )
        .order_by()
        .annotate(
            sums=OverEveryRow(
                JSONObject(
                    seconds=Coalesce(Sum("duration_seconds", filter=active), 0),
                    # As text: a JSON number would come back a float.
                    cent_seconds=Cast(Sum("billable_cent_seconds", filter=active & Q(billable=True)), CharField()),
                    draft_seconds=Coalesce(Sum("duration_seconds", filter=Q(state=EntryState.DRAFT)), 0),
                ),
                output_field=JSONField(),
            )
        )
        .values("sums")
    )
    return (
        projects.values("pk", "name", "budget_period", "budget_hours", "budget_amount", "alert_thresholds")
        .annotate(sums=Subquery(per_project, output_field=JSONField()))
        .order_by("name")
    )


def budget_health(*, actor: Principal, as_of: date | None = None, project: Project | None = None) -> list[BudgetHealth]:
    """Budget burn of every visible active project with a budget, up to ``as_of`` (default: today).

    Monthly budgets count the calendar month of ``as_of`` in the workspace time zone and are
    forecast linearly to its end; total budgets count everything. One query, compiled once per
    shape (timetracker.compiled).
    """
    workspace = actor.workspace
    as_of = as_of or timezone.localdate(timezone=workspace.tzinfo)
    month_start = as_of.replace(day=1)
    days_in_month = calendar.monthrange(as_of.year, as_of.month)[1]
    month_end = month_start + timedelta(days=days_in_month - 1)
    until = day_start_utc(workspace, as_of + timedelta(days=1))

    team_member = project_team_member(actor)
    values = {
        "workspace_id": workspace.pk,
        "team_member_id": team_member,
        "project_id": project.pk if project is not None else None,
        "until": until,
        "period_start": day_start_utc(workspace, month_start),
    }
    key = ("budget_health", team_member is not None, project is not None)
    rows = values_rows(key, lambda: _budget_query(actor, one_project=project is not None), values)

    elapsed = Decimal((as_of - month_start).days + 1) / Decimal(days_in_month)
    result = []
    for row in rows:
        sums: dict[str, Any] = row["sums"] or {}  # no entries in the period
        monthly = row["budget_period"] == BudgetPeriod.MONTHLY
        budget_hours, budget_amount = row["budget_hours"], row["budget_amount"]
        used_hours = (Decimal(sums.get("seconds", 0)) / SECONDS_PER_HOUR).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
        used_amount = money_of_cent_seconds(sums.get("cent_seconds"))
        percents = [
            p for p in (_percent(used_hours, budget_hours), _percent(used_amount, budget_amount)) if p is not None
        ]
        percent = max(percents, default=Decimal("0.0"))
        thresholds = tuple(sorted(row["alert_thresholds"] or [80, 100]))
        forecast_hours = (used_hours / elapsed).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if monthly else None
        forecast_amount = round_money(used_amount / elapsed) if monthly else None
        forecast_percents = [
            p
            for p in (
                _percent(forecast_hours, budget_hours) if forecast_hours is not None else None,
                _percent(forecast_amount, budget_amount) if forecast_amount is not None else None,
            )
            if p is not None
        ]
        result.append(
            BudgetHealth(
                project_id=row["pk"],
                project_name=row["name"],
                period=row["budget_period"],
                period_start=month_start if monthly else None,
                period_end=month_end if monthly else None,
                budget_hours=budget_hours,
                used_hours=used_hours,
                remaining_hours=budget_hours - used_hours if budget_hours is not None else None,
                budget_amount=budget_amount,
                used_amount=used_amount,
                remaining_amount=budget_amount - used_amount if budget_amount is not None else None,
                percent=percent,
                forecast_hours=forecast_hours,
                forecast_amount=forecast_amount,
                forecast_percent=max(forecast_percents) if forecast_percents else None,
                status=budget_status(percent, thresholds),
                thresholds=thresholds,
                pending_review_hours=(Decimal(sums.get("draft_seconds", 0)) / SECONDS_PER_HOUR).quantize(
                    Decimal("0.01"), rounding=ROUND_HALF_UP
                ),
            )
        )
    return result


def invoice_get(*, actor: Principal, invoice_id: object) -> Invoice:
    """One invoice of the caller's workspace (managers and up); others' answer 'not found'."""
    policies.ensure(actor, Perm.INVOICE_VIEW)
    return get_or_not_found(
        Invoice.objects.filter(workspace=actor.workspace).select_related("client"), invoice_id, label="Invoice"
    )


def invoice_list(*, actor: Principal, status: str | None = None, client_id: int | None = None) -> QuerySet[Invoice]:
    """The workspace's invoices (managers and up), newest first; filters only narrow the workspace's."""
    policies.ensure(actor, Perm.INVOICE_VIEW)
    invoices = Invoice.objects.filter(workspace=actor.workspace).select_related("client")
    if status:
        invoices = invoices.filter(status=status)
    if client_id is not None:
        invoices = invoices.filter(client_id=client_id)
    return invoices


def expense_list(
    *,
    actor: Principal,
    member_id: int | None = None,
    project_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[Expense]:
    """Expenses the caller may see (members their own, managers and up everyone's), newest first."""
    policies.ensure(actor, Perm.TIME_VIEW_OWN)
    expenses = Expense.objects.filter(workspace=actor.workspace).select_related("member__user", "project")
    if not policies.can(actor, Perm.TIME_VIEW_ALL):
        expenses = expenses.filter(member=actor.membership)
    if member_id is not None:
        expenses = expenses.filter(member_id=member_id)
    if project_id is not None:
        expenses = expenses.filter(project_id=project_id)
    if date_from is not None:
        expenses = expenses.filter(date__gte=date_from)
    if date_to is not None:
        expenses = expenses.filter(date__lte=date_to)
    return expenses


def expense_get(*, actor: Principal, expense_id: object) -> Expense:
    """One expense the caller may see; anything else answers 'not found'."""
    return get_or_not_found(expense_list(actor=actor), expense_id, label="Expense")
