"""The benchmark dataset planned in memory: seeded, so the same seed and day give the same rows.

``bench/generate.py`` writes it into PostgreSQL.

What it builds
--------------
``--workspaces`` agencies (slugs ``bench-1`` … ``bench-<W>``) in different time zones (Berlin,
New York, London, Tokyo, Sydney, then round again) and currencies, each with an owner
(``bench-owner-<k>``), 1–2 admins, ≈10 % managers and members (``bench-<k>-<i>``; every
password is ``bench-password``, stored as a fixed PBKDF2 hash with 1 000 iterations); clients
with contact data; per workspace one or two internal projects (no client, not billable by
default) and client projects, some with their own rate, some with a total or monthly budget in
hours and/or money, some archived after their active window; 2–6 tasks per project (a few not
billable); tags; every member on 3–8 projects of their workspace (the internal ones included);
an API-key connection for ≈20 % of the members (their agent's and integrations' entries carry it).

Time: entries on workdays (vacations, sick days and the turn of the year off; a few weekend
days worked) between 07:30 and ≈21:00 in the workspace's time zone, never overlapping, 15 min
to 4 h each, in 5-minute steps (half of the browser-logged ones with timer-like seconds),
descriptions from a small vocabulary, ≈30 % tagged, ≈70 % billable (the billable default of
task → project → workspace, with a few overrides), rates snapshotted exactly as
``billing.selectors.rates_resolve`` resolves them today (this generator gives no task its own
rate). Sources: web, import, api and mcp (the last two through the member's connection);
billable agent time of the last two open weeks is still a draft waiting for review. The last
finished entry ends yesterday; ≈10 % of the members have a timer running since this morning.

Weeks (``Timesheet``): every member-week that ended more than three weeks ago is approved (by a
manager, or by an admin/the owner for managers and admins); of the three weeks before the
current one some are submitted, a few rejected (with a reason), the rest open (no row).

Invoices: every calendar month that started more than two months before this month (in the
workspace's time zone) is invoiced: one invoice per client and month (issued, or paid when the
payment date is already past; numbers gapless per workspace in issue order, tax at the
workspace's rate) with one time line per project and snapshotted rate (a project with its own
rate has one line; one that bills at its members' rates has one per rate), computed as
``billing.invoice_services.invoice_build`` computes them; those entries point at their line.
Approved billable time after that stays unbilled.

Scaling rule
------------
With ``N = --entries``:

* members ``M = min(--members, max(4 × W, ceil(N / 1250)))`` — the default 250 from
  N ≈ 312 000 up; 40 for N = 50 000;
* projects ``P = min(--projects, max(2 × W, round(1.6 × M)))`` (400 at M = 250, 64 at 40);
  clients ``max(W, round(0.2 × P))``;
* span: two years ending yesterday once each member has more than ≈4.5 entries per worked
  day of two years to log (N ≳ 517 000 at M = 250), and the entries per day then grow to fit:
  N = 1 000 000 gives ≈9 a day on average (5–13), because 250 people logging 3–6 a day fill
  only ≈500 000 entries in two years. Below that the span shrinks instead, so that each member
  logs 3–6 (mean 4.5) a day: ≈15 months at N = 50 000, ≈4 months at N = 3 000;
* a member's entries per worked weekday are round(uniform(mean − 2, mean + 2)), the mean
  (× a personal factor 0.8–1.25) fitted to the days actually worked (after vacations, sick
  days, late joiners), so the total lands within ≈1 % of N (running timers count as entries).

``--today YYYY-MM-DD`` pins "today" for every workspace (tests); by default it is the current
date in each workspace's time zone. Nothing else depends on the clock (only a running timer's
start is pulled back if this morning's start would still be in the future).
"""

from __future__ import annotations

import argparse
import bisect
import math
import random
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

DEFAULT_ENTRIES = 1_000_000
DEFAULT_WORKSPACES = 5
DEFAULT_MEMBERS = 250
DEFAULT_PROJECTS = 400
DEFAULT_SEED = 20261123

ENTRIES_PER_MEMBER = 1250  # below members × this many entries, fewer members are used
BASE_PER_DAY = 4.5  # entries on a worked day when the span is shortened (3–6)
SPREAD = 2.0  # a day's count is round(uniform(mean − 2, mean + 2)): 3–6 around 4.5
MAX_SPAN_DAYS = 730  # two years ending yesterday
NOMINAL_ATTENDANCE = 0.88  # share of weekdays worked; only sizes the span, the mean is fitted later
TIMER_SHARE = 0.10
INTERNAL_SHARE = 0.24  # of entries on the internal projects (not billable)
UNIT = 300  # seconds: entries are laid out in 5-minute units
MIN_UNITS, MAX_UNITS = 3, 48  # 15 min … 4 h
MAX_PER_DAY = 50  # 50 × 15 min from 09:00 still ends before LATEST_END
LATEST_END = 23 * 3600  # breaks are dropped rather than let a day run past 23:00
PASSWORD = "bench-password"  # noqa: S105 - a published benchmark login
PASSWORD_SALT = "benchsalt"  # noqa: S105
PASSWORD_ITERATIONS = 1000
DRAFT_REASON = "Billable time proposed by an agent waits for a human (workspace policy)"

# time zone, currency, default billable rate, tax rate
STYLES = (
    ("Europe/Berlin", "EUR", "100.00", "19.00"),
    ("America/New_York", "USD", "125.00", "0.00"),
    ("Europe/London", "GBP", "90.00", "20.00"),
    ("Asia/Tokyo", "USD", "110.00", "10.00"),
    ("Australia/Sydney", "AUD", "140.00", "10.00"),
)
FIRST_NAMES = (
    "Ada", "Ben", "Chloe", "David", "Elif", "Felix", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Lars",
    "Mira", "Noah", "Olga", "Paul", "Quinn", "Rosa", "Samir", "Tara", "Uwe", "Vera", "Wen", "Yusuf", "Zoe",
)  # fmt: skip
LAST_NAMES = (
    "Albers", "Brandt", "Costa", "Dietrich", "Eriksen", "Fischer", "Garcia", "Hoffmann", "Ivanova", "Jensen",
    "Keller", "Lindqvist", "Meyer", "Nakamura", "Okafor", "Petrov", "Quaresma", "Richter", "Schmidt",
    "Tanaka", "Ulrich", "Vogel", "Wagner", "Xu", "Yilmaz", "Zimmermann",
)  # fmt: skip
CLIENT_PREFIXES = (
    "Nordlicht", "Hafenstadt", "Kiefer", "Alpenglow", "Bluefin", "Cedar", "Dunmore", "Elbtal", "Fjord",
    "Granite", "Harbor", "Isar", "Juniper", "Kestrel", "Lumen", "Meridian", "Nimbus", "Oakridge", "Pinewood",
    "Quarry", "Riverside", "Saffron", "Tidewater", "Uplands", "Vantage", "Willow",
)  # fmt: skip
CLIENT_KINDS = (
    "Bakery", "Museum", "Architects", "Logistics", "Dental Care", "Brewing", "Outfitters", "Legal", "Insurance",
    "Robotics", "Hotels", "Foundation", "Pharma", "Energy",
)  # fmt: skip
PROJECT_KINDS = (
    "Website relaunch", "SEO retainer", "Mobile app", "Brand identity", "Data migration", "Support retainer",
    "Intranet", "Online shop", "Analytics dashboard", "Marketing campaign", "Accessibility audit",
    "API integration", "Newsletter", "Annual report", "Security review", "CRM rollout", "Booking system",
    "Photo shoot",
)  # fmt: skip
INTERNAL_PROJECTS = ("Internal", "Sales & pre-sales")
CLIENT_TASKS = (
    "Design", "Development", "Project management", "QA", "Content", "Research", "Consulting", "Deployment",
    "Workshops", "Copywriting", "Analytics", "Support",
)  # fmt: skip
NON_BILLABLE_TASKS = ("Internal meeting", "Onboarding")
INTERNAL_TASKS = ("Team meetings", "Training", "Admin", "Proposals", "Recruiting", "Tooling")
TAGS = ("meeting", "bugfix", "research", "review", "urgent", "documentation", "workshop", "travel", "support")
DESCRIPTIONS = (
    "Weekly sync with the client", "Wireframes for the landing page", "Fixed layout bugs on mobile",
    "Code review", "Copy edits and proofreading", "Sprint planning", "Accessibility audit", "Content migration",
    "Analytics set-up", "Stakeholder interviews", "Performance tuning", "Moodboard and references",
    "Status report", "Refined the style guide", "Release preparation", "Bug triage", "Database schema changes",
    "Checkout flow", "Onboarding emails", "Client feedback round", "Estimate for phase 2", "Deployment",
    "Test plan", "Search filters", "Image optimisation", "Translation fixes", "Monthly report",
    "Newsletter template", "Backlog grooming", "Security updates", "Call with the product owner",
    "Icon set", "Data cleanup", "Retro", "Prototype review", "Documentation",
)  # fmt: skip
COLORS = ("#4f6bed", "#e8590c", "#f59f00", "#1c7ed6", "#0ca678", "#7048e8", "#d6336c", "#868e96", "#37b24d")
REJECTION_REASONS = (
    "Please split the workshop day by task.",
    "Two entries are on the wrong project; please move them.",
    "Wednesday looks incomplete — please add the missing hours.",
)
NULL = "\\N"


def log(message: str) -> None:
    print(f"[generate {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the plan -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    workspaces: int
    members: int
    projects: int
    clients: int
    span_days: int


def weekdays_between(first: date, last: date) -> int:
    days = (last - first).days + 1
    weeks, rest = divmod(days, 7)
    return weeks * 5 + sum(1 for i in range(rest) if (first + timedelta(days=i)).weekday() < 5)


def scale_for(entries: int, workspaces: int, members: int, projects: int) -> Scale:
    """The scaling rule of the module docstring."""
    m = min(members, max(4 * workspaces, math.ceil(entries / ENTRIES_PER_MEMBER)))
    p = min(projects, max(2 * workspaces, round(1.6 * m)))
    c = max(workspaces, round(0.2 * p))
    per_member = entries / m
    two_years = BASE_PER_DAY * NOMINAL_ATTENDANCE * weekdays_between(date(2001, 1, 1), date(2002, 12, 31))
    if per_member >= two_years:
        span = MAX_SPAN_DAYS
    else:
        span = max(28, math.ceil(per_member / (BASE_PER_DAY * NOMINAL_ATTENDANCE) * 7 / 5))
    return Scale(workspaces=workspaces, members=m, projects=p, clients=c, span_days=span)


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(eq=False, slots=True)
class WorkspacePlan:
    index: int
    slug: str
    name: str
    tz: ZoneInfo
    currency: str
    default_rate: Decimal
    tax_rate: Decimal
    today: date
    first_day: date
    last_day: date
    current_week: date
    invoice_before: date  # months that start before this day are invoiced
    pk: int = 0
    members: list[MemberPlan] = field(default_factory=list)
    clients: list[ClientPlan] = field(default_factory=list)
    projects: list[ProjectPlan] = field(default_factory=list)
    tag_pks: list[int] = field(default_factory=list)
    stamps: dict[int, tuple[str, str, int]] = field(default_factory=dict)

    def stamp(self, ordinal: int) -> tuple[str, str, int]:
        """(``'YYYY-MM-DD '``, ``'+HH:MM'``, epoch of local midnight) of a local day; the offset is noon's,
        so any time after the small-hours DST switch is right."""
        cached = self.stamps.get(ordinal)
        if cached is None:
            day = date.fromordinal(ordinal)
            noon = datetime(day.year, day.month, day.day, 12, tzinfo=self.tz)
            offset = noon.utcoffset() or timedelta(0)
            minutes = int(offset.total_seconds()) // 60
            sign = "+" if minutes >= 0 else "-"
            text = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
            cached = (f"{day.isoformat()} ", text, int(noon.timestamp()) - 43200)
            self.stamps[ordinal] = cached
        return cached

    def local(self, day: date, seconds: int) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=self.tz) + timedelta(seconds=seconds)


@dataclass(eq=False, slots=True)
class ClientPlan:
    workspace: WorkspacePlan
    name: str
    short: str
    code: str
    pk: int = 0


@dataclass(eq=False, slots=True)
class TaskPlan:
    project: ProjectPlan
    name: str
    billable: bool | None
    rate: Decimal | None = None
    weight: float = 1.0
    pk: int = 0


@dataclass(eq=False, slots=True)
class ProjectPlan:
    workspace: WorkspacePlan
    client: ClientPlan | None
    name: str
    code: str
    color: str
    billable_by_default: bool | None
    rate: Decimal | None
    budget: str  # "", "hours", "amount" or "both"
    budget_period: str
    start: int  # ordinal of the first day it takes time
    end: int  # ordinal of the last day it takes time
    archived: bool
    tasks: list[TaskPlan] = field(default_factory=list)
    task_weights: list[float] = field(default_factory=list)
    team: list[MemberPlan] = field(default_factory=list)
    pk: int = 0


@dataclass(eq=False, slots=True)
class MemberPlan:
    index: int
    workspace: WorkspacePlan
    username: str
    first_name: str
    last_name: str
    role: str
    capacity: Decimal
    billable_rate: Decimal | None
    cost_rate: Decimal | None
    start: date
    factor: float
    has_connection: bool
    rng: random.Random
    projects: list[ProjectPlan] = field(default_factory=list)
    preference: dict[int, float] = field(default_factory=dict)  # id(project) → weight
    days: list[tuple[int, int]] = field(default_factory=list)  # (ordinal, entries) worked; 0 entries: a weekday
    recent_weeks: dict[date, str] = field(default_factory=dict)  # submitted / rejected among the last three
    mean: float = 0.0
    cursor: int = 0  # next index into the worked days, while generating month by month
    pk: int = 0
    user_pk: int = 0
    connection_pk: int | None = None
    cost_text: str = NULL


def plan(args: argparse.Namespace, scale: Scale) -> list[WorkspacePlan]:
    """Everything but the entries: workspaces, people, clients, projects, tasks, days worked."""
    rng = random.Random(args.seed)
    workspaces: list[WorkspacePlan] = []
    for k in range(1, scale.workspaces + 1):
        tz_name, currency, rate, tax = STYLES[(k - 1) % len(STYLES)]
        tz = ZoneInfo(tz_name)
        today = args.today or datetime.now(tz).date()
        last_day = today - timedelta(days=1)
        workspaces.append(
            WorkspacePlan(
                index=k,
                slug=f"bench-{k}",
                name=f"Bench Agency {k}",
                tz=tz,
                currency=currency,
                default_rate=Decimal(rate),
                tax_rate=Decimal(tax),
                today=today,
                first_day=last_day - timedelta(days=scale.span_days - 1),
                last_day=last_day,
                current_week=today - timedelta(days=today.weekday()),
                invoice_before=add_months(last_day.replace(day=1), -2),
            )
        )
    member_counts = split(scale.members, scale.workspaces)
    project_counts = split(scale.projects, scale.workspaces)
    client_counts = split(scale.clients, scale.workspaces)
    index = 0
    for ws, n_members, n_projects, n_clients in zip(
        workspaces, member_counts, project_counts, client_counts, strict=True
    ):
        span = (ws.last_day - ws.first_day).days + 1
        admins = 1 if n_members < 20 else 2
        managers = max(1, round(n_members * 0.1))
        names = rng.sample([(f, last) for f in FIRST_NAMES for last in LAST_NAMES], n_members)
        for i in range(n_members):
            role = "owner" if i == 0 else "admin" if i <= admins else "manager" if i <= admins + managers else "member"
            joins_late = role == "member" and rng.random() < 0.1
            start = ws.first_day + timedelta(days=rng.randint(0, int(span * 0.6)) if joins_late else 0)
            rate_floor = {"owner": 130, "admin": 110, "manager": 95, "member": 70}[role]
            billable_rate = Decimal(rate_floor + 5 * rng.randint(0, 6)) if rng.random() < 0.8 else None
            cost_rate = Decimal(rate_floor // 2 + rng.randint(-10, 10)) if rng.random() < 0.95 else None
            capacity = Decimal(rng.choice((40, 40, 40, 40, 40, 38, 32, 30, 20)))
            first, last = names[i]
            member = MemberPlan(
                index=index,
                workspace=ws,
                username=f"bench-owner-{ws.index}" if role == "owner" else f"bench-{ws.index}-{i}",
                first_name=first,
                last_name=last,
                role=role,
                capacity=capacity,
                billable_rate=billable_rate.quantize(Decimal("0.01")) if billable_rate is not None else None,
                cost_rate=cost_rate.quantize(Decimal("0.01")) if cost_rate is not None else None,
                start=start,
                factor=rng.uniform(0.8, 1.25),
                has_connection=role == "admin" or rng.random() < 0.15,
                rng=random.Random(rng.getrandbits(64)),
            )
            member.cost_text = str(member.cost_rate) if member.cost_rate is not None else NULL
            ws.members.append(member)
            index += 1
        plan_clients_projects(rng, ws, n_projects, n_clients)
        plan_teams(rng, ws)
    for ws in workspaces:
        for member in ws.members:
            plan_days(member)
    return workspaces


def plan_clients_projects(rng: random.Random, ws: WorkspacePlan, n_projects: int, n_clients: int) -> None:
    span = (ws.last_day - ws.first_day).days + 1
    first, last = ws.first_day.toordinal(), ws.last_day.toordinal()
    internal = INTERNAL_PROJECTS[: 1 if n_projects < 12 else 2]
    n_client_projects = n_projects - len(internal)
    n_clients = max(1, min(n_clients, n_client_projects))
    prefixes = rng.sample(CLIENT_PREFIXES, len(CLIENT_PREFIXES))
    for i in range(n_clients):
        prefix, kind = prefixes[i % len(prefixes)], rng.choice(CLIENT_KINDS)
        name = f"{prefix} {kind}"
        while any(c.name == name for c in ws.clients):
            prefix, kind = rng.choice(CLIENT_PREFIXES), rng.choice(CLIENT_KINDS)
            name = f"{prefix} {kind}"
        code = (prefix[:2] + kind[0]).upper()
        ws.clients.append(ClientPlan(workspace=ws, name=name, short=prefix, code=code))
    for name in internal:
        project = ProjectPlan(
            workspace=ws, client=None, name=name, code="INT" if name == "Internal" else "SALES", color="#868e96",
            billable_by_default=False, rate=None, budget="", budget_period="total",
            start=first, end=last, archived=False,
        )  # fmt: skip
        project.tasks = [TaskPlan(project, t, None) for t in rng.sample(INTERNAL_TASKS, rng.randint(2, 6))]
        ws.projects.append(project)
    owners = [*ws.clients, *(rng.choice(ws.clients) for _ in range(n_client_projects - len(ws.clients)))]
    codes: dict[str, int] = defaultdict(int)
    for i, client in enumerate(owners):
        kind = rng.choice(PROJECT_KINDS)
        name = f"{client.short} {kind}"
        suffix = 2
        while any(p.name == name for p in ws.projects):
            name = f"{client.short} {kind} {suffix}"
            suffix += 1
        codes[client.code] += 1
        late = i >= len(ws.clients) and rng.random() < 0.3
        start = first + (rng.randint(0, int(span * 0.7)) if late else 0)
        archived = i > 0 and rng.random() < 0.15 and span > 120
        end = min(last, start + max(60, rng.randint(int(span * 0.2), int(span * 0.8)))) if archived else last
        archived = archived and end < last
        rate = Decimal(rng.choice((95, 110, 120, 130, 150))).quantize(Decimal("0.01")) if rng.random() < 0.6 else None
        budget = ""
        period = "total"
        if rng.random() < 0.5:  # sized once the time is known (write_budgets)
            period = "monthly" if rng.random() < 0.3 else "total"
            shape = rng.random()
            budget = "hours" if shape < 0.4 else "amount" if shape > 0.7 else "both"
        project = ProjectPlan(
            workspace=ws, client=client, name=name, code=f"{client.code}-{codes[client.code]:02d}",
            color=rng.choice(COLORS), billable_by_default=None, rate=rate, budget=budget, budget_period=period,
            start=start, end=end, archived=archived,
        )  # fmt: skip
        names = rng.sample(CLIENT_TASKS, rng.randint(2, 6))
        project.tasks = [TaskPlan(project, t, None) for t in names]
        if len(names) < 6 and rng.random() < 0.4:
            project.tasks.append(TaskPlan(project, rng.choice(NON_BILLABLE_TASKS), False, weight=0.5))
        ws.projects.append(project)
    for project in ws.projects:
        project.task_weights = [t.weight for t in project.tasks]


def plan_teams(rng: random.Random, ws: WorkspacePlan) -> None:
    """Everyone is on the internal projects; each member on 3–8 projects in all; every client project staffed."""
    internal = [p for p in ws.projects if p.client is None]
    client_projects = [p for p in ws.projects if p.client is not None]
    wanted = {id(m): max(0, rng.randint(3, 8) - len(internal)) for m in ws.members}
    for member in ws.members:
        member.projects = list(internal)
    order = list(ws.members)
    rng.shuffle(order)
    for i, project in enumerate(client_projects):  # coverage first, round robin
        member = order[i % len(order)]
        if len(member.projects) < 8:
            member.projects.append(project)
    for member in ws.members:
        free = [p for p in client_projects if p not in member.projects]
        extra = max(0, len(internal) + wanted[id(member)] - len(member.projects))
        member.projects.extend(rng.sample(free, min(extra, len(free))))
        weights = [rng.choice((4.0, 2.0, 1.0, 1.0, 0.5)) for _ in member.projects]
        member.preference = {id(p): w for p, w in zip(member.projects, weights, strict=True)}
        for project in member.projects:
            project.team.append(member)


def plan_days(member: MemberPlan) -> None:
    """Which days the member works (and their recent weeks' state); uses the member's own random stream."""
    ws, rng = member.workspace, member.rng
    vacation = 0
    day = member.start
    while day <= ws.last_day:
        if day.weekday() < 5:
            if vacation > 0:
                vacation -= 1
            elif rng.random() < 1 / 60:
                vacation = rng.randint(3, 10) - 1
            elif rng.random() < 0.02:
                pass  # sick
            elif ((day.month == 12 and day.day >= 24) or (day.month == 1 and day.day == 1)) and rng.random() < 0.85:
                pass
            else:
                member.days.append((day.toordinal(), 0))
        elif rng.random() < 0.03:
            member.days.append((day.toordinal(), rng.randint(1, 2)))
        day += timedelta(days=1)
    start_week = member.start - timedelta(days=member.start.weekday())
    for ago, submitted, rejected in ((3, 0.6, 0.65), (2, 0.45, 0.5), (1, 0.3, 0.3)):
        week = ws.current_week - timedelta(weeks=ago)
        draw = rng.random()
        if week >= start_week and draw < rejected:
            member.recent_weeks[week] = "submitted" if draw < submitted else "rejected"


# --- entries --------------------------------------------------------------------------------------


class Row(NamedTuple):
    epoch: int  # start, seconds since 1970 (for ordering)
    member: MemberPlan
    day: int  # local day ordinal
    start: int  # seconds after local midnight
    seconds: int
    created: int  # seconds after local midnight of the same day
    project: ProjectPlan
    task: TaskPlan | None
    description: str
    billable: bool
    draft: bool
    source: str
    via_connection: bool
    tags: tuple[int, ...]


def billable_rate(member: MemberPlan, project: ProjectPlan, task: TaskPlan | None) -> Decimal | None:
    """``billing.selectors.rates_resolve``: task → project → member → workspace."""
    for candidate in (task.rate if task is not None else None, project.rate, member.billable_rate):
        if candidate is not None:
            return candidate
    return member.workspace.default_rate


def billable_default(project: ProjectPlan, task: TaskPlan | None) -> bool:
    """``billing.selectors.billable_default``: task → project → workspace (every bench workspace: billable)."""
    if task is not None and task.billable is not None:
        return task.billable
    if project.billable_by_default is not None:
        return project.billable_by_default
    return True


def pick_project(rng: random.Random, member: MemberPlan, day: int) -> ProjectPlan:
    active = [p for p in member.projects if p.start <= day <= p.end]
    internal = [p for p in active if p.client is None]
    billable = [p for p in active if p.client is not None]
    if not billable or rng.random() < INTERNAL_SHARE:
        return internal[0] if len(internal) == 1 or rng.random() < 0.7 else rng.choice(internal)
    return rng.choices(billable, [member.preference[id(p)] for p in billable])[0]


def day_rows(member: MemberPlan, day: int, count: int, weekend: bool, out: list[Row]) -> None:
    """``count`` non-overlapping entries of the member on local day ``day``."""
    rng, ws = member.rng, member.workspace
    _, _, midnight = ws.stamp(day)
    total = rng.randint(12, 48) if weekend else round(rng.randint(72, 108) * float(member.capacity) / 40)
    total = min(max(total, MIN_UNITS * count), MAX_UNITS * count)
    weights = [rng.random() + 0.15 for _ in range(count)]
    spare = total - MIN_UNITS * count
    scale = spare / sum(weights)
    lengths = [MIN_UNITS + int(w * scale) for w in weights]
    for _ in range(total - sum(lengths)):
        lengths[rng.randrange(count)] += 1
    for i in range(count):  # cap at 4 h, the overflow goes to the shortest
        while lengths[i] > MAX_UNITS:
            lengths[i] -= 1
            lengths[lengths.index(min(lengths))] += 1
    cursor = (450 + 5 * rng.randint(0, 18)) * 60  # 07:30–09:00
    if weekend:
        cursor += 3600 * rng.randint(1, 4)
    lunch = count // 2 if count >= 3 else -1
    previous_end = 0
    recent = day >= ws.last_day.toordinal() - 13
    week = date.fromordinal(day - date.fromordinal(day).weekday()) if recent else None
    remaining = total * UNIT
    for i, units in enumerate(lengths):
        gap = 0
        if i == lunch:
            gap = 60 * rng.randint(30, 60)
        elif i and rng.random() < 0.5:
            gap = UNIT * rng.randint(1, 3)
        if cursor + gap + remaining <= LATEST_END:  # only ever skipped at extreme densities
            cursor += gap
        remaining -= units * UNIT
        project = pick_project(rng, member, day)
        task = rng.choices(project.tasks, project.task_weights)[0] if rng.random() < 0.85 else None
        billable = billable_default(project, task)
        if billable and rng.random() < 0.03:
            billable = False
        if member.has_connection:
            draw = rng.random()
            source = "mcp" if draw < 0.12 else "api" if draw < 0.25 else "web"
        else:
            source = "import" if rng.random() < 0.07 else "web"
        start, seconds = cursor, units * UNIT
        if source == "web" and rng.random() < 0.5:  # a timer: odd seconds
            start += rng.randint(0, 59)
            seconds += rng.randint(-59, 0) if units == MAX_UNITS else rng.randint(0, 59)
        start = max(start, previous_end)
        previous_end = start + seconds
        cursor += units * UNIT
        created = previous_end if source == "web" else min(86399, previous_end + rng.randint(0, 7200))
        description = rng.choice(DESCRIPTIONS) if rng.random() < 0.8 else ""
        tags: tuple[int, ...] = ()
        if rng.random() < 0.3:
            tags = tuple(rng.sample(ws.tag_pks, 1 if rng.random() < 0.75 else 2))
        draft = source == "mcp" and billable and week is not None and week not in member.recent_weeks  # open weeks only
        out.append(
            Row(
                midnight + start, member, day, start, seconds, created, project, task, description, billable,
                draft, source, source in ("api", "mcp"), tags,
            )
        )  # fmt: skip


def month_rows(members: Sequence[MemberPlan], until: int) -> list[Row]:
    """Every member's entries on days before ordinal ``until`` not generated yet, in time order."""
    rows: list[Row] = []
    for member in members:
        stop = bisect.bisect_left(member.days, (until, 0), lo=member.cursor)
        low, high = member.mean - SPREAD, member.mean + SPREAD
        for day, fixed in member.days[member.cursor : stop]:
            count = fixed or min(MAX_PER_DAY, max(1, round(member.rng.uniform(low, high))))
            day_rows(member, day, count, fixed > 0, rows)
        member.cursor = stop
    rows.sort(key=lambda r: (r.epoch, r.member.index))
    return rows
