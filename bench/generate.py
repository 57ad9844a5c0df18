"""A reproducible benchmark dataset, loaded with PostgreSQL ``COPY``.

Usage (against the migrated, otherwise empty database named by ``DATABASE_URL``)::

    .venv/bin/python bench/generate.py --entries N [--workspaces 5] [--members 250] [--projects 400] [--seed 20261123]

It prints one JSON line with the row count of every table it filled and the seconds taken to
stdout; progress goes to stderr. The same seed (and the same day) gives the same rows.

What the dataset holds, and how its size scales: ``bench/dataset.py``, which plans it in
memory; this module writes the plan with ``COPY`` and the ORM.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from psycopg import Connection as PgConnection

ROOT = Path(__file__).resolve().parents[1]

# Run as a script, the first entry of sys.path is bench/ itself, whose modules (run, load…) must
# not shadow others; the repository root is what ``bench.dataset`` and Django import from.
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)
elif str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.dataset import (  # noqa: E402 - after the path fix above
    DEFAULT_ENTRIES,
    DEFAULT_MEMBERS,
    DEFAULT_PROJECTS,
    DEFAULT_SEED,
    DEFAULT_WORKSPACES,
    DESCRIPTIONS,
    DRAFT_REASON,
    NULL,
    PASSWORD,
    PASSWORD_ITERATIONS,
    PASSWORD_SALT,
    REJECTION_REASONS,
    TAGS,
    TIMER_SHARE,
    ClientPlan,
    MemberPlan,
    ProjectPlan,
    Row,
    WorkspacePlan,
    add_months,
    billable_default,
    billable_rate,
    log,
    month_rows,
    pick_project,
    plan,
    scale_for,
)

COPY_BATCH = 20_000  # rows per write() into a COPY
HMS = tuple(f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400))


# --- writing --------------------------------------------------------------------------------------


class Ids:
    """Next primary keys of the tables filled by COPY (the database starts empty, but need not)."""

    def __init__(self, pg: PgConnection[Any], tables: Iterable[str]) -> None:
        self.next: dict[str, int] = {}
        with pg.cursor() as cur:
            for table in tables:
                cur.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')  # noqa: S608 - our table names
                row = cur.fetchone()
                self.next[table] = int(row[0] if row else 0) + 1

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


def copy_rows(pg: PgConnection[Any], table: str, columns: Sequence[str], lines: Iterable[str]) -> int:
    """COPY text-format ``lines`` (each ending in a newline) into ``table``; returns how many."""
    sql = f'COPY "{table}" ({", ".join(columns)}) FROM STDIN'
    count = 0
    batch: list[str] = []
    with pg.cursor() as cur, cur.copy(sql) as copy:
        for line in lines:
            batch.append(line)
            if len(batch) >= COPY_BATCH:
                copy.write("".join(batch))
                count += len(batch)
                batch.clear()
        if batch:
            copy.write("".join(batch))
            count += len(batch)
    return count


def ts(value: datetime | None) -> str:
    return value.isoformat(sep=" ") if value is not None else NULL


def opt(value: object) -> str:
    return NULL if value is None else str(value)


ENTRY_COLUMNS = (
    "id", "workspace_id", "member_id", "project_id", "task_id", "description", "started_at", "ended_at",
    "duration_seconds", "billable", "state", "source", "connection_id", "draft_reason", "billable_rate",
    "cost_rate", "invoice_line_id", "created_by_id", "created_at", "updated_at", "week_start",
)  # fmt: skip


def monday_of(ordinal: int) -> date:
    """The week (from Monday, the generated workspaces' first weekday) of a local day's ordinal."""
    return date.fromordinal(ordinal - (ordinal + 6) % 7)  # ordinal 1, 0001-01-01, is a Monday


@dataclass
class Totals:
    """What the month-by-month load carries from one month to the next."""

    rng: random.Random  # invoice payment delays
    entries: int = 0
    numbers: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # workspace pk → last invoice number
    seconds: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # id(project) → active seconds
    money: dict[int, float] = field(default_factory=lambda: defaultdict(float))  # id(project) → billable amount
    month_seconds: dict[tuple[int, date], int] = field(default_factory=lambda: defaultdict(int))


def write_month(pg: PgConnection[Any], ids: Ids, totals: Totals, rows: list[Row], month: date) -> None:
    """Invoices and lines of an invoiced month first, then its entries and their tags."""
    from billing.money import SECONDS_PER_HOUR, amount_for, round_money

    invoiced: dict[tuple[int, Decimal | None], int] = {}  # (project pk, rate) → line pk
    groups: dict[ClientPlan, dict[tuple[ProjectPlan, Decimal | None], int]] = defaultdict(lambda: defaultdict(int))
    for r in rows:
        ws = r.member.workspace
        if month < ws.invoice_before and r.billable and not r.draft and r.project.client is not None:
            groups[r.project.client][(r.project, billable_rate(r.member, r.project, r.task))] += r.seconds
    invoice_lines: list[str] = []
    line_lines: list[str] = []
    month_end = add_months(month, 1) - timedelta(days=1)
    for client in sorted(groups, key=lambda c: (c.workspace.index, c.pk)):
        ws = client.workspace
        invoice_pk = ids.take("billing_invoice")
        subtotal = Decimal("0.00")
        for position, ((project, rate), seconds) in enumerate(
            sorted(groups[client].items(), key=lambda item: (item[0][0].name, item[0][1] or Decimal(0))), start=1
        ):
            line_pk = ids.take("billing_invoiceline")
            amount = amount_for(seconds, rate)
            subtotal += amount
            quantity = (Decimal(seconds) / SECONDS_PER_HOUR).quantize(Decimal("0.01"))
            unit_price = rate or Decimal("0.00")
            invoiced[(project.pk, rate)] = line_pk
            line_lines.append(
                f"{line_pk}\t{invoice_pk}\ttime\t{position}\t{project.name}\t{project.pk}\t{NULL}\t"
                f"{quantity}\t{unit_price}\t{amount}\t{seconds}\n"
            )
        tax = round_money(subtotal * ws.tax_rate / 100)
        totals.numbers[ws.pk] += 1
        created = ws.local(month_end + timedelta(days=2), 10 * 3600)
        issued = created + timedelta(hours=2)
        paid = ws.local(month_end + timedelta(days=2 + totals.rng.randint(14, 120)), 11 * 3600)
        status = "paid" if paid.date() < ws.last_day else "issued"
        invoice_lines.append(
            f"{invoice_pk}\t{ws.pk}\t{client.pk}\t{totals.numbers[ws.pk]}\t{month}\t{month_end}\t{status}\t"
            f"{ws.currency}\t{ws.tax_rate}\t{subtotal}\t{tax}\t{subtotal + tax}\t\t\t"
            f"{ws.members[0].user_pk}\t{ts(created)}\t{ts(issued)}\t{ts(paid if status == 'paid' else None)}\t{NULL}\n"
        )
    if invoice_lines:
        copy_rows(
            pg,
            "billing_invoice",
            ("id", "workspace_id", "client_id", "number", "period_start", "period_end", "status", "currency",
             "tax_rate", "subtotal", "tax", "total", "notes", "pdf", "created_by_id", "created_at", "issued_at",
             "paid_at", "voided_at"),
        invoice_lines)  # fmt: skip
        copy_rows(
            pg,
            "billing_invoiceline",
            ("id", "invoice_id", "kind", "position", "description", "project_id", "task_id", "quantity",
             "unit_price", "amount", "seconds"),
            line_lines,
        )  # fmt: skip

    tag_lines: list[str] = []

    def entry_lines() -> Iterable[str]:
        for r in rows:
            pk = ids.take("timesheets_timeentry")
            member, project, task = r.member, r.project, r.task
            ws = member.workspace
            prefix, offset, _ = ws.stamp(r.day)
            rate = billable_rate(member, project, task)
            rate_text = str(rate) if rate is not None else NULL
            line = NULL
            if not r.draft:
                if r.billable and project.client is not None:
                    if month < ws.invoice_before:
                        line = str(invoiced[(project.pk, rate)])
                    totals.money[id(project)] += r.seconds * float(rate or 0)
                totals.seconds[id(project)] += r.seconds
                totals.month_seconds[(id(project), month)] += r.seconds
            created = prefix + HMS[r.created] + offset
            for tag in r.tags:
                tag_lines.append(f"{ids.take('timesheets_timeentry_tags')}\t{pk}\t{tag}\n")
            yield (
                f"{pk}\t{ws.pk}\t{member.pk}\t{project.pk}\t{task.pk if task is not None else NULL}\t"
                f"{r.description}\t{prefix}{HMS[r.start]}{offset}\t{prefix}{HMS[r.start + r.seconds]}{offset}\t"
                f"{r.seconds}\t{'t' if r.billable else 'f'}\t{'draft' if r.draft else 'active'}\t{r.source}\t"
                f"{member.connection_pk if r.via_connection else NULL}\t{DRAFT_REASON if r.draft else ''}\t"
                f"{rate_text}\t{member.cost_text}\t{line}\t{member.user_pk}\t{created}\t{created}\t"
                f"{monday_of(r.day)}\n"
            )

    totals.entries += copy_rows(pg, "timesheets_timeentry", ENTRY_COLUMNS, entry_lines())
    copy_rows(pg, "timesheets_timeentry_tags", ("id", "timeentry_id", "tag_id"), tag_lines)


def write_timers(pg: PgConnection[Any], ids: Ids, totals: Totals, timers: Sequence[MemberPlan]) -> None:
    """A running timer for each of ``timers``, started this morning (workspace time, never in the future)."""
    now = datetime.now(UTC).replace(microsecond=0)
    lines = []
    for member in timers:
        ws, rng = member.workspace, member.rng
        day = ws.today.toordinal()
        project = pick_project(rng, member, min(day, ws.last_day.toordinal()))
        task = rng.choices(project.tasks, project.task_weights)[0] if rng.random() < 0.85 else None
        # This morning, 07:30–10:00; pulled back to ten minutes ago (but not before midnight) if still ahead.
        started = max(
            ws.local(ws.today, 0), min(ws.local(ws.today, 60 * rng.randint(450, 600)), now - timedelta(minutes=10))
        )
        description = rng.choice(DESCRIPTIONS)
        rate = billable_rate(member, project, task)
        lines.append(
            f"{ids.take('timesheets_timeentry')}\t{ws.pk}\t{member.pk}\t{project.pk}\t{opt(task.pk if task else None)}\t"
            f"{description}\t{ts(started)}\t{NULL}\t{NULL}\t{'t' if billable_default(project, task) else 'f'}\tactive\tweb\t"
            f"{NULL}\t\t{opt(rate)}\t{member.cost_text}\t{NULL}\t{member.user_pk}\t{ts(started)}\t{ts(started)}\t"
            f"{monday_of(ws.today.toordinal())}\n"
        )
    totals.entries += copy_rows(pg, "timesheets_timeentry", ENTRY_COLUMNS, lines)


def write_timesheets(pg: PgConnection[Any], ids: Ids, workspaces: Sequence[WorkspacePlan], seed: int) -> None:
    """Approved weeks (ended more than three weeks ago) and the recent weeks' submitted/rejected rows."""
    rng = random.Random(seed + 3)  # only decision times and deciders, independent of the entries' streams
    lines: list[str] = []
    for ws in workspaces:
        managers = [m for m in ws.members if m.role == "manager"]
        admins = [m for m in ws.members if m.role in ("admin", "owner")]
        for member in ws.members:
            if member.role == "member" and managers:
                deciders = managers
            else:
                deciders = [a for a in admins if a is not member] or [member]
            week = member.start - timedelta(days=member.start.weekday())
            approved_until = ws.current_week - timedelta(weeks=4)
            while week < ws.current_week:
                status = "approved" if week <= approved_until else member.recent_weeks.get(week)
                if status is not None:
                    submitted = ws.local(week + timedelta(days=4), 16 * 3600 + 60 * rng.randint(0, 180))
                    decided = None
                    decider = None
                    if status != "submitted":
                        decided = submitted + timedelta(minutes=rng.randint(60, 4000))
                        decider = rng.choice(deciders).user_pk
                    reason = rng.choice(REJECTION_REASONS) if status == "rejected" else ""
                    lines.append(
                        f"{ids.take('timesheets_timesheet')}\t{ws.pk}\t{member.pk}\t{week}\t{status}\t{ts(submitted)}\t"
                        f"{opt(decider)}\t{ts(decided)}\t{reason}\n"
                    )
                week += timedelta(weeks=1)
    copy_rows(
        pg,
        "timesheets_timesheet",
        ("id", "workspace_id", "member_id", "week_start", "status", "submitted_at", "decided_by_id", "decided_at",
         "rejection_reason"),
        lines,
    )  # fmt: skip


def create_small_tables(workspaces: Sequence[WorkspacePlan], seed: int) -> None:
    """Workspaces, users, memberships, clients, projects, teams, tasks, tags and connections, by the ORM."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    from workspaces.models import Client, Connection, Membership, Project, Tag, Task, User, Workspace

    password = PBKDF2PasswordHasher().encode(PASSWORD, PASSWORD_SALT, iterations=PASSWORD_ITERATIONS)
    key_rng = random.Random(seed + 1)
    workspace_rows = Workspace.objects.bulk_create(
        Workspace(
            name=ws.name,
            slug=ws.slug,
            timezone=ws.tz.key,
            currency=ws.currency,
            default_billable_rate=ws.default_rate,
            created_at=ws.local(ws.first_day - timedelta(days=30), 9 * 3600),
        )
        for ws in workspaces
    )
    for ws, ws_row in zip(workspaces, workspace_rows, strict=True):
        ws.pk = ws_row.pk
    members = [m for ws in workspaces for m in ws.members]
    user_rows = User.objects.bulk_create(
        User(
            username=m.username,
            password=password,
            first_name=m.first_name,
            last_name=m.last_name,
            email=f"{m.username}@bench.test",
            date_joined=m.workspace.local(m.start, 9 * 3600),
        )
        for m in members
    )
    membership_rows = Membership.objects.bulk_create(
        Membership(
            user_id=user.pk,
            workspace_id=m.workspace.pk,
            role=m.role,
            weekly_capacity_hours=m.capacity,
            billable_rate=m.billable_rate,
            cost_rate=m.cost_rate,
            created_at=m.workspace.local(m.start, 9 * 3600),
        )
        for m, user in zip(members, user_rows, strict=True)
    )
    for m, user, membership in zip(members, user_rows, membership_rows, strict=True):
        m.user_pk, m.pk = user.pk, membership.pk
    connected = [m for m in members if m.has_connection]
    connection_rows = Connection.objects.bulk_create(
        Connection(
            kind="api_key",
            user_id=m.user_pk,
            workspace_id=m.workspace.pk,
            label="Assistant (bench)",
            scopes="read write",
            key_prefix=(secret := f"tt_{key_rng.getrandbits(192):048x}")[:10],
            key_hash=hashlib.sha256(secret.encode()).hexdigest(),
            created_at=m.workspace.local(m.start, 10 * 3600),
        )
        for m in connected
    )
    for m, connection_row in zip(connected, connection_rows, strict=True):
        m.connection_pk = connection_row.pk
    clients = [c for ws in workspaces for c in ws.clients]
    client_rows = Client.objects.bulk_create(
        Client(
            workspace_id=c.workspace.pk,
            name=c.name,
            contact_email=f"billing@{c.name.lower().replace(' ', '-')}.test",
            contact_phone=f"+49 30 555{i:04d}",
            vat_id=f"DE{100000000 + i * 7919}",
            address=f"{c.short}straße {i % 90 + 1}\n10{i % 900:03d} Berlin",
            created_at=c.workspace.local(c.workspace.first_day - timedelta(days=20), 9 * 3600),
        )
        for i, c in enumerate(clients)
    )
    for c, client_row in zip(clients, client_rows, strict=True):
        c.pk = client_row.pk
    projects = [p for ws in workspaces for p in ws.projects]
    project_rows = Project.objects.bulk_create(
        Project(
            workspace_id=p.workspace.pk,
            client_id=p.client.pk if p.client else None,
            name=p.name,
            code=p.code,
            color=p.color,
            billable_by_default=p.billable_by_default,
            billable_rate=p.rate,
            budget_period=p.budget_period,
            status="archived" if p.archived else "active",
            created_at=p.workspace.local(date.fromordinal(p.start), 8 * 3600),
        )
        for p in projects
    )
    for p, project_row in zip(projects, project_rows, strict=True):
        p.pk = project_row.pk
    Team = Project.team.through
    Team.objects.bulk_create(Team(project_id=p.pk, membership_id=m.pk) for p in projects for m in p.team)
    tasks = [t for p in projects for t in p.tasks]
    task_rows = Task.objects.bulk_create(
        Task(
            project_id=t.project.pk,
            name=t.name,
            billable=t.billable,
            billable_rate=t.rate,
            created_at=t.project.workspace.local(date.fromordinal(t.project.start), 8 * 3600),
        )
        for t in tasks
    )
    for t, task_row in zip(tasks, task_rows, strict=True):
        t.pk = task_row.pk
    for ws in workspaces:
        tag_rows = Tag.objects.bulk_create(
            Tag(workspace_id=ws.pk, name=name, created_at=ws.local(ws.first_day - timedelta(days=30), 9 * 3600))
            for name in TAGS
        )
        ws.tag_pks = [tag.pk for tag in tag_rows]


def write_budgets(workspaces: Sequence[WorkspacePlan], totals: Totals, seed: int) -> None:
    """Size the budgets on the time actually logged: 0.6–1.6 × the use (of all time, or of an average month), so
    projects are over, near and well within budget."""
    from workspaces.models import Project

    rng = random.Random(seed + 5)
    months_used: dict[int, int] = defaultdict(int)
    for key, _ in totals.month_seconds:
        months_used[key] += 1
    updates = []
    for ws in workspaces:
        for p in ws.projects:
            if not p.budget:
                continue
            key = id(p)
            factor = rng.uniform(0.6, 1.6)
            seconds, money = float(totals.seconds[key]), totals.money[key]
            if p.budget_period == "monthly":
                seconds, money = seconds / max(1, months_used[key]), money / max(1, months_used[key])
            hours = max(10, round(seconds / 3600 * factor / 10) * 10)
            amount = max(1000, round(money / 3600 * factor / 100) * 100)
            updates.append(
                Project(
                    pk=p.pk,
                    budget_hours=Decimal(hours).quantize(Decimal("0.01")) if p.budget != "amount" else None,
                    budget_amount=Decimal(amount).quantize(Decimal("0.01")) if p.budget != "hours" else None,
                )
            )
    Project.objects.bulk_update(updates, ["budget_hours", "budget_amount"])


def fit_means(workspaces: Sequence[WorkspacePlan], finished: int) -> float:
    """Set each member's mean entries per worked weekday so the finished entries total ≈ ``finished``."""
    members = [m for ws in workspaces for m in ws.members]
    weekend = sum(n for m in members for _, n in m.days)
    weekdays = {id(m): sum(1 for _, n in m.days if n == 0) for m in members}
    weighted_days = sum(m.factor * weekdays[id(m)] for m in members)
    mean = max(1.0, (finished - weekend) / max(1.0, weighted_days))
    for m in members:
        m.mean = mean * m.factor
    return mean * weighted_days / max(1, sum(weekdays.values()))


# --- main -----------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=DEFAULT_ENTRIES, help="time entries to create (≈, ±1 %%)")
    parser.add_argument("--workspaces", type=int, default=DEFAULT_WORKSPACES)
    parser.add_argument("--members", type=int, default=DEFAULT_MEMBERS, help="at most this many members in all")
    parser.add_argument("--projects", type=int, default=DEFAULT_PROJECTS, help="at most this many projects in all")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--today", type=date.fromisoformat, default=None, help="pin today (YYYY-MM-DD) everywhere")
    args = parser.parse_args(argv)
    if args.entries < 100 or args.workspaces < 1 or args.members < 1 or args.projects < 1:
        parser.error("--entries ≥ 100, and at least one workspace, member and project")
    return args


def setup_django() -> None:
    # Run as a script, the first entry is bench/ itself, whose modules (run, load, report…) must not shadow others.
    if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
        sys.path[0] = str(ROOT)
    elif str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "timetracker.settings")
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()


def table_counts() -> dict[str, int]:
    from django.db import connection

    tables = {
        "workspaces": "workspaces_workspace",
        "users": "workspaces_user",
        "members": "workspaces_membership",
        "connections": "workspaces_connection",
        "clients": "workspaces_client",
        "projects": "workspaces_project",
        "project_team": "workspaces_project_team",
        "tasks": "workspaces_task",
        "tags": "workspaces_tag",
        "entries": "timesheets_timeentry",
        "entry_tags": "timesheets_timeentry_tags",
        "timesheets": "timesheets_timesheet",
        "invoices": "billing_invoice",
        "invoice_lines": "billing_invoiceline",
    }
    with connection.cursor() as cur:
        cur.execute(" UNION ALL ".join(f"SELECT '{k}', COUNT(*) FROM \"{t}\"" for k, t in tables.items()))  # noqa: S608
        found = {str(k): int(v) for k, v in cur.fetchall()}
        counts = {k: found[k] for k in tables}
        cur.execute(
            "SELECT COUNT(*) FILTER (WHERE ended_at IS NULL), COUNT(*) FILTER (WHERE state = 'draft'),"
            " COUNT(*) FILTER (WHERE billable), COUNT(*) FILTER (WHERE invoice_line_id IS NOT NULL)"
            " FROM timesheets_timeentry"
        )
        running, drafts, billable, invoiced = cur.fetchone() or (0, 0, 0, 0)
    counts.update(running_timers=running, drafts=drafts, billable_entries=billable, invoiced_entries=invoiced)
    return counts


def generate(args: argparse.Namespace) -> dict[str, Any]:
    from django.db import connection, transaction

    from workspaces.models import Workspace

    started = time.perf_counter()
    if connection.vendor != "postgresql":
        raise SystemExit("bench/generate.py loads with PostgreSQL COPY: point DATABASE_URL at PostgreSQL.")
    if Workspace.objects.filter(slug__startswith="bench-").exists():
        raise SystemExit("This database already has bench-* workspaces: generate into a fresh, migrated database.")
    scale = scale_for(args.entries, args.workspaces, args.members, args.projects)
    workspaces = plan(args, scale)
    members = [m for ws in workspaces for m in ws.members]
    master = random.Random(args.seed + 2)
    timers = sorted(master.sample(members, max(1, round(TIMER_SHARE * len(members)))), key=lambda m: m.index)
    mean = fit_means(workspaces, args.entries - len(timers))
    first = min(ws.first_day for ws in workspaces)
    last = max(ws.last_day for ws in workspaces)
    log(
        f"{scale.workspaces} workspaces, {scale.members} members, {scale.projects} projects, {scale.clients} clients; "
        f"{first} … {last} ({scale.span_days} days), ≈{mean:.2f} entries per worked weekday"
    )
    with transaction.atomic():
        create_small_tables(workspaces, args.seed)
    connection.ensure_connection()
    pg: PgConnection[Any] = connection.connection
    ids = Ids(
        pg,
        ("timesheets_timeentry", "timesheets_timeentry_tags", "timesheets_timesheet", "billing_invoice",
         "billing_invoiceline"),
    )  # fmt: skip
    totals = Totals(rng=random.Random(args.seed + 4))
    month = first.replace(day=1)
    while month <= last:
        following = add_months(month, 1)
        rows = month_rows(members, following.toordinal())
        with transaction.atomic():
            write_month(pg, ids, totals, rows, month)
        log(f"{month:%Y-%m}: {len(rows):,} entries ({totals.entries:,} so far, {time.perf_counter() - started:.1f} s)")
        month = following
    with transaction.atomic():
        write_timers(pg, ids, totals, timers)
        write_timesheets(pg, ids, workspaces, args.seed)
        write_budgets(workspaces, totals, args.seed)
    with connection.cursor() as cur:
        for table in ids.next:
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), COALESCE(MAX(id), 1), MAX(id) IS NOT NULL)"  # noqa: S608
                f' FROM "{table}"'
            )
    log(f"loaded in {time.perf_counter() - started:.1f} s; VACUUM ANALYZE")
    with connection.cursor() as cur:
        if connection.get_autocommit() and not connection.in_atomic_block:
            cur.execute("VACUUM (ANALYZE)")  # also sets the visibility map, so autovacuum stays out of a benchmark
        else:
            cur.execute("ANALYZE")
    summary: dict[str, Any] = table_counts()
    summary.update(
        days=scale.span_days,
        first_day=first.isoformat(),
        last_day=last.isoformat(),
        entries_per_workday=round(mean, 2),
        billable_share=round(summary["billable_entries"] / max(1, summary["entries"]), 3),
        seed=args.seed,
        seconds=round(time.perf_counter() - started, 1),
    )
    return summary


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    setup_django()
    summary = generate(args)
    print(json.dumps(summary), flush=True)
    return summary


if __name__ == "__main__":
    main()
