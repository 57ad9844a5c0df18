"""bench/generate.py: the benchmark dataset keeps every constraint and invariant the services keep,
is reproducible from its seed, and reads back through the app's own selectors."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.management import call_command
from django.db import connection

from bench import generate, run
from billing.reports import hours_summary
from billing.selectors import budget_health
from billing.unbilled import unbilled
from timesheets.selectors import time_entry_list
from workspaces.models import Membership, Role, Workspace
from workspaces.principals import Principal

ENTRIES = 3000
ARGS = ["--entries", str(ENTRIES), "--workspaces", "2", "--members", "12", "--projects", "10", "--seed", "7"]

# Each query counts rows that break one invariant; all must be 0.
# An entry's local day and week are taken in its workspace's time zone (bench workspaces start weeks on Monday).
INVARIANTS: dict[str, str] = {
    "duration is ended_at - started_at in whole seconds": """
        SELECT COUNT(*) FROM timesheets_timeentry
        WHERE ended_at IS NOT NULL AND (duration_seconds <> EXTRACT(EPOCH FROM ended_at - started_at)
              OR EXTRACT(MICROSECONDS FROM started_at) % 1000000 <> 0)
           OR (ended_at IS NULL) <> (duration_seconds IS NULL)""",
    "entries last 15 min to 4 h": """
        SELECT COUNT(*) FROM timesheets_timeentry
        WHERE ended_at IS NOT NULL AND duration_seconds NOT BETWEEN 900 AND 14400""",
    "entry, member, project, task, tags and connection share the workspace": """
        SELECT COUNT(*) FROM timesheets_timeentry e
        JOIN workspaces_membership m ON m.id = e.member_id
        JOIN workspaces_project p ON p.id = e.project_id
        LEFT JOIN workspaces_task t ON t.id = e.task_id
        LEFT JOIN workspaces_connection c ON c.id = e.connection_id
        WHERE m.workspace_id <> e.workspace_id OR p.workspace_id <> e.workspace_id
           OR (t.id IS NOT NULL AND t.project_id <> e.project_id)
           OR (c.id IS NOT NULL AND (c.workspace_id <> e.workspace_id OR c.user_id <> m.user_id))
           OR e.created_by_id <> m.user_id
           OR EXISTS (SELECT 1 FROM timesheets_timeentry_tags et JOIN workspaces_tag g ON g.id = et.tag_id
                      WHERE et.timeentry_id = e.id AND g.workspace_id <> e.workspace_id)""",
    "members log on their own projects": """
        SELECT COUNT(*) FROM timesheets_timeentry e
        WHERE NOT EXISTS (SELECT 1 FROM workspaces_project_team pt
                          WHERE pt.project_id = e.project_id AND pt.membership_id = e.member_id)""",
    "rates are snapshotted as rates_resolve resolves them": """
        SELECT COUNT(*) FROM timesheets_timeentry e
        JOIN workspaces_membership m ON m.id = e.member_id
        JOIN workspaces_project p ON p.id = e.project_id
        JOIN workspaces_workspace w ON w.id = e.workspace_id
        LEFT JOIN workspaces_task t ON t.id = e.task_id
        WHERE e.billable_rate IS DISTINCT FROM
              COALESCE(t.billable_rate, p.billable_rate, m.billable_rate, w.default_billable_rate)
           OR e.cost_rate IS DISTINCT FROM m.cost_rate""",
    "a member's entries never overlap": """
        SELECT COUNT(*) FROM (
            SELECT started_at, LAG(ended_at) OVER (PARTITION BY member_id ORDER BY started_at) AS previous_end
            FROM timesheets_timeentry) x
        WHERE started_at < previous_end""",
    "at most one running timer per member, none in the future": """
        SELECT COUNT(*) FROM (SELECT member_id FROM timesheets_timeentry WHERE ended_at IS NULL
                              GROUP BY member_id HAVING COUNT(*) > 1
                              UNION ALL SELECT member_id FROM timesheets_timeentry WHERE started_at > now()) x""",
    "an entry's stored week is the workspace week of its local start (weeks from Monday)": """
        SELECT COUNT(*) FROM timesheets_timeentry e JOIN workspaces_workspace w ON w.id = e.workspace_id
        WHERE w.week_start <> 0 OR e.week_start <> date_trunc('week', (e.started_at AT TIME ZONE w.timezone))::date""",
    "entries of weeks ended over three weeks ago are in approved weeks": """
        SELECT COUNT(*) FROM timesheets_timeentry e JOIN workspaces_workspace w ON w.id = e.workspace_id
        WHERE date_trunc('week', (e.started_at AT TIME ZONE w.timezone))::date <= date_trunc('week', now() AT TIME ZONE w.timezone)::date - 35
          AND NOT EXISTS (SELECT 1 FROM timesheets_timesheet s WHERE s.member_id = e.member_id
                          AND s.week_start = date_trunc('week', (e.started_at AT TIME ZONE w.timezone))::date AND s.status = 'approved')""",
    "timesheets belong to their member's workspace, start on Mondays, rejections carry a reason": """
        SELECT COUNT(*) FROM timesheets_timesheet s JOIN workspaces_membership m ON m.id = s.member_id
        WHERE m.workspace_id <> s.workspace_id OR EXTRACT(ISODOW FROM s.week_start) <> 1
           OR (s.status = 'rejected') <> (s.rejection_reason <> '')
           OR (s.status IN ('approved', 'rejected')) <> (s.decided_by_id IS NOT NULL)
           OR s.decided_by_id = m.user_id AND m.role NOT IN ('owner', 'admin')""",
    "drafts are agent time in open weeks": """
        SELECT COUNT(*) FROM timesheets_timeentry e JOIN workspaces_workspace w ON w.id = e.workspace_id
        WHERE e.state = 'draft' AND (e.source <> 'mcp' OR e.connection_id IS NULL OR e.draft_reason = ''
              OR e.invoice_line_id IS NOT NULL
              OR EXISTS (SELECT 1 FROM timesheets_timesheet s WHERE s.member_id = e.member_id
                         AND s.week_start = date_trunc('week', (e.started_at AT TIME ZONE w.timezone))::date))""",
    "invoiced entries are approved, billable, active and match their line and invoice": """
        SELECT COUNT(*) FROM timesheets_timeentry e
        JOIN workspaces_workspace w ON w.id = e.workspace_id
        JOIN workspaces_project p ON p.id = e.project_id
        JOIN billing_invoiceline l ON l.id = e.invoice_line_id
        JOIN billing_invoice i ON i.id = l.invoice_id
        WHERE NOT e.billable OR e.state <> 'active' OR e.ended_at IS NULL
           OR i.status NOT IN ('issued', 'paid') OR i.number IS NULL OR i.workspace_id <> e.workspace_id
           OR i.client_id IS DISTINCT FROM p.client_id OR l.project_id <> e.project_id
           OR l.unit_price <> e.billable_rate OR (e.started_at AT TIME ZONE w.timezone)::date NOT BETWEEN i.period_start AND i.period_end
           OR NOT EXISTS (SELECT 1 FROM timesheets_timesheet s WHERE s.member_id = e.member_id
                          AND s.week_start = date_trunc('week', (e.started_at AT TIME ZONE w.timezone))::date AND s.status = 'approved')""",
    "invoice lines hold exactly their entries' time at their rate": """
        SELECT COUNT(*) FROM billing_invoiceline l
        LEFT JOIN (SELECT invoice_line_id, SUM(duration_seconds) AS seconds FROM timesheets_timeentry
                   WHERE invoice_line_id IS NOT NULL GROUP BY invoice_line_id) x ON x.invoice_line_id = l.id
        WHERE l.kind <> 'time' OR x.seconds IS NULL OR l.seconds <> x.seconds
           OR l.amount <> ROUND(l.seconds * l.unit_price / 3600, 2)
           OR ABS(l.quantity - l.seconds / 3600.0) > 0.005""",
    "invoice totals equal their lines and tax": """
        SELECT COUNT(*) FROM billing_invoice i
        LEFT JOIN (SELECT invoice_id, SUM(amount) AS amount, COUNT(*) AS n FROM billing_invoiceline
                   GROUP BY invoice_id) x ON x.invoice_id = i.id
        WHERE x.n IS NULL OR i.subtotal <> x.amount OR i.tax <> ROUND(i.subtotal * i.tax_rate / 100, 2)
           OR i.total <> i.subtotal + i.tax OR i.currency <> (SELECT currency FROM workspaces_workspace
                                                              WHERE id = i.workspace_id)
           OR (i.status = 'paid') <> (i.paid_at IS NOT NULL) OR i.issued_at IS NULL""",
    "invoice numbers are gapless per workspace, one invoice per client and month": """
        SELECT COUNT(*) FROM (
            SELECT workspace_id FROM billing_invoice GROUP BY workspace_id
            HAVING MAX(number) <> COUNT(*) OR COUNT(DISTINCT number) <> COUNT(*)
                OR COUNT(DISTINCT (client_id, period_start)) <> COUNT(*)) x""",
    "billable client time up to the last invoiced month is all invoiced, none after": """
        SELECT COUNT(*) FROM timesheets_timeentry e
        JOIN workspaces_workspace w ON w.id = e.workspace_id
        JOIN workspaces_project p ON p.id = e.project_id
        WHERE p.client_id IS NOT NULL AND e.billable AND e.state = 'active' AND e.ended_at IS NOT NULL
          AND ((e.started_at AT TIME ZONE w.timezone)::date <= (SELECT MAX(period_end) FROM billing_invoice i WHERE i.workspace_id = w.id))
              <> (e.invoice_line_id IS NOT NULL)""",
}


def invariant_violations() -> dict[str, int]:
    with connection.cursor() as cur:
        counts = {}
        for name, sql in INVARIANTS.items():
            cur.execute(sql)
            counts[name] = cur.fetchone()[0]
    return counts


def fingerprint() -> dict[str, Any]:
    """Everything but ids and the running timers' start (pulled back to the clock when ahead of it)."""
    with connection.cursor() as cur:
        cur.execute(
            """SELECT COUNT(*), SUM(e.duration_seconds), COUNT(*) FILTER (WHERE e.billable),
                      COUNT(*) FILTER (WHERE e.state = 'draft'), COUNT(*) FILTER (WHERE e.ended_at IS NULL),
                      COUNT(*) FILTER (WHERE e.invoice_line_id IS NOT NULL),
                      md5(string_agg(concat_ws('|', u.username, p.name, t.name, e.started_at, e.duration_seconds,
                                               e.billable, e.state, e.source, e.description, e.billable_rate,
                                               e.cost_rate, l.position, i.number),
                                     ',' ORDER BY e.started_at, u.username) FILTER (WHERE e.ended_at IS NOT NULL))
               FROM timesheets_timeentry e
               JOIN workspaces_membership m ON m.id = e.member_id JOIN workspaces_user u ON u.id = m.user_id
               JOIN workspaces_project p ON p.id = e.project_id LEFT JOIN workspaces_task t ON t.id = e.task_id
               LEFT JOIN billing_invoiceline l ON l.id = e.invoice_line_id
               LEFT JOIN billing_invoice i ON i.id = l.invoice_id"""
        )
        entries = cur.fetchone()
        cur.execute(
            """SELECT md5(string_agg(concat_ws('|', u.username, s.week_start, s.status), ','
                                     ORDER BY u.username, s.week_start))
               FROM timesheets_timesheet s JOIN workspaces_membership m ON m.id = s.member_id
               JOIN workspaces_user u ON u.id = m.user_id"""
        )
        timesheets = cur.fetchone()[0]
        cur.execute(
            """SELECT md5(string_agg(concat_ws('|', w.slug, i.number, c.name, i.status, i.total), ','
                                     ORDER BY w.slug, i.number))
               FROM billing_invoice i JOIN workspaces_workspace w ON w.id = i.workspace_id
               JOIN workspaces_client c ON c.id = i.client_id"""
        )
        invoices = cur.fetchone()[0]
        cur.execute(
            """SELECT COUNT(*), md5(string_agg(concat_ws('|', e.started_at, e.member_id - mn.first, g.name), ','
                                               ORDER BY e.started_at, e.member_id, g.name))
               FROM timesheets_timeentry_tags et JOIN timesheets_timeentry e ON e.id = et.timeentry_id
               JOIN workspaces_tag g ON g.id = et.tag_id
               CROSS JOIN (SELECT MIN(id) AS first FROM workspaces_membership) mn"""
        )
        tags = cur.fetchone()
    return {"entries": entries, "timesheets": timesheets, "invoices": invoices, "tags": tags}


def raw_seconds(workspace: Workspace, date_from: date, date_to: date) -> tuple[int, int]:
    with connection.cursor() as cur:
        cur.execute(
            """SELECT COALESCE(SUM(duration_seconds), 0), COALESCE(SUM(duration_seconds) FILTER (WHERE billable), 0)
               FROM timesheets_timeentry
               WHERE workspace_id = %s AND ended_at IS NOT NULL AND state = 'active'
                 AND (started_at AT TIME ZONE %s)::date BETWEEN %s AND %s""",
            [workspace.pk, workspace.timezone, date_from, date_to],
        )
        total, billable = cur.fetchone()
    return int(total), int(billable)


def raw_unbilled_seconds(workspace: Workspace) -> int:
    with connection.cursor() as cur:
        cur.execute(
            """SELECT COALESCE(SUM(e.duration_seconds), 0) FROM timesheets_timeentry e
               JOIN workspaces_project p ON p.id = e.project_id
               JOIN workspaces_workspace w ON w.id = e.workspace_id
               WHERE e.workspace_id = %s AND e.billable AND e.state = 'active' AND e.ended_at IS NOT NULL
                 AND e.invoice_line_id IS NULL AND p.client_id IS NOT NULL
                 AND EXISTS (SELECT 1 FROM timesheets_timesheet s WHERE s.member_id = e.member_id
                             AND s.status = 'approved'
                             AND s.week_start = date_trunc('week', e.started_at AT TIME ZONE w.timezone)::date)""",
            [workspace.pk],
        )
        return int(cur.fetchone()[0])


def run_generator(capsys: pytest.CaptureFixture[str], today: date) -> dict[str, Any]:
    summary = generate.main([*ARGS, "--today", today.isoformat()])
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed == summary
    return summary


@pytest.mark.django_db(transaction=True)
def test_generated_dataset_keeps_every_invariant_and_is_reproducible(capsys):
    today = date.today() - timedelta(days=2)  # pinned, so both runs see the same "today"
    summary = run_generator(capsys, today)

    # The requested scale (the scaling rule: 8 members for 3 000 entries in 2 workspaces).
    assert abs(summary["entries"] - ENTRIES) <= ENTRIES * 0.05
    assert summary["workspaces"] == 2
    assert summary["members"] == summary["users"] == 8
    assert summary["projects"] == 10
    assert summary["last_day"] == (today - timedelta(days=1)).isoformat()
    assert summary["running_timers"] == 1
    assert summary["invoices"] > 0
    assert summary["invoice_lines"] >= summary["invoices"]
    assert summary["timesheets"] > 0
    assert summary["entry_tags"] > 0
    assert 0.65 <= summary["billable_share"] <= 0.75
    assert {"seconds", "entries", "invoiced_entries"} <= summary.keys()
    assert summary["seconds"] < 20

    assert invariant_violations() == dict.fromkeys(INVARIANTS, 0)
    roles = dict(Membership.objects.filter(workspace__slug="bench-1").values_list("user__username", "role"))
    assert roles["bench-owner-1"] == Role.OWNER
    assert Role.ADMIN in roles.values()
    assert Role.MANAGER in roles.values()
    assert Role.MEMBER in roles.values()

    # The app's selectors read it as the raw SQL does.
    workspace = Workspace.objects.get(slug="bench-1")
    owner = Membership.objects.select_related("user", "workspace").get(workspace=workspace, role=Role.OWNER)
    actor = Principal(user=owner.user, membership=owner)
    assert PBKDF2PasswordHasher().verify("bench-password", owner.user.password)  # the tests' hasher is MD5
    month = (today - timedelta(days=45)).replace(day=1)
    month_end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    summary_month = hours_summary(actor=actor, date_from=month, date_to=month_end, group_by="member")
    total, billable = raw_seconds(workspace, month, month_end)
    assert total > 0
    assert (summary_month.total_seconds, summary_month.billable_seconds) == (total, billable)
    assert sum(row.seconds for row in summary_month.rows) == total
    open_amount = unbilled(actor=actor, as_of=today)
    assert sum(p.seconds for c in open_amount.clients for p in c.projects) == raw_unbilled_seconds(workspace)
    assert open_amount.amount > Decimal("0")
    assert budget_health(actor=actor, as_of=today - timedelta(days=1)) is not None

    # The bench reads the median member's week before this one: never an empty week, whatever
    # earlier runs on the database added.
    creds = run.credentials()
    week_from = date.fromisoformat(creds["week_from"])
    week = (week_from, week_from + timedelta(days=6))
    counts = sorted(
        (time_entry_list(actor=actor, member=m, date_from=week[0], date_to=week[1]).count(), m.pk)
        for m in Membership.objects.filter(workspace=workspace)
    )
    counts = [c for c in counts if c[0] > 0]
    assert (creds["week_entries"], creds["member_id"]) == counts[len(counts) // 2]
    assert creds["week_entries"] > 0

    first = fingerprint()
    call_command("flush", interactive=False, verbosity=0)
    assert run_generator(capsys, today)["entries"] == summary["entries"]
    assert fingerprint() == first
