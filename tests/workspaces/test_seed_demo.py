"""`manage.py seed_demo`: the demo workspace, built through the services, and idempotent."""

import itertools
from collections import defaultdict
from datetime import time, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from timesheets.models import EntrySource, TimeEntry, Timesheet, TimesheetStatus
from timesheets.selectors import local_date, week_start_for
from workspaces.models import AuditEvent, Client, Membership, Project, Role, Tag, Task, User, Workspace

PASSWORD = "timetracker-demo"
ROLES = {"olivia": Role.OWNER, "adam": Role.ADMIN, "maya": Role.MANAGER, "sam": Role.MEMBER, "nina": Role.MEMBER}


def seed_demo() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Seed once for the module (it takes seconds), in a transaction rolled back at the end of the module.

    Each test still runs in its own savepoint (the ``db`` fixture), so a test that writes leaves no trace.
    """
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        transaction.atomic(),
    ):
        yield seed_demo()
        transaction.set_rollback(True)


@pytest.fixture
def demo(seeded, db) -> Workspace:
    return Workspace.objects.get(slug="demo")


def table_counts() -> dict[str, int]:
    models = (TimeEntry, Timesheet, AuditEvent, Client, Project, Task, Tag, Membership, User)
    return {model.__name__: model.objects.count() for model in models}


def test_workspace_settings(demo):
    assert (demo.name, demo.timezone, demo.currency, demo.week_start) == ("Demo Agency", "Europe/Berlin", "EUR", 0)
    assert str(demo.default_billable_rate) == "100.00"


def test_members_have_their_roles_rates_and_known_logins(demo):
    memberships = Membership.objects.filter(workspace=demo).select_related("user")

    assert {m.user.username: m.role for m in memberships} == ROLES
    assert all(m.is_active and m.billable_rate and m.cost_rate for m in memberships)
    assert {m.user.username: int(m.weekly_capacity_hours) for m in memberships}["nina"] == 32
    for m in memberships:
        assert m.user.check_password(PASSWORD), m.user.username
        assert m.user.email == f"{m.user.username}@demo.test"
        assert m.user.first_name
        assert m.user.last_name
    owner = User.objects.get(username="olivia")
    assert owner.is_staff
    assert owner.is_superuser
    assert not User.objects.filter(username__in=["adam", "maya", "sam", "nina"], is_superuser=True).exists()


def test_clients_projects_tasks_and_tags(demo):
    clients = Client.objects.filter(workspace=demo)
    projects = Project.objects.filter(workspace=demo)

    assert clients.count() == 3
    assert all(c.contact_email and c.contact_phone and c.vat_id and c.address for c in clients)
    assert projects.count() == 6
    internal = projects.get(client=None)
    assert internal.billable_by_default is False
    assert projects.exclude(client=None).filter(billable_by_default=False).count() == 0
    assert all(p.code for p in projects)
    assert projects.exclude(budget_hours=None).exists()
    assert projects.exclude(budget_amount=None).exists()
    assert projects.filter(budget_period="monthly").count() == 1
    for project in projects:
        assert project.tasks.count() >= 2, project.name
    assert Task.objects.filter(project__workspace=demo, name="Internal meeting", billable=False).count() == 1
    assert 4 <= Tag.objects.filter(workspace=demo).count() <= 6


def test_every_member_logged_eight_weeks_of_working_hours(demo):
    now = timezone.now()
    current_week = week_start_for(demo, local_date(demo, now))
    past_weeks = {current_week - timedelta(weeks=ago) for ago in range(1, 8)}
    finished = TimeEntry.objects.filter(workspace=demo).exclude(ended_at=None).select_related("member__user")
    weeks_by_member = defaultdict(set)

    for entry in finished:
        assert entry.ended_at is not None
        assert entry.duration_seconds is not None
        local_start = timezone.localtime(entry.started_at, demo.tzinfo)
        local_end = timezone.localtime(entry.ended_at, demo.tzinfo)
        weeks_by_member[entry.member.user.username].add(week_start_for(demo, local_start.date()))
        assert local_start.weekday() < 5
        assert local_start.date() == local_end.date()
        assert time(9) <= local_start.time()
        assert local_end.time() <= time(18)
        assert 15 * 60 <= entry.duration_seconds <= 4 * 60 * 60
        assert entry.ended_at <= now - timedelta(hours=1)
        assert entry.source == EntrySource.IMPORT

    for username in ROLES:
        assert past_weeks <= weeks_by_member[username], username
        assert min(weeks_by_member[username]) == current_week - timedelta(weeks=7)
        assert max(weeks_by_member[username]) <= current_week


def test_time_follows_teams_and_billable_rules(demo):
    entries = TimeEntry.objects.filter(workspace=demo).select_related("member", "project", "task")

    for entry in entries:
        if entry.member.role == Role.MEMBER:
            assert entry.project.team.filter(pk=entry.member.pk).exists()
        if entry.project.client_id is None or (entry.task and entry.task.name == "Internal meeting"):
            assert entry.billable is False
        assert entry.billable_rate is not None
        assert entry.cost_rate == entry.member.cost_rate
    assert entries.filter(billable=True).exists()
    assert entries.exclude(description="").exists()
    assert entries.filter(tags__isnull=False).exists()


def test_no_member_has_overlapping_time(demo):
    now = timezone.now()
    by_member = defaultdict(list)
    for entry in TimeEntry.objects.filter(workspace=demo):
        by_member[entry.member_id].append((entry.started_at, entry.ended_at or now))

    for intervals in by_member.values():
        intervals.sort()
        for (_, previous_end), (start, _) in itertools.pairwise(intervals):
            assert start >= previous_end


def test_exactly_one_running_timer_and_it_is_sams(demo):
    running = TimeEntry.objects.filter(ended_at=None)

    assert running.count() == 1
    timer = running.select_related("member__user").get()
    assert timer.member.user.username == "sam"
    assert timedelta(minutes=44) <= timezone.now() - timer.started_at <= timedelta(minutes=50)


def test_old_weeks_approved_one_week_waits_and_recent_weeks_open(demo):
    current_week = week_start_for(demo, local_date(demo, timezone.now()))
    sheets = Timesheet.objects.filter(workspace=demo).select_related("member__user", "decided_by")

    for ago in range(3, 8):
        week = sheets.filter(week_start=current_week - timedelta(weeks=ago))
        assert {(s.member.user.username, s.status) for s in week} == {(u, TimesheetStatus.APPROVED) for u in ROLES}
    two_ago = {s.member.user.username: s.status for s in sheets.filter(week_start=current_week - timedelta(weeks=2))}
    assert two_ago == {**dict.fromkeys(ROLES, TimesheetStatus.APPROVED), "nina": TimesheetStatus.SUBMITTED}
    assert not sheets.filter(week_start__gte=current_week - timedelta(weeks=1)).exists()
    for sheet in sheets.filter(status=TimesheetStatus.APPROVED):
        assert sheet.decided_by is not None
        assert sheet.decided_by.username == ("adam" if sheet.member.user.username == "maya" else "maya")


def test_every_write_left_its_audit_event(demo):
    finished_ids = {str(pk) for pk in TimeEntry.objects.exclude(ended_at=None).values_list("pk", flat=True)}
    creates = AuditEvent.objects.filter(workspace=demo, action="time_entry.create")

    assert set(creates.values_list("target_id", flat=True)) == finished_ids
    assert creates.count() == len(finished_ids)
    assert AuditEvent.objects.filter(workspace=demo, action="timer.start").count() == 1
    assert AuditEvent.objects.filter(workspace=demo, action="timesheet.approve").count() == 29
    assert AuditEvent.objects.filter(action="workspace.create", workspace=demo).count() == 1


def test_the_output_counts_what_was_made_and_names_every_login(seeded):
    assert "Seeded the demo workspace 'demo'" in seeded
    assert "5 members, 3 clients, 6 projects" in seeded
    assert "1 running timer, 29 weeks approved, 1 awaiting approval" in seeded
    for username, role in ROLES.items():
        assert f"{username:<10} {role:<8} {PASSWORD}" in seeded


def test_a_second_run_changes_nothing_and_says_so(demo):
    before = table_counts()
    hashes = dict(User.objects.values_list("username", "password"))

    output = seed_demo()

    assert "already exists" in output
    assert table_counts() == before
    assert dict(User.objects.values_list("username", "password")) == hashes


def test_a_second_run_restores_a_changed_demo_password(demo):
    sam = User.objects.get(username="sam")
    sam.set_password("something else")
    sam.save()
    before = table_counts()

    output = seed_demo()

    sam.refresh_from_db()
    assert sam.check_password(PASSWORD)
    assert "Reset the login of: sam" in output
    assert table_counts() == before
