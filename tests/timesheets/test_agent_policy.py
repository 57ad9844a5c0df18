"""The agent policy (DESIGN §6.4): the whole decision table, and how the time services apply it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import principal_for
from tests.factories import ConnectionFactory, TimeEntryFactory, TimesheetFactory
from tests.timesheets.conftest import MONDAY, berlin
from timesheets import services, timer_services
from timesheets.agent_policy import AgentMode, resolve_agent_policy
from timesheets.models import EntrySource, EntryState, TimeEntry, TimesheetStatus
from workspaces.errors import ForbiddenByPolicy, Locked
from workspaces.models import AuditEvent, Channel

# --- the pure decision table ----------------------------------------------------------------------

D, R, F = AgentMode.DIRECT, AgentMode.DRAFT, AgentMode.FORBID

# (workspace policy, connection override, expected mode, decided by)
NON_BILLABLE = [
    ("direct", "", D, "workspace"),
    ("direct", "direct", D, "workspace"),
    ("direct", "draft", R, "connection"),
    ("direct", "forbid", F, "connection"),
    ("draft", "", R, "workspace"),
    ("draft", "direct", R, "workspace"),  # a connection is never looser
    ("draft", "draft", R, "workspace"),
    ("draft", "forbid", F, "connection"),
    ("forbid", "", F, "workspace"),
    ("forbid", "direct", F, "workspace"),
    ("forbid", "draft", F, "workspace"),
    ("forbid", "forbid", F, "workspace"),
]
BILLABLE = [
    ("draft", "", R, "workspace"),
    ("draft", "draft", R, "workspace"),
    ("draft", "forbid", F, "connection"),
    ("forbid", "", F, "workspace"),
    ("forbid", "draft", F, "workspace"),
    ("forbid", "forbid", F, "workspace"),
    ("direct", "", R, "workspace"),  # not a valid billable choice: billable time is never direct
    ("bogus", "", F, "workspace"),  # an unknown stored value fails closed
    ("draft", "bogus", F, "connection"),
]


@pytest.mark.parametrize(("workspace_policy", "connection_policy", "mode", "decided_by"), NON_BILLABLE)
def test_non_billable_decision_table(workspace_policy, connection_policy, mode, decided_by):
    ruling = resolve_agent_policy(
        workspace_policy=workspace_policy, connection_policy=connection_policy, billable=False
    )
    assert (ruling.mode, ruling.decided_by) == (mode, decided_by)


@pytest.mark.parametrize(("workspace_policy", "connection_policy", "mode", "decided_by"), BILLABLE)
def test_billable_decision_table(workspace_policy, connection_policy, mode, decided_by):
    ruling = resolve_agent_policy(workspace_policy=workspace_policy, connection_policy=connection_policy, billable=True)
    assert (ruling.mode, ruling.decided_by) == (mode, decided_by)


# --- the services under the policy ----------------------------------------------------------------


@pytest.fixture
def connection(member):
    return ConnectionFactory(membership=member)


@pytest.fixture
def as_agent(member, connection):
    return principal_for(member, scopes=frozenset({"read", "write"}), channel=Channel.MCP, connection=connection)


def log(actor, project, billable, day=MONDAY, hour=9):
    return services.time_entry_create(
        actor=actor, project=project, started_at=berlin(day, hour), ended_at=berlin(day, hour + 1), billable=billable
    )


def set_policy(obj, *, nonbillable=None, billable=None):
    if nonbillable is not None:
        obj.agent_nonbillable_policy = nonbillable
    if billable is not None:
        obj.agent_billable_policy = billable
    obj.save()


def test_agent_non_billable_time_is_direct_by_default(as_agent, project, connection):
    entry = log(as_agent, project, billable=False)

    assert (entry.state, entry.draft_reason, entry.source) == (EntryState.ACTIVE, "", EntrySource.MCP)
    assert entry.connection == connection


def test_agent_billable_time_is_a_draft_by_default(as_agent, project):
    entry = log(as_agent, project, billable=True)

    entry.refresh_from_db()
    assert entry.state == EntryState.DRAFT
    assert entry.draft_reason == "Billable time proposed by an agent waits for a human (workspace policy)"
    event = AuditEvent.objects.get(action="time_entry.create", target_id=str(entry.pk))
    assert event.detail["state"] == "draft"


def test_the_billable_default_decides_when_the_agent_does_not_say(as_agent, project):
    project.billable_by_default = True
    project.save()

    entry = services.time_entry_create(
        actor=as_agent, project=project, started_at=berlin(MONDAY, 9), ended_at=berlin(MONDAY, 10)
    )

    assert (entry.billable, entry.state) == (True, EntryState.DRAFT)


def test_a_stricter_connection_wins_and_says_so(as_agent, project, connection):
    set_policy(connection, nonbillable="draft")

    entry = log(as_agent, project, billable=False)

    assert entry.state == EntryState.DRAFT
    assert entry.draft_reason == "Non-billable time proposed by an agent waits for a human (connection policy)"


def test_a_looser_connection_does_not_loosen_the_workspace(as_agent, project, connection, workspace):
    set_policy(workspace, nonbillable="draft")
    set_policy(connection, nonbillable="direct")

    assert log(as_agent, project, billable=False).state == EntryState.DRAFT


@pytest.mark.parametrize(("where", "billable"), [("workspace", True), ("workspace", False), ("connection", True)])
def test_forbid_refuses_and_writes_nothing(as_agent, project, connection, workspace, where, billable):
    target = workspace if where == "workspace" else connection
    set_policy(target, **({"billable": "forbid"} if billable else {"nonbillable": "forbid"}))

    with pytest.raises(ForbiddenByPolicy, match=f"{where} policy") as exc:
        log(as_agent, project, billable=billable)

    assert exc.value.code == "forbidden_by_policy"
    assert not TimeEntry.objects.exists()


def test_people_and_integrations_are_not_governed(as_member, member, project, workspace):
    set_policy(workspace, nonbillable="forbid", billable="forbid")
    api = principal_for(member, channel=Channel.API, connection=ConnectionFactory(membership=member))

    web_entry = log(as_member, project, billable=True)
    api_entry = log(api, project, billable=True, hour=11)

    assert (web_entry.state, web_entry.connection) == (EntryState.ACTIVE, None)
    assert (api_entry.state, api_entry.connection, api_entry.source) == (
        EntryState.ACTIVE,
        api.connection,
        EntrySource.API,
    )


def test_agent_timer_follows_the_policy(as_agent, project, workspace):
    entry = timer_services.timer_start(actor=as_agent, project=project, billable=True)
    assert (entry.state, entry.is_running) == (EntryState.DRAFT, True)

    set_policy(workspace, nonbillable="forbid")
    with pytest.raises(ForbiddenByPolicy):
        timer_services.timer_start(actor=as_agent, project=project, billable=False, stop_running=True)
    assert TimeEntry.objects.get().is_running  # the refused start stopped nothing


# --- agents never change a person's time ----------------------------------------------------------


@pytest.fixture
def human_entry(member, project):
    return TimeEntryFactory(member=member, project=project, started_at=berlin(MONDAY, 14), billable=False)


def test_agent_cannot_update_or_delete_time_a_person_logged(as_agent, human_entry):
    with pytest.raises(ForbiddenByPolicy, match="a person logged"):
        services.time_entry_update(actor=as_agent, entry=human_entry, data={"description": "agent was here"})
    with pytest.raises(ForbiddenByPolicy, match="a person logged"):
        services.time_entry_delete(actor=as_agent, entry=human_entry)

    human_entry.refresh_from_db()
    assert human_entry.description == ""


def test_an_entry_from_the_web_is_a_persons_even_with_a_connection(as_agent, human_entry, connection):
    human_entry.connection = connection
    human_entry.save()

    with pytest.raises(ForbiddenByPolicy):
        services.time_entry_delete(actor=as_agent, entry=human_entry)


def test_agent_cannot_stop_a_timer_a_person_started(as_agent, member, project):
    TimeEntryFactory(member=member, project=project, started_at=timezone.now() - timedelta(hours=1), ended_at=None)

    with pytest.raises(ForbiddenByPolicy):
        timer_services.timer_stop(actor=as_agent)
    with pytest.raises(ForbiddenByPolicy):
        timer_services.timer_start(actor=as_agent, project=project, billable=False, stop_running=True)
    assert TimeEntry.objects.get().is_running


def test_agent_cannot_change_its_own_locked_entry(as_agent, member, project):
    entry = log(as_agent, project, billable=False)
    TimesheetFactory(member=member, week_start=MONDAY, status=TimesheetStatus.SUBMITTED)

    with pytest.raises(Locked):
        services.time_entry_update(actor=as_agent, entry=entry, data={"description": "late change"})
    with pytest.raises(Locked):
        services.time_entry_delete(actor=as_agent, entry=entry)


def test_agent_making_its_entry_billable_sends_it_back_to_review(as_agent, project):
    entry = log(as_agent, project, billable=False)

    updated = services.time_entry_update(actor=as_agent, entry=entry, data={"billable": True})

    updated.refresh_from_db()
    assert (updated.billable, updated.state) == (True, EntryState.DRAFT)
    assert updated.draft_reason.startswith("Billable time proposed by an agent")
    event = AuditEvent.objects.get(action="time_entry.update", target_id=str(entry.pk))
    assert {"billable", "state", "draft_reason"} <= set(event.detail["fields"])


def test_agent_edit_of_confirmed_billable_time_goes_back_to_review(as_agent, project, member):
    # A billable entry the agent proposed and a person accepted.
    entry = log(as_agent, project, billable=True)
    TimeEntry.objects.filter(pk=entry.pk).update(state=EntryState.ACTIVE, draft_reason="")
    entry.refresh_from_db()

    services.time_entry_update(actor=as_agent, entry=entry, data={"description": "reworded"})

    entry.refresh_from_db()
    assert (entry.state, entry.description) == (EntryState.DRAFT, "reworded")


def test_agent_update_refused_where_the_policy_forbids_the_result(as_agent, project, workspace):
    entry = log(as_agent, project, billable=False)
    set_policy(workspace, billable="forbid")

    with pytest.raises(ForbiddenByPolicy):
        services.time_entry_update(actor=as_agent, entry=entry, data={"billable": True})
    entry.refresh_from_db()
    assert (entry.billable, entry.state) == (False, EntryState.ACTIVE)


def test_agent_deletes_its_drafts_and_its_direct_time(as_agent, project):
    draft = log(as_agent, project, billable=True)
    direct = log(as_agent, project, billable=False, hour=12)

    services.time_entry_delete(actor=as_agent, entry=draft)
    services.time_entry_delete(actor=as_agent, entry=direct)

    assert not TimeEntry.objects.exists()


def test_agent_cannot_delete_active_billable_time(as_agent, project):
    entry = log(as_agent, project, billable=True)
    TimeEntry.objects.filter(pk=entry.pk).update(state=EntryState.ACTIVE)  # a person accepted it
    entry.refresh_from_db()

    with pytest.raises(ForbiddenByPolicy, match="delete active billable"):
        services.time_entry_delete(actor=as_agent, entry=entry)
    assert TimeEntry.objects.filter(pk=entry.pk).exists()
