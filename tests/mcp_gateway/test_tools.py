"""The tools in-process: the data they return, the governance they apply, isolation, query counts.

Each call runs exactly as over HTTP from the gateway's registry on (visibility, transaction,
dry run, idempotent replay, audit); the HTTP path itself is in test_http.py.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.reports import hours_summary
from mcp_gateway.arguments import day, duration_seconds
from mcp_gateway.registry import CATALOGUE, visible
from tests.conftest import principal_for
from tests.factories import (
    ClientFactory,
    MembershipFactory,
    ProjectFactory,
    TagFactory,
    TimeEntryFactory,
    WorkspaceFactory,
)
from tests.mcp_gateway.helpers import agent, call, connection_of, error_code, ok
from timesheets.models import EntryState, TimeEntry
from timesheets.services import time_entry_create
from workspaces.errors import Invalid
from workspaces.models import AuditEvent, Role

pytestmark = pytest.mark.django_db

YESTERDAY_NOON = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)


@pytest.fixture
def billable_project(workspace, member, other_member):
    project = ProjectFactory(
        workspace=workspace,
        name="Website",
        billable_by_default=True,
        billable_rate=Decimal("100.00"),
        budget_hours=Decimal("10"),
        team=[member, other_member],
    )
    member.cost_rate = Decimal("40.00")
    member.save()
    return project


@pytest.fixture
def internal_project(workspace, member):
    return ProjectFactory(workspace=workspace, client=None, name="Internal", billable_by_default=False, team=[member])


@pytest.fixture
def elsewhere(db):
    """Another workspace with its own client, project, member and entry."""
    other = WorkspaceFactory(name="Globex", slug="globex")
    stranger = MembershipFactory(workspace=other, role=Role.MEMBER)
    project = ProjectFactory(workspace=other, team=[stranger])
    entry = TimeEntryFactory(member=stranger, project=project)
    return {"workspace": other, "member": stranger, "project": project, "client": project.client, "entry": entry}


def human_entry(member, project, *, hours: int = 1, started_at=None):
    start = started_at or YESTERDAY_NOON
    return time_entry_create(
        actor=principal_for(member), project=project, started_at=start, ended_at=start + timedelta(hours=hours)
    )


# --- arguments --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"), [("90m", 5400), ("1h30m", 5400), ("1.5h", 5400), ("1:30", 5400), ("2", 7200), ("45 min", 2700)]
)
def test_durations_read_as_a_person_writes_them(text, seconds):
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "0m", "25h", "1h-3m", "-1"])
def test_unreadable_durations_are_invalid(text):
    with pytest.raises(Invalid):
        duration_seconds(text)


def test_days_are_read_in_the_workspace_time_zone(workspace):
    today = timezone.localtime(timezone.now(), workspace.tzinfo).date()
    assert day("today", workspace=workspace) == today
    assert day("yesterday", workspace=workspace) == today - timedelta(days=1)
    monday = day("monday", workspace=workspace)
    assert monday.weekday() == 0
    assert 0 <= (today - monday).days < 7
    assert day("2026-01-05", workspace=workspace) == date(2026, 1, 5)
    with pytest.raises(Invalid):
        day("next tuesday", workspace=workspace)


# --- reads -------------------------------------------------------------------------------------


def test_get_context_tells_the_agent_who_where_and_which_rules(workspace, member):
    caller = agent(member, agent_billable_policy="forbid")
    data = ok(call(caller, "get_context"))
    assert data["workspace"]["slug"] == "acme"
    assert data["workspace"]["timezone"] == "Europe/Berlin"
    assert data["caller"] == {
        "member_id": member.pk,
        "username": "member",
        "role": "member",
        "scopes": ["read", "write"],
        "connection_id": connection_of(caller).pk,
        "connection_label": connection_of(caller).label,
    }
    assert data["governance"] == {
        "sensitive_visible": False,
        "agent_nonbillable_policy": "direct",
        "agent_billable_policy": "forbid",
    }
    assert data["today"] == timezone.localtime(timezone.now(), workspace.tzinfo).date().isoformat()


def test_list_time_entries_defaults_to_the_callers_own_and_pages(member, other_member, billable_project):
    mine = [human_entry(member, billable_project, started_at=YESTERDAY_NOON - timedelta(days=i)) for i in range(3)]
    human_entry(other_member, billable_project)
    caller = agent(member)

    first = ok(call(caller, "list_time_entries", limit=2))
    assert [e["id"] for e in first["items"]] == [mine[0].pk, mine[1].pk]
    assert first["items"][0]["duration_seconds"] == 3600
    assert first["items"][0]["billable_amount"] == "100.00"
    second = ok(call(caller, "list_time_entries", limit=2, cursor=first["next_cursor"]))
    assert [e["id"] for e in second["items"]] == [mine[2].pk]
    assert second["next_cursor"] is None

    assert error_code(call(caller, "list_time_entries", cursor="garbage")) == "invalid"
    # A member cannot read a colleague's time; a manager can.
    assert error_code(call(caller, "list_time_entries", member_id=other_member.pk)) == "forbidden"


def test_list_time_entries_filters(member, billable_project, internal_project):
    billable = human_entry(member, billable_project)
    internal = human_entry(member, internal_project, started_at=YESTERDAY_NOON + timedelta(hours=2))
    caller = agent(member)
    assert [e["id"] for e in ok(call(caller, "list_time_entries", billable=False))["items"]] == [internal.pk]
    assert [e["id"] for e in ok(call(caller, "list_time_entries", project_id=billable_project.pk))["items"]] == [
        billable.pk
    ]
    yesterday = (YESTERDAY_NOON).astimezone(member.workspace.tzinfo).date().isoformat()
    assert len(ok(call(caller, "list_time_entries", date_from=yesterday, date_to=yesterday))["items"]) == 2
    assert ok(call(caller, "list_time_entries", date_from="today"))["items"] == []


def test_cost_data_is_redacted_without_sensitive_and_shown_with_it(admin, member, billable_project):
    human_entry(member, billable_project)
    blind = ok(call(agent(admin), "list_time_entries", member_id=member.pk))["items"][0]
    assert blind["cost_rate"] is None
    assert blind["cost_amount"] is None
    assert blind["redacted"] == ["cost_rate", "cost_amount"]

    seeing = ok(call(agent(admin, allow_sensitive=True), "list_time_entries", member_id=member.pk))["items"][0]
    assert (seeing["cost_rate"], seeing["cost_amount"], seeing["redacted"]) == ("40.00", "40.00", [])

    members = ok(call(agent(admin), "list_members"))["items"]
    assert all(m["cost_rate"] is None and m["email"] is None for m in members)
    assert set(members[0]["redacted"]) == {"cost_rate", "email"}
    members = ok(call(agent(admin, allow_sensitive=True), "list_members"))["items"]
    assert any(m["cost_rate"] == "40.00" for m in members)
    assert all(m["email"] for m in members)


def test_client_contact_data_is_redacted_without_sensitive(workspace, admin):
    client = ClientFactory(workspace=workspace, name="Nordlicht", contact_email="pay@nordlicht.test")
    blind = ok(call(agent(admin), "get_client", client_id=client.pk))
    assert blind["contact_email"] is None
    assert "contact_email" in blind["redacted"]
    seeing = ok(call(agent(admin, allow_sensitive=True), "get_client", client_id=client.pk))
    assert seeing["contact_email"] == "pay@nordlicht.test"
    assert seeing["redacted"] == []


def test_projects_come_with_team_and_budget_burn(manager, member, billable_project):
    human_entry(member, billable_project, hours=4)
    project = ok(call(agent(manager), "get_project", project_id=billable_project.pk))
    assert set(project["team"]) == {m.pk for m in billable_project.team.all()}
    assert project["budget"]["used_hours"] == "4.00"
    assert project["budget"]["budget_hours"] == "10.00"
    assert project["budget"]["percent"] == "40.00"
    listed = ok(call(agent(manager), "list_projects"))["items"]
    assert [p["budget"]["used_hours"] for p in listed if p["id"] == billable_project.pk] == ["4.00"]


def test_get_timesheet_totals_the_week(member, billable_project):
    entry = human_entry(member, billable_project, hours=2)
    local_day = entry.started_at.astimezone(member.workspace.tzinfo).date()
    week = ok(call(agent(member), "get_timesheet", week=local_day.isoformat()))
    assert week["status"] == "open"
    assert week["total_seconds"] == 7200
    assert {d["date"]: d["seconds"] for d in week["days"]}[local_day.isoformat()] == 7200
    assert week["projects"] == [{"project_id": billable_project.pk, "project_name": "Website", "seconds": 7200}]


# --- writes and the agent policy ---------------------------------------------------------------


def test_billable_time_from_an_agent_is_a_draft_and_counts_in_no_report(member, billable_project):
    caller = agent(member)
    yesterday = (timezone.localtime(timezone.now(), member.workspace.tzinfo).date() - timedelta(days=1)).isoformat()
    before = hours_summary(actor=principal_for(member), date_from=date(2025, 1, 1), date_to=date(2027, 12, 31))

    data = ok(call(caller, "log_time", project_id=billable_project.pk, date="yesterday", duration="1h30m"))
    entry = TimeEntry.objects.get(pk=data["entry"]["id"])
    assert (entry.state, entry.billable, entry.duration_seconds) == (EntryState.DRAFT, True, 5400)
    assert entry.connection_id == connection_of(caller).pk
    assert "billable" in entry.draft_reason.lower()
    assert data["entry"]["state"] == "draft"
    assert entry.started_at.astimezone(member.workspace.tzinfo).date().isoformat() == yesterday
    assert any("review queue" in w for w in data["warnings"])

    after = hours_summary(actor=principal_for(member), date_from=date(2025, 1, 1), date_to=date(2027, 12, 31))
    assert after.total_seconds == before.total_seconds
    assert after.pending_review_seconds == before.pending_review_seconds + 5400
    assert data["budget"]["used_hours"] == "0.00"  # not counted until a person accepts it


def test_non_billable_time_from_an_agent_is_direct_by_default(member, internal_project):
    data = ok(call(agent(member), "log_time", project_id=internal_project.pk, start="09:00", end="09:45"))
    entry = TimeEntry.objects.get(pk=data["entry"]["id"])
    assert (entry.state, entry.billable, entry.duration_seconds) == (EntryState.ACTIVE, False, 2700)


def test_a_forbid_policy_refuses_with_forbidden_by_policy(workspace, member, billable_project):
    workspace.agent_billable_policy = "forbid"
    workspace.save()
    count = TimeEntry.objects.count()
    result = call(agent(member), "log_time", project_id=billable_project.pk, duration="1h")
    assert error_code(result) == "forbidden_by_policy"
    assert TimeEntry.objects.count() == count
    event = AuditEvent.objects.get(action="mcp.tool.log_time")
    assert (event.outcome, event.detail["code"]) == ("denied", "forbidden_by_policy")


def test_a_connection_may_be_stricter_than_the_workspace(member, internal_project):
    caller = agent(member, agent_nonbillable_policy="forbid")
    assert error_code(call(caller, "log_time", project_id=internal_project.pk, duration="1h")) == "forbidden_by_policy"


def test_agents_never_touch_time_a_person_logged(member, internal_project):
    entry = human_entry(member, internal_project)
    caller = agent(member)
    assert error_code(call(caller, "update_time_entry", entry_id=entry.pk, description="x")) == "forbidden_by_policy"
    assert error_code(call(caller, "delete_time_entry", entry_id=entry.pk)) == "forbidden_by_policy"
    entry.refresh_from_db()
    assert entry.description == ""


def test_agents_never_touch_locked_time(workspace, member, internal_project):
    caller = agent(member)
    data = ok(call(caller, "log_time", project_id=internal_project.pk, date="yesterday", duration="1h"))
    workspace.lock_date = timezone.localtime(timezone.now(), workspace.tzinfo).date()
    workspace.save()
    assert error_code(call(caller, "update_time_entry", entry_id=data["entry"]["id"], description="x")) == "locked"
    assert error_code(call(caller, "delete_time_entry", entry_id=data["entry"]["id"])) == "locked"
    assert (
        error_code(call(caller, "log_time", project_id=internal_project.pk, date="yesterday", duration="1h"))
        == "locked"
    )


def test_an_agent_changes_and_deletes_its_own_entries(member, internal_project):
    caller = agent(member)
    data = ok(call(caller, "log_time", project_id=internal_project.pk, date="yesterday", duration="1h"))
    changed = ok(call(caller, "update_time_entry", entry_id=data["entry"]["id"], duration="2h", description="Docs"))
    assert (changed["entry"]["duration_seconds"], changed["entry"]["description"]) == (7200, "Docs")
    ok(call(caller, "delete_time_entry", entry_id=data["entry"]["id"]))
    assert not TimeEntry.objects.filter(pk=data["entry"]["id"]).exists()


def test_dry_run_writes_nothing_and_reports_what_would_happen(member, billable_project):
    caller = agent(member)
    counts = (TimeEntry.objects.count(), AuditEvent.objects.exclude(action__startswith="mcp.").count())
    data = ok(call(caller, "log_time", dry_run=True, project_id=billable_project.pk, duration="2h"))
    assert data["dry_run"] is True
    assert data["entry"]["state"] == "draft"
    assert data["entry"]["duration_seconds"] == 7200
    assert data["summary"].startswith("Dry run")
    assert (TimeEntry.objects.count(), AuditEvent.objects.exclude(action__startswith="mcp.").count()) == counts
    event = AuditEvent.objects.get(action="mcp.tool.log_time")
    assert event.detail["dry_run"] is True


def test_dry_run_reports_refusals_too(workspace, member, billable_project):
    workspace.lock_date = timezone.localtime(timezone.now(), workspace.tzinfo).date()
    workspace.save()
    assert error_code(call(agent(member), "log_time", dry_run=True, project_id=billable_project.pk, duration="1h")) == (
        "locked"
    )


def test_the_same_idempotency_key_replays_and_never_duplicates(member, internal_project):
    caller = agent(member)
    first = call(caller, "log_time", idempotency_key="k-1", project_id=internal_project.pk, duration="1h")
    again = call(caller, "log_time", idempotency_key="k-1", project_id=internal_project.pk, duration="1h")
    assert ok(again) == ok(first)
    assert again.meta == {"timetracker/idempotent_replay": True}
    assert TimeEntry.objects.filter(connection=caller.connection).count() == 1
    other = call(caller, "log_time", idempotency_key="k-1", project_id=internal_project.pk, duration="2h")
    assert error_code(other) == "conflict"
    assert TimeEntry.objects.filter(connection=caller.connection).count() == 1


def test_timer_start_and_stop(member, internal_project):
    caller = agent(member)
    started = ok(call(caller, "start_timer", project_id=internal_project.pk, description="Standup"))
    assert started["entry"]["ended_at"] is None
    assert ok(call(caller, "get_timer"))["running"] is True
    assert error_code(call(caller, "start_timer", project_id=internal_project.pk)) == "conflict"
    stopped = ok(call(caller, "stop_timer"))
    assert stopped["entry"]["duration_seconds"] >= 1
    assert ok(call(caller, "get_timer")) == {"running": False, "entry": None, "elapsed_seconds": None}


def test_submit_timesheet_and_log_expense_and_create_client_and_project(workspace, manager, member, billable_project):
    caller = agent(member)
    expense = ok(
        call(caller, "log_expense", project_id=billable_project.pk, amount="42.50", category="Travel", date="monday")
    )
    assert (expense["expense"]["state"], expense["expense"]["amount"]) == ("draft", "42.50")

    submitted = ok(call(caller, "submit_timesheet", week="today"))
    assert submitted["timesheet"]["status"] == "submitted"
    assert error_code(call(caller, "submit_timesheet", week="today")) == "conflict"

    boss = agent(manager)
    client = ok(call(boss, "create_client", name="Kiefer"))["client"]
    assert client["name"] == "Kiefer"
    assert error_code(call(boss, "create_client", name="Spy", contact_email="a@b.test")) == "forbidden"
    project = ok(
        call(
            boss, "create_project", name="Site", client_id=client["id"], budget_hours="20", team_member_ids=[member.pk]
        )
    )
    assert project["project"]["team"] == [member.pk]
    assert project["project"]["budget_hours"] == "20.00"
    assert error_code(call(boss, "create_project", name="Rated", billable_rate="150")) == "forbidden"
    assert error_code(call(boss, "create_project", name="Bad team", team_member_ids=[999999])) == "invalid"


def test_reports_and_billing_reads(workspace, owner, member, billable_project):
    human_entry(member, billable_project, hours=3)
    caller = agent(owner, scopes="read write admin", allow_sensitive=True)
    start = (YESTERDAY_NOON - timedelta(days=1)).date().isoformat()
    hours = ok(call(caller, "hours_summary", date_from=start, date_to="today", group_by="member"))
    assert [(r["label"], r["seconds"]) for r in hours["rows"]] == [("member", 10800)]
    util = ok(call(caller, "utilization_report", date_from=start, date_to="today"))
    assert {r["username"]: r["billable_seconds"] for r in util["rows"]}["member"] == 10800
    budget = ok(call(caller, "budget_health"))
    assert [r["used_hours"] for r in budget["rows"]] == ["3.00"]
    profit = ok(call(caller, "profitability_report", date_from=start, date_to="today"))
    assert (profit["revenue"], profit["cost"], profit["margin"]) == ("300.00", "120.00", "180.00")
    assert ok(call(caller, "unbilled_time"))["amount"] == "0.00"  # not approved yet
    assert ok(call(caller, "list_invoices"))["items"] == []
    assert ok(call(caller, "list_expenses"))["items"] == []
    events = ok(call(caller, "list_audit_events", action="time_entry."))["items"]
    assert [e["action"] for e in events] == ["time_entry.create"]


# --- who sees which tool -------------------------------------------------------------------------


def names(principal) -> set[str]:
    return {name for name, spec in CATALOGUE.items() if visible(spec, principal)}


def test_the_tool_list_follows_scopes_and_role(owner, manager, member):
    writes = {n for n, s in CATALOGUE.items() if s.write}
    read_member = names(agent(member, scopes="read"))
    assert not read_member & writes
    assert {"profitability_report", "list_audit_events", "unbilled_time", "list_invoices"}.isdisjoint(read_member)
    assert "list_time_entries" in read_member

    assert {"log_time", "submit_timesheet"} <= names(agent(member))
    assert {"create_client", "create_project"}.isdisjoint(names(agent(member)))
    assert {"create_client", "create_project", "unbilled_time"} <= names(agent(manager))

    owner_plain = names(agent(owner, scopes="read write admin"))
    assert "list_audit_events" in owner_plain
    assert "profitability_report" not in owner_plain
    assert "profitability_report" in names(agent(owner, scopes="read write admin", allow_sensitive=True))
    assert "list_audit_events" not in names(agent(owner, scopes="read write", allow_sensitive=True))
    assert len(CATALOGUE) == 29


# --- isolation -----------------------------------------------------------------------------------


def test_another_workspaces_ids_are_not_found_by_any_argument(manager, member, billable_project, elsewhere):
    caller = agent(manager, scopes="read write")
    for name, arguments in [
        ("get_client", {"client_id": elsewhere["client"].pk}),
        ("get_project", {"project_id": elsewhere["project"].pk}),
        ("list_tasks", {"project_id": elsewhere["project"].pk}),
        ("list_projects", {"client_id": elsewhere["client"].pk}),
        ("list_time_entries", {"member_id": elsewhere["member"].pk}),
        ("list_time_entries", {"project_id": elsewhere["project"].pk}),
        ("get_timesheet", {"member_id": elsewhere["member"].pk}),
        ("hours_summary", {"project_id": elsewhere["project"].pk}),
        ("budget_health", {"project_id": elsewhere["project"].pk}),
        ("list_expenses", {"project_id": elsewhere["project"].pk}),
        ("get_invoice", {"invoice_id": 10**6}),
        ("log_time", {"project_id": elsewhere["project"].pk, "duration": "1h"}),
        ("start_timer", {"project_id": elsewhere["project"].pk}),
        ("update_time_entry", {"entry_id": elsewhere["entry"].pk, "description": "x"}),
        ("delete_time_entry", {"entry_id": elsewhere["entry"].pk}),
        ("log_expense", {"project_id": elsewhere["project"].pk, "amount": "1.00", "category": "x"}),
        ("create_project", {"name": "x", "client_id": elsewhere["client"].pk}),
    ]:
        assert error_code(call(caller, name, **arguments)) == "not_found", (name, arguments)
    elsewhere["entry"].refresh_from_db()
    assert elsewhere["entry"].description == ""


def test_every_call_is_audited_once_with_an_argument_digest(member, internal_project):
    caller = agent(member)
    ok(call(caller, "list_time_entries", limit=5))
    ok(call(caller, "log_time", project_id=internal_project.pk, duration="1h", description="Secret client plans"))
    events = list(AuditEvent.objects.filter(action__startswith="mcp.tool.").order_by("created_at"))
    assert [(e.action, e.outcome, e.channel) for e in events] == [
        ("mcp.tool.list_time_entries", "ok", "mcp"),
        ("mcp.tool.log_time", "ok", "mcp"),
    ]
    assert all(e.connection_id == connection_of(caller).pk for e in events)
    digest = events[1].detail["arguments"]
    assert digest["duration"] == "1h"
    assert digest["project_id"] == internal_project.pk
    assert digest["description"]["len"] > 0
    assert "Secret" not in str(events[1].detail)


# --- a constant number of queries ------------------------------------------------------------------


READS = [
    ("get_context", {}),
    ("list_members", {}),
    ("list_clients", {}),
    ("list_projects", {}),
    ("list_tasks", {}),
    ("list_tags", {}),
    ("list_time_entries", {}),
    ("get_timer", {}),
    ("get_timesheet", {"week": "yesterday"}),
    ("hours_summary", {"date_from": "2025-01-01", "date_to": "today"}),
    ("utilization_report", {"date_from": "2025-01-01", "date_to": "today"}),
    ("budget_health", {}),
    ("unbilled_time", {}),
    ("profitability_report", {"date_from": "2025-01-01", "date_to": "today"}),
    ("list_invoices", {}),
    ("list_expenses", {}),
    ("list_audit_events", {}),
]


def _grow(workspace, owner, rows: int) -> None:
    """``rows`` more of everything a read tool lists."""
    for _ in range(rows):
        member = MembershipFactory(workspace=workspace, role=Role.MEMBER)
        client = ClientFactory(workspace=workspace)
        project = ProjectFactory(workspace=workspace, client=client, budget_hours=Decimal("5"), team=[member, owner])
        project.tasks.create(name="Work")
        TagFactory(workspace=workspace)
        TimeEntryFactory(member=owner, project=project, started_at=YESTERDAY_NOON - timedelta(hours=len(project.name)))
        TimeEntryFactory(member=member, project=project)


@pytest.mark.parametrize(("name", "arguments"), READS, ids=[name for name, _ in READS])
def test_read_tools_run_a_constant_number_of_queries(name, arguments, workspace, owner):
    caller = agent(owner, scopes="read write admin", allow_sensitive=True)

    def queries() -> int:
        ok(call(caller, name, **arguments))  # warm: the audit touches last_used_at once a minute
        with CaptureQueriesContext(connection) as captured:
            ok(call(caller, name, **arguments))
        return len(captured)

    _grow(workspace, owner, 1)
    few = queries()
    _grow(workspace, owner, 49)
    assert queries() == few
