"""Write tools in-process: the agent policy, drafts, locks, dry runs, idempotency and their audit."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from billing.reports import hours_summary
from tests.conftest import principal_for
from tests.factories import ProjectFactory, TagFactory
from tests.mcp_gateway.conftest import human_entry
from tests.mcp_gateway.helpers import agent, call, connection_of, error_code, ok
from timesheets.models import EntryState, TimeEntry
from workspaces.models import AuditEvent

pytestmark = pytest.mark.django_db


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


def test_log_time_refuses_a_project_the_agent_may_not_see_as_get_project_does(workspace, member, internal_project):
    caller = agent(member)
    not_on_team = ProjectFactory(workspace=workspace)

    for project_id in (not_on_team.pk, 2**63, 10**9):  # off the team, beyond a bigint, none
        assert error_code(call(caller, "get_project", project_id=project_id)) == "not_found"
        assert error_code(call(caller, "log_time", project_id=project_id, duration="1h")) == "not_found"
    data = ok(call(caller, "log_time", project_id=internal_project.pk, duration="1h"))

    assert (data["entry"]["project"], data["entry"]["project_name"]) == (internal_project.pk, internal_project.name)
    assert list(TimeEntry.objects.values_list("project_id", flat=True)) == [internal_project.pk]


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


def test_the_entry_a_write_answers_with_is_the_entry_list_time_entries_shows(member, billable_project):
    # given an agent without sensitive access, and tags on the entry it logs
    caller = agent(member)
    tag = TagFactory(workspace=member.workspace, name="Deep work")

    written = ok(
        call(caller, "log_time", project_id=billable_project.pk, duration="45m", tag_ids=[tag.pk], description="Notes")
    )

    listed = ok(call(caller, "list_time_entries", limit=5))["items"]
    assert [item for item in listed if item["id"] == written["entry"]["id"]] == [written["entry"]]
    assert written["entry"]["tags"] == [{"id": tag.pk, "name": "Deep work"}]
    assert written["entry"]["cost_amount"] is None  # redacted as in the list


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


def test_warnings_name_an_overlap_and_a_long_day(member, internal_project):
    caller = agent(member)
    ok(call(caller, "log_time", project_id=internal_project.pk, date="yesterday", start="08:00", end="16:00"))
    data = ok(call(caller, "log_time", project_id=internal_project.pk, date="yesterday", start="15:00", end="19:00"))
    assert "It overlaps another entry of the same person." in data["warnings"]
    assert any("12.0 hours logged" in w for w in data["warnings"])
