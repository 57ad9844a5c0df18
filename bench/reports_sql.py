"""Each report selector against a hand-written SQL query returning the same numbers (checked equal)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection

from billing.reports import hours_summary, unbilled, utilization
from billing.selectors import budget_health
from timesheets.selectors import day_start_utc
from workspaces.principals import Principal


def _timed(fn: Callable[[], Any], runs: int) -> tuple[Any, float]:
    fn()  # warm: plans and caches, as a serving process has them
    samples = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - started) * 1000)
    return result, statistics.median(samples)


def _sql(query: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return list(cursor.fetchall())


def compare(actor: Principal, *, month: date, runs: int = 5) -> list[dict[str, Any]]:
    workspace = actor.workspace
    first = month.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    start, end = day_start_utc(workspace, first), day_start_utc(workspace, last + timedelta(days=1))
    as_of = last
    until = day_start_utc(workspace, as_of + timedelta(days=1))
    tz = str(workspace.tzinfo)
    cases: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
        (
            "hours_summary (workspace-month by project)",
            lambda: {
                r.key: (r.seconds, r.billable_seconds)
                for r in hours_summary(actor=actor, date_from=first, date_to=last).rows
            },
            lambda: {
                p: (s, b)
                for p, s, b in _sql(
                    "SELECT project_id, SUM(duration_seconds), COALESCE(SUM(duration_seconds) FILTER (WHERE billable), 0)"
                    " FROM timesheets_timeentry WHERE workspace_id = %s AND state = 'active' AND ended_at IS NOT NULL"
                    " AND started_at >= %s AND started_at < %s GROUP BY project_id",
                    [workspace.pk, start, end],
                )
            },
        ),
        (
            "utilization (workspace-month)",
            lambda: {
                r.member_id: (r.billable_seconds, r.non_billable_seconds)
                for r in utilization(actor=actor, date_from=first, date_to=last)
            },
            lambda: {
                m: (b, n)
                for m, b, n in _sql(
                    "SELECT m.id, COALESCE(SUM(e.duration_seconds) FILTER (WHERE e.billable), 0),"
                    " COALESCE(SUM(e.duration_seconds) FILTER (WHERE NOT e.billable), 0)"
                    " FROM workspaces_membership m LEFT JOIN timesheets_timeentry e"
                    " ON e.workspace_id = m.workspace_id AND e.member_id = m.id"
                    " AND e.state = 'active' AND e.ended_at IS NOT NULL AND e.started_at >= %s AND e.started_at < %s"
                    " WHERE m.workspace_id = %s AND m.is_active GROUP BY m.id",
                    [start, end, workspace.pk],
                )
            },
        ),
        (
            "budget_health (workspace, total and monthly budgets)",
            lambda: {h.project_id: h.used_hours for h in budget_health(actor=actor, as_of=as_of)},
            lambda: {
                p: (Decimal(s) / 3600).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
                for p, s in _sql(
                    "SELECT p.id, COALESCE(SUM(e.duration_seconds) FILTER (WHERE p.budget_period <> 'monthly'"
                    " OR e.started_at >= %s), 0) FROM workspaces_project p LEFT JOIN timesheets_timeentry e"
                    " ON e.project_id = p.id AND e.state = 'active' AND e.ended_at IS NOT NULL AND e.started_at < %s"
                    " WHERE p.workspace_id = %s AND p.status = 'active'"
                    " AND (p.budget_hours IS NOT NULL OR p.budget_amount IS NOT NULL) GROUP BY p.id",
                    [start, until, workspace.pk],
                )
            },
        ),
        (
            "unbilled (approved, billable, not invoiced, per project)",
            lambda: {
                p.project_id: p.seconds
                for c in unbilled(actor=actor, as_of=as_of).clients
                for p in c.projects
                if p.seconds
            },
            lambda: dict(
                _sql(
                    "SELECT e.project_id, SUM(e.duration_seconds) FROM timesheets_timeentry e"
                    " JOIN workspaces_project p ON p.id = e.project_id"
                    " JOIN timesheets_timesheet t ON t.member_id = e.member_id AND t.status = 'approved'"
                    " AND t.week_start = (timezone(%s, e.started_at))::date"
                    "   - ((EXTRACT(ISODOW FROM timezone(%s, e.started_at))::int - 1 - %s + 7) %% 7)"
                    " WHERE e.workspace_id = %s AND e.billable AND e.state = 'active' AND e.ended_at IS NOT NULL"
                    " AND e.started_at < %s AND e.invoice_line_id IS NULL AND p.client_id IS NOT NULL"
                    " GROUP BY e.project_id",
                    [tz, tz, workspace.week_start, workspace.pk, until],
                )
            ),
        ),
    ]
    results = []
    for name, selector, sql in cases:
        ours, ours_ms = _timed(selector, runs)
        theirs, sql_ms = _timed(sql, runs)
        results.append(
            {
                "report": name,
                "selector_ms": round(ours_ms, 1),
                "sql_ms": round(sql_ms, 1),
                "ratio": round(ours_ms / sql_ms, 2) if sql_ms else None,
                "equal": ours == theirs,
                "rows": len(ours),
                "target_met": bool(sql_ms and ours_ms / sql_ms <= 1.3 and ours == theirs),
            }
        )
    return results
