"""`manage.py seed_demo`: a demo agency with people, clients, projects and eight weeks of time.

Everything is written through the services, so the demo carries the audit trail real use would.
Idempotent: once the ``demo`` workspace exists, a run only makes sure the demo logins work.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from timesheets import services as time_services
from timesheets import timer_services, timesheet_services
from timesheets.models import EntrySource, TimeEntry, Timesheet, TimesheetStatus
from timesheets.selectors import local_date, week_start_for
from workspaces import member_services, services
from workspaces.models import Channel, Membership, Project, Role, Task, User, Workspace
from workspaces.principals import Principal

SLUG = "demo"
PASSWORD = "timetracker-demo"  # noqa: S105 - the demo password is published on purpose
WEEKS = 8
DAY_START = time(9, 0)
DAY_QUARTERS = 36  # 9:00–18:00 in quarter hours
MAX_ENTRY_QUARTERS = 16  # 4 h


@dataclass(frozen=True)
class Person:
    username: str
    first_name: str
    last_name: str
    role: str
    capacity: str
    billable_rate: str
    cost_rate: str
    workdays: int  # Monday onwards: nina works four days a week
    quarters_per_day: tuple[int, int]


@dataclass(frozen=True)
class ProjectSpec:
    client: str | None
    name: str
    code: str
    color: str
    team: tuple[str, ...]
    tasks: tuple[tuple[str, bool | None], ...]
    billable_by_default: bool | None = None
    billable_rate: str | None = None
    budget_hours: str | None = None
    budget_amount: str | None = None
    budget_period: str = "total"


PEOPLE = (
    Person("olivia", "Olivia", "Okafor", Role.OWNER, "30", "150.00", "75.00", 5, (16, 24)),
    Person("adam", "Adam", "Albrecht", Role.ADMIN, "40", "120.00", "58.00", 5, (24, 30)),
    Person("maya", "Maya", "Marquardt", Role.MANAGER, "40", "110.00", "52.00", 5, (24, 32)),
    Person("sam", "Sam", "Schneider", Role.MEMBER, "40", "95.00", "42.00", 5, (26, 32)),
    Person("nina", "Nina", "Novak", Role.MEMBER, "32", "90.00", "40.00", 4, (26, 32)),
)
CLIENTS = (
    ("Nordlicht Bäckerei GmbH", "buero@nordlicht-baeckerei.test", "+49 30 5550101", "DE811234567",
     "Kastanienallee 12\n10435 Berlin"),
    ("Hafenstadt Museum", "digital@hafenstadt-museum.test", "+49 40 5550202", "DE298765432",
     "Am Sandtorkai 7\n20457 Hamburg"),
    ("Kiefer & Partner Architekten", "info@kiefer-partner.test", "+49 89 5550303", "DE317654321",
     "Leopoldstraße 88\n80802 München"),
)  # fmt: skip
EVERYONE = ("olivia", "adam", "maya", "sam", "nina")
PROJECTS = (
    ProjectSpec("Nordlicht Bäckerei GmbH", "Website relaunch", "NLB-WEB", "#e8590c", ("adam", "maya", "sam"),
                (("Design", None), ("Development", None), ("Project management", None), ("Internal meeting", False)),
                billable_rate="110.00", budget_hours="320", budget_amount="35000.00"),
    ProjectSpec("Nordlicht Bäckerei GmbH", "SEO retainer", "NLB-SEO", "#f59f00", ("olivia", "maya", "sam"),
                (("Keyword research", None), ("Content optimisation", None), ("Reporting", None)),
                budget_hours="20", budget_period="monthly"),
    ProjectSpec("Hafenstadt Museum", "Museum guide app", "HSM-APP", "#1c7ed6", ("adam", "maya", "sam", "nina"),
                (("UX research", None), ("iOS & Android", None), ("Backend API", None), ("QA", None)),
                billable_rate="120.00", budget_amount="48000.00"),
    ProjectSpec("Hafenstadt Museum", "Exhibition microsite", "HSM-EXH", "#0ca678", ("maya", "nina"),
                (("Design", None), ("Development", None))),
    ProjectSpec("Kiefer & Partner Architekten", "Brand identity", "KPA-BRD", "#7048e8", ("olivia", "nina"),
                (("Workshops", None), ("Logo & type", None), ("Brand guidelines", None)),
                billable_rate="130.00", budget_hours="120"),
    ProjectSpec(None, "Internal", "INT", "#868e96", EVERYONE,
                (("Team meetings", None), ("Training", None), ("Sales & proposals", None), ("Admin", None)),
                billable_by_default=False),
)  # fmt: skip
TAGS = ("meeting", "bugfix", "research", "review", "urgent", "documentation")
DESCRIPTIONS = (
    "Weekly sync with the client", "Wireframes for the landing page", "Fixed layout bugs on mobile",
    "Code review", "Copy edits and proofreading", "Sprint planning", "Accessibility audit",
    "Content migration", "Analytics set-up", "Stakeholder interviews", "Performance tuning",
    "Moodboard and references", "Status report", "Refined the style guide",
)  # fmt: skip


def dec(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


def work_blocks(
    rng: random.Random, person: Person, weeks: list[date], tz: tzinfo
) -> Iterator[tuple[datetime, datetime]]:
    """2–5 non-overlapping blocks of 15 min to 4 h on each of the person's workdays, within 9:00–18:00."""
    for day in (week + timedelta(days=n) for week in weeks for n in range(person.workdays)):
        count = rng.randint(2, 5)
        total = min(rng.randint(*person.quarters_per_day), count * MAX_ENTRY_QUARTERS)
        lengths = [1] * count
        for _ in range(total - count):
            lengths[rng.choice([i for i, n in enumerate(lengths) if n < MAX_ENTRY_QUARTERS])] += 1
        free = [0] * (count + 1)  # quarter hours left free before each block, and after the last one
        for _ in range(DAY_QUARTERS - total):
            free[rng.randrange(count + 1)] += 1
        cursor = datetime.combine(day, DAY_START, tzinfo=tz)
        for gap, length in zip(free, lengths, strict=False):
            cursor += timedelta(minutes=15 * gap)
            yield cursor, cursor + timedelta(minutes=15 * length)
            cursor += timedelta(minutes=15 * length)


class Command(BaseCommand):
    help = "Create the demo workspace (slug 'demo') with demo logins and eight weeks of time. Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            users, repaired = self.ensure_users()
            if Workspace.objects.filter(slug=SLUG).exists():
                note = f" Reset the login of: {', '.join(repaired)}." if repaired else ""
                self.stdout.write(f"The demo workspace '{SLUG}' already exists; nothing to seed.{note}")
            else:
                self.seed(users)
        self.stdout.write(f"\n  {'username':<10} {'role':<8} password")
        for person in PEOPLE:
            self.stdout.write(f"  {person.username:<10} {person.role:<8} {PASSWORD}")
        self.stdout.write("  (olivia may also sign in to /admin/)")

    def ensure_users(self) -> tuple[dict[str, User], list[str]]:
        """Create the demo logins, or repair their password and access; touch nothing already right."""
        users: dict[str, User] = {}
        repaired: list[str] = []
        for person in PEOPLE:
            is_owner = person.role == Role.OWNER
            user, created = User.objects.get_or_create(
                username=person.username,
                defaults={
                    "first_name": person.first_name,
                    "last_name": person.last_name,
                    "email": f"{person.username}@demo.test",
                    "is_staff": is_owner,
                    "is_superuser": is_owner,
                },
            )
            dirty = created or not user.is_active
            if created or not user.check_password(PASSWORD):
                user.set_password(PASSWORD)
                dirty = True
            if is_owner and not (user.is_staff and user.is_superuser):
                user.is_staff = user.is_superuser = True
                dirty = True
            if dirty:
                user.is_active = True
                user.save()
                if not created:
                    repaired.append(person.username)
            users[person.username] = user
        return users, repaired

    def seed(self, users: dict[str, User]) -> None:
        """Build the demo through the services: the owner sets up, people log, maya (adam for her) approves."""
        now = timezone.now().replace(microsecond=0)
        workspace = services.workspace_create(
            user=users["olivia"], name="Demo Agency", slug=SLUG, timezone_name="Europe/Berlin", channel=Channel.SYSTEM
        )
        owner_membership = Membership.objects.get(workspace=workspace, user=users["olivia"])
        owner = Principal(user=users["olivia"], membership=owner_membership, channel=Channel.SYSTEM)
        services.workspace_update(actor=owner, data={"default_billable_rate": Decimal("100.00")})
        # Re-read: rate snapshots read the default rate from the principal's (now stale) workspace.
        owner_membership = Membership.objects.select_related("workspace", "user").get(pk=owner_membership.pk)
        owner = Principal(user=users["olivia"], membership=owner_membership, channel=Channel.SYSTEM)
        workspace = owner.workspace

        members: dict[str, Membership] = {}
        for person in PEOPLE:
            terms = {
                "weekly_capacity_hours": Decimal(person.capacity),
                "billable_rate": Decimal(person.billable_rate),
                "cost_rate": Decimal(person.cost_rate),
            }
            members[person.username] = (
                member_services.member_update(actor=owner, member=owner_membership, data=terms)
                if person.role == Role.OWNER
                else member_services.member_add(actor=owner, user=users[person.username], role=person.role, **terms)
            )
        actors = {
            name: Principal(user=users[name], membership=m, channel=Channel.SYSTEM) for name, m in members.items()
        }

        clients = {
            name: services.client_create(
                actor=owner, name=name, contact_email=email, contact_phone=phone, vat_id=vat_id, address=address
            )
            for name, email, phone, vat_id, address in CLIENTS
        }
        tasks: dict[Project, list[Task]] = {}
        projects_of: dict[str, list[Project]] = {name: [] for name in members}
        for spec in PROJECTS:
            project = services.project_create(
                actor=owner, name=spec.name, client=clients[spec.client] if spec.client else None, code=spec.code,
                color=spec.color, billable_by_default=spec.billable_by_default, billable_rate=dec(spec.billable_rate),
                budget_hours=dec(spec.budget_hours), budget_amount=dec(spec.budget_amount),
                budget_period=spec.budget_period, team=[members[name] for name in spec.team],
            )  # fmt: skip
            tasks[project] = [
                services.task_create(actor=owner, project=project, name=n, billable=b) for n, b in spec.tasks
            ]
            for name in spec.team:
                projects_of[name].append(project)
        tags = [services.tag_create(actor=owner, name=name) for name in TAGS]

        current_week = week_start_for(workspace, local_date(workspace, now))
        weeks = [current_week - timedelta(weeks=ago) for ago in range(WEEKS - 1, -1, -1)]
        rng = random.Random(42)
        for person in PEOPLE:
            for started_at, ended_at in work_blocks(rng, person, weeks, workspace.tzinfo):
                project = rng.choice(projects_of[person.username])
                task = rng.choice(tasks[project])
                description = rng.choice(DESCRIPTIONS) if rng.random() < 0.7 else ""
                entry_tags = rng.sample(tags, k=rng.randint(1, 2)) if rng.random() < 0.3 else []
                if ended_at > now - timedelta(hours=1):
                    continue  # nothing in the future; today only what ended at least an hour ago
                time_services.time_entry_create(
                    actor=actors[person.username], project=project, task=task, started_at=started_at,
                    ended_at=ended_at, description=description, tags=entry_tags, source=EntrySource.IMPORT,
                )  # fmt: skip

        # Weeks 7..3 ago approved for everyone; 2 weeks ago nina's still waits; last and this week open.
        for ago in range(WEEKS - 1, 1, -1):
            for name, actor in actors.items():
                timesheet = timesheet_services.timesheet_submit(
                    actor=actor, week_start=current_week - timedelta(weeks=ago)
                )
                if not (ago == 2 and name == "nina"):
                    approver = actors["adam" if name == "maya" else "maya"]  # managers never decide their own week
                    timesheet_services.timesheet_approve(actor=approver, timesheet=timesheet)

        # Today's entries end an hour ago at the latest, so a timer from 45 minutes ago overlaps none.
        last_end = TimeEntry.objects.filter(member=members["sam"]).aggregate(end=Max("ended_at"))["end"]
        started_at = max(now - timedelta(minutes=45), last_end or now - timedelta(minutes=45))
        project = projects_of["sam"][0]
        timer_services.timer_start(
            actor=actors["sam"],
            project=project,
            task=tasks[project][1],
            description="Header navigation",
            started_at=started_at,
            source=EntrySource.WEB,
        )

        entries = TimeEntry.objects.filter(workspace=workspace)
        sheets = Timesheet.objects.filter(workspace=workspace)
        self.stdout.write(self.style.SUCCESS(f"Seeded the demo workspace '{SLUG}' (Demo Agency):"))
        self.stdout.write(
            f"  {len(members)} members, {len(clients)} clients, {len(tasks)} projects, "
            f"{sum(len(t) for t in tasks.values())} tasks, {len(tags)} tags, "
            f"{entries.exclude(ended_at=None).count()} time entries, {entries.filter(ended_at=None).count()} running timer, "
            f"{sheets.filter(status=TimesheetStatus.APPROVED).count()} weeks approved, "
            f"{sheets.filter(status=TimesheetStatus.SUBMITTED).count()} awaiting approval"
        )
