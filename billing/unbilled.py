"""Unbilled time and expenses: what is approved and billable but on no invoice yet, per client and
project, at the snapshotted rates. The queries compile once per shape (``timetracker.compiled``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.db import connections
from django.db.models import (
    BigIntegerField,
    BooleanField,
    DateField,
    DateTimeField,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.models import Expense
from billing.money import money_of_cent_seconds
from timesheets.models import EntryState, TimeEntry, Timesheet, TimesheetStatus
from timesheets.selectors import WeekStart, day_start_utc
from timetracker.compiled import ID, Param, Read, Template, together, values_rows
from workspaces import policies
from workspaces.models import Project, Workspace
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
    """Finished billable entries up to ``until`` on no invoice (of any project: those without a
    client drop out with their names, :func:`_client_projects`)."""
    return TimeEntry.objects.filter(
        workspace_id=workspace_id,
        billable=True,
        ended_at__isnull=False,
        started_at__lt=until,
        invoice_line__isnull=True,
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


def _unbilled_time() -> QuerySet[Any]:
    """Active billable time in approved weeks, summed per project (placeholders: workspace_id, until)."""
    billable = _billable_time(workspace_id=Param("workspace_id", ID), until=Param("until", DateTimeField()))
    return (
        billable.filter(state=EntryState.ACTIVE)
        .filter(_approved_week("week_start"))  # the entry's stored week: no time zone per row
        .values("project_id")
        .annotate(
            seconds=Sum("duration_seconds"),
            cent_seconds=Coalesce(Sum("billable_cent_seconds"), 0),
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
        .alias(week=WeekStart(F("date"), workspace=workspace))
        .filter(_approved_week("week"))
        .values("project_id")
        .annotate(amount=Sum("amount"))
        .order_by()
    )


def _unbilled_drafts() -> QuerySet[Any]:
    """Agent drafts that would be unbilled time once accepted, summed (one row or none)."""
    billable = _billable_time(workspace_id=Param("workspace_id", ID), until=Param("until", DateTimeField()))
    return (
        billable.filter(state=EntryState.DRAFT, project__client__isnull=False)
        .values("workspace_id")
        .annotate(seconds=Sum("duration_seconds"))
        .order_by()
    )


def _client_projects(workspace: Workspace, ids: set[int]) -> dict[int, dict[str, Any]]:
    """The name and client of each of ``ids`` that has a client (one query; none for no ids).

    The sums are taken per project id alone and named afterwards: joining 12 000 entries to their
    projects and clients and grouping them on the names too cost a quarter of unbilled time's query
    at one million entries (bench/README, tenth round). On PostgreSQL the ids go as one array
    parameter, so the query is compiled once (a list of ids is SQL of its own length)."""
    if not ids:
        return {}
    if connections[Project.objects.db].vendor == "postgresql":
        values = {"workspace_id": workspace.pk, "ids": sorted(ids)}
        build = lambda: _projects_named(Param("workspace_id", ID), Param("ids", _IDS))  # noqa: E731
        rows = values_rows(("unbilled projects",), build, values)
    else:
        rows = list(_projects_named(workspace.pk, ids))
    return {
        row["pk"]: {"name": row["name"], "client_id": row["client_id"], "client_name": row["client__name"]}
        for row in rows
    }


_IDS: ArrayField[Any, Any] = ArrayField(BigIntegerField())


def _projects_named(workspace_id: Any, ids: Param | set[int]) -> QuerySet[Any]:
    """The workspace's projects of ``ids`` that have a client, with their names; ``ids`` an array
    placeholder (``= ANY``) or the ids themselves (``IN``)."""
    of_ids: Any = Q(pk__in=ids)
    if isinstance(ids, Param):
        of_ids = Func(F("pk"), ids, template="(%(expressions)s))", arg_joiner=" = ANY(", output_field=BooleanField())
    return (
        Project.objects.filter(of_ids, workspace_id=workspace_id, client__isnull=False)
        .values("pk", "name", "client_id", "client__name")
        .order_by()
    )


def unbilled(*, actor: Principal, as_of: date | None = None) -> Unbilled:
    """Approved, billable, not-yet-invoiced time and expenses up to ``as_of``, per client and
    project, with amounts at the snapshotted rates (expenses at cost). Managers and up. Four
    queries in two round trips: time and expenses summed per project in the database, each kept
    only where its member's week is approved (a semi-join on the member and the workspace week: an
    entry's stored ``week_start``, an expense's date's week), and drafts, sent together; then the
    names of the projects found."""
    policies.ensure(actor, Perm.INVOICE_VIEW)
    workspace = actor.workspace
    as_of = as_of or timezone.localdate(timezone=workspace.tzinfo)
    until = day_start_utc(workspace, as_of + timedelta(days=1))
    values = {"workspace_id": workspace.pk, "until": until, "as_of": as_of}
    # Compiled once per shape (an expense's week is cut by the workspace's first weekday), the
    # three sums sent in one round trip; only the projects' names wait for their ids.
    time_rows, expense_rows, drafts = together(
        Read(Template, ("unbilled time",), _unbilled_time, values),
        Read(Template, ("unbilled expenses", workspace.week_start), lambda: _unbilled_expenses(workspace), values),
        Read(Template, ("unbilled drafts",), _unbilled_drafts, values),
    )
    named = _client_projects(workspace, {r["project_id"] for r in [*time_rows, *expense_rows]})
    projects: dict[int, dict[str, Any]] = {
        pk: {**names, "seconds": 0, "cent_seconds": 0, "expenses": Decimal("0.00")} for pk, names in named.items()
    }
    for r in time_rows:
        if (s := projects.get(r["project_id"])) is not None:
            s["seconds"] += r["seconds"]
            s["cent_seconds"] += r["cent_seconds"]
    for r in expense_rows:
        if (s := projects.get(r["project_id"])) is not None:
            s["expenses"] += r["amount"]
    clients: dict[int, UnbilledClient] = {}
    for project_id, s in sorted(projects.items(), key=lambda item: (item[1]["client_name"], item[1]["name"])):
        client = clients.setdefault(s["client_id"], UnbilledClient(s["client_id"], s["client_name"], []))
        client.projects.append(
            UnbilledProject(
                project_id=project_id,
                project_name=s["name"],
                seconds=s["seconds"],
                time_amount=money_of_cent_seconds(s["cent_seconds"]),
                expense_amount=s["expenses"],
            )
        )
    pending = drafts[0]["seconds"] if drafts else 0
    return Unbilled(as_of=as_of, clients=list(clients.values()), pending_review_seconds=pending)
