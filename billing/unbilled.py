"""Unbilled time and expenses: what is approved and billable but on no invoice yet, per client and
project, at the snapshotted rates. The queries compile once per shape (``timetracker.compiled``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import DateField, DateTimeField, Exists, F, OuterRef, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.models import Expense
from billing.money import MONEY, SECONDS_PER_HOUR, rate_seconds, round_money
from timesheets.models import EntryState, TimeEntry, Timesheet, TimesheetStatus
from timesheets.selectors import WeekStart, day_start_utc
from timetracker.compiled import ID, Param, values_rows
from workspaces import policies
from workspaces.models import Workspace
from workspaces.policies import Perm
from workspaces.principals import Principal


@dataclass(frozen=True)
class UnbilledProject:
    project_id: int
    project_name: str
    seconds: int
    time_amount: Decimal
    expense_amount: Decimal

    @property
    def amount(self) -> Decimal:
        return self.time_amount + self.expense_amount


@dataclass(frozen=True)
class UnbilledClient:
    client_id: int
    client_name: str
    projects: list[UnbilledProject]

    @property
    def amount(self) -> Decimal:
        return sum((p.amount for p in self.projects), Decimal("0.00"))


@dataclass(frozen=True)
class Unbilled:
    as_of: date
    clients: list[UnbilledClient]
    pending_review_seconds: int

    @property
    def amount(self) -> Decimal:
        return sum((c.amount for c in self.clients), Decimal("0.00"))


def _billable_time(*, workspace_id: Any, until: Any) -> QuerySet[TimeEntry]:
    """Finished billable entries up to ``until`` on no invoice, of projects with a client."""
    return TimeEntry.objects.filter(
        workspace_id=workspace_id,
        billable=True,
        ended_at__isnull=False,
        started_at__lt=until,
        invoice_line__isnull=True,
        project__client__isnull=False,
    )


def _approved_week(week: str) -> Exists:
    """The row's member had the workspace week in the row's ``week`` field approved."""
    return Exists(
        Timesheet.objects.filter(
            workspace_id=Param("workspace_id", ID),
            status=TimesheetStatus.APPROVED,
            member_id=OuterRef("member_id"),
            week_start=OuterRef(week),
        )
    )


UNBILLED_NAMES = ("project_id", "project__name", "project__client_id", "project__client__name")


def _unbilled_time() -> QuerySet[Any]:
    """Active billable time in approved weeks, summed per project (placeholders: workspace_id, until)."""
    billable = _billable_time(workspace_id=Param("workspace_id", ID), until=Param("until", DateTimeField()))
    return (
        billable.filter(state=EntryState.ACTIVE)
        .filter(_approved_week("week_start"))  # the entry's stored week: no time zone per row
        .values(*UNBILLED_NAMES)
        .annotate(
            seconds=Sum("duration_seconds"),
            money=Coalesce(Sum(rate_seconds()), Value(Decimal("0"), output_field=MONEY)),
        )
        .order_by()
    )


def _unbilled_expenses(workspace: Workspace) -> QuerySet[Any]:
    """Billable expenses in approved weeks, summed per project (placeholders: workspace_id, as_of)."""
    return (
        Expense.objects.filter(
            workspace_id=Param("workspace_id", ID),
            billable=True,
            state="active",
            invoice_line__isnull=True,
            date__lte=Param("as_of", DateField()),
        )
        .exclude(project__client__isnull=True)
        .alias(week=WeekStart(F("date"), workspace=workspace))
        .filter(_approved_week("week"))
        .values(*UNBILLED_NAMES)
        .annotate(amount=Sum("amount"))
        .order_by()
    )


def _unbilled_drafts() -> QuerySet[Any]:
    """Agent drafts that would be unbilled time once accepted, summed (one row or none)."""
    billable = _billable_time(workspace_id=Param("workspace_id", ID), until=Param("until", DateTimeField()))
    return (
        billable.filter(state=EntryState.DRAFT)
        .values("workspace_id")
        .annotate(seconds=Sum("duration_seconds"))
        .order_by()
    )


def unbilled(*, actor: Principal, as_of: date | None = None) -> Unbilled:
    """Approved, billable, not-yet-invoiced time and expenses up to ``as_of``, per client and
    project, with amounts at the snapshotted rates (expenses at cost). Managers and up. Three
    queries: time and expenses are summed per project in the database, each kept only where its
    member's week is approved (a semi-join on the member and the workspace week: an entry's stored
    ``week_start``, an expense's date's week), and drafts."""
    policies.ensure(actor, Perm.INVOICE_VIEW)
    workspace = actor.workspace
    as_of = as_of or timezone.localdate(timezone=workspace.tzinfo)
    until = day_start_utc(workspace, as_of + timedelta(days=1))
    values = {"workspace_id": workspace.pk, "until": until, "as_of": as_of}
    # Compiled once per shape: an expense's week is cut by the workspace's first weekday.
    time_rows = values_rows(("unbilled time",), _unbilled_time, values)
    expense_rows = values_rows(
        ("unbilled expenses", workspace.week_start), lambda: _unbilled_expenses(workspace), values
    )
    projects: dict[int, dict[str, Any]] = {}

    def slot(row: dict[str, Any]) -> dict[str, Any]:
        return projects.setdefault(
            row["project_id"],
            {
                "name": row["project__name"],
                "client_id": row["project__client_id"],
                "client_name": row["project__client__name"],
                "seconds": 0,
                "money": Decimal("0"),
                "expenses": Decimal("0.00"),
            },
        )

    for r in time_rows:
        s = slot(r)
        s["seconds"] += r["seconds"]
        s["money"] += r["money"]
    for r in expense_rows:
        slot(r)["expenses"] += r["amount"]
    clients: dict[int, UnbilledClient] = {}
    for project_id, s in sorted(projects.items(), key=lambda item: (item[1]["client_name"], item[1]["name"])):
        client = clients.setdefault(s["client_id"], UnbilledClient(s["client_id"], s["client_name"], []))
        client.projects.append(
            UnbilledProject(
                project_id=project_id,
                project_name=s["name"],
                seconds=s["seconds"],
                time_amount=round_money(s["money"] / SECONDS_PER_HOUR),
                expense_amount=s["expenses"],
            )
        )
    drafts = values_rows(("unbilled drafts",), _unbilled_drafts, values)
    pending = drafts[0]["seconds"] if drafts else 0
    return Unbilled(as_of=as_of, clients=list(clients.values()), pending_review_seconds=pending)
