"""Exports: CSV and XLSX of time entries and of every report, built row by row.

CSV is produced as a generator of encoded lines, so a face can stream 100 000 rows without
holding them (entries are read from the database in chunks). XLSX is written by XlsxWriter in
constant-memory mode to a temporary file, which the face then streams.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from billing.reports import HoursSummary, Profitability, UtilizationRow
from billing.selectors import BudgetHealth
from billing.unbilled import Unbilled
from timesheets.models import TimeEntry
from workspaces.models import Workspace
from workspaces.tabular import csv_lines, xlsx_file

__all__ = ["csv_lines", "xlsx_file"]  # the generic writers, re-exported for the billing faces

ENTRY_COLUMNS = (
    "id",
    "date",
    "start",
    "end",
    "hours",
    "member",
    "client",
    "project",
    "task",
    "description",
    "billable",
    "state",
    "tags",
)
CHUNK = 2000


def _entry_row(entry: TimeEntry, workspace: Workspace) -> list[Any]:
    start = timezone.localtime(entry.started_at, workspace.tzinfo)
    end = timezone.localtime(entry.ended_at, workspace.tzinfo) if entry.ended_at else None
    return [
        entry.pk,
        start.date().isoformat(),
        start.isoformat(timespec="seconds"),
        end.isoformat(timespec="seconds") if end else "",
        f"{(entry.duration_seconds or 0) / 3600:.2f}",
        entry.member.user.get_username(),
        entry.project.client.name if entry.project.client else "",
        entry.project.name,
        entry.task.name if entry.task else "",
        entry.description,
        "yes" if entry.billable else "no",
        entry.state,
        ", ".join(tag.name for tag in entry.tags.all()),
    ]


def entry_rows(entries: QuerySet[TimeEntry], workspace: Workspace) -> Iterator[list[Any]]:
    """Rows for an entries export, read in chunks (tags prefetched per chunk)."""
    for entry in entries.iterator(chunk_size=CHUNK):
        yield _entry_row(entry, workspace)


# --- reports as tables (header, rows) for csv_lines / xlsx_file --------------------------------

Table = tuple[tuple[str, ...], list[list[Any]]]


def _hours(seconds: int) -> str:
    return f"{seconds / 3600:.2f}"


def hours_summary_table(summary: HoursSummary) -> Table:
    header = (summary.group_by, "hours", "billable_hours", "non_billable_hours")
    rows = [
        [r.label, _hours(r.seconds), _hours(r.billable_seconds), _hours(r.non_billable_seconds)] for r in summary.rows
    ]
    rows.append(
        ["total", _hours(summary.total_seconds), _hours(summary.billable_seconds), _hours(summary.non_billable_seconds)]
    )
    rows.append(["pending review (drafts)", _hours(summary.pending_review_seconds), "", ""])
    return header, rows


def utilization_table(report: list[UtilizationRow]) -> Table:
    header = ("member", "billable_hours", "non_billable_hours", "capacity_hours", "utilization_percent")
    return header, [
        [
            r.username,
            _hours(r.billable_seconds),
            _hours(r.non_billable_seconds),
            r.capacity_hours,
            r.utilization_percent,
        ]
        for r in report
    ]


def budget_health_table(report: list[BudgetHealth]) -> Table:
    columns = (
        "project_name", "period", "budget_hours", "used_hours", "remaining_hours", "budget_amount", "used_amount",
        "remaining_amount", "percent", "forecast_percent", "status",
    )  # fmt: skip
    header = ("project", *columns[1:])
    return header, [[getattr(h, column) for column in columns] for h in report]


def unbilled_table(report: Unbilled) -> Table:
    header = ("client", "project", "hours", "time_amount", "expense_amount", "amount")
    rows = [
        [c.client_name, p.project_name, _hours(p.seconds), p.time_amount, p.expense_amount, p.amount]
        for c in report.clients
        for p in c.projects
    ]
    rows.append(["total", "", "", "", "", report.amount])
    return header, rows


def profitability_table(report: Profitability) -> Table:
    """Redacted figures are left empty, and a last row says which were withheld."""
    header = (report.group_by, "hours", "revenue", "cost", "margin", "margin_percent")
    rows = [[r.label, _hours(r.seconds), r.revenue, r.cost, r.margin, r.margin_percent] for r in report.rows]
    rows.append(["total", "", report.revenue, report.cost, report.margin, report.margin_percent])
    if report.redacted:
        rows.append([f"redacted: {', '.join(report.redacted)}", "", "", "", "", ""])
    return header, rows
