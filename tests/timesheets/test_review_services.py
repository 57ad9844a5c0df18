"""The review queue: who reviews, accept (checked like a new entry), discard, bulk all-or-nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.conftest import principal_for
from tests.factories import ConnectionFactory, MembershipFactory, ProjectFactory, TimeEntryFactory, TimesheetFactory
from tests.timesheets.conftest import MONDAY, berlin
from timesheets import review_services
from timesheets.models import EntrySource, EntryState, TimeEntry, TimesheetStatus
from timesheets.selectors import review_queue_list
from workspaces.errors import Conflict, Forbidden, ForbiddenByPolicy, Invalid, Locked, NotFound
from workspaces.models import AuditEvent, Channel, OverlapPolicy

REASON = "Billable time proposed by an agent waits for a human (workspace policy)"


def make_draft(member, project, *, hour=9, day=MONDAY, connection=None, **kwargs):
    return TimeEntryFactory(
        member=member,
        project=project,
        started_at=berlin(day, hour),
        state=EntryState.DRAFT,
        source=EntrySource.MCP,
        connection=connection or ConnectionFactory(membership=member),
        draft_reason=REASON,
        **kwargs,
    )


@pytest.fixture
def draft(member, project):
    return make_draft(member, project)


# --- accept -------------------------------------------------------------------------------------


def test_member_accepts_own_draft_and_it_is_audited(as_member, draft):
    accepted = review_services.draft_accept(actor=as_member, entry=draft)

    accepted.refresh_from_db()
    assert (accepted.state, accepted.draft_reason) == (EntryState.ACTIVE, "")
    event = AuditEvent.objects.get(action="time_entry.draft_accept", target_id=str(draft.pk))
    assert event.actor == as_member.user
    assert event.detail["connection_id"] == draft.connection_id
    assert event.detail["draft_reason"] == REASON


def test_manager_accepts_anyones_draft(as_manager, draft):
    assert review_services.draft_accept(actor=as_manager, entry=draft).state == EntryState.ACTIVE


def test_member_cannot_review_another_members_draft(as_member, other_member, project):
    theirs = make_draft(other_member, project)

    with pytest.raises(Forbidden):
        review_services.draft_accept(actor=as_member, entry=theirs)
    with pytest.raises(Forbidden):
        review_services.draft_discard(actor=as_member, entry=theirs)
    theirs.refresh_from_db()
    assert theirs.state == EntryState.DRAFT


def test_an_agent_cannot_review(member, draft):
    agent = principal_for(member, channel=Channel.MCP, connection=ConnectionFactory(membership=member))

    with pytest.raises(ForbiddenByPolicy, match="Agents cannot review"):
        review_services.draft_accept(actor=agent, entry=draft)


def test_the_proposing_connection_cannot_accept_its_own_draft(member, draft):
    same = principal_for(member, channel=Channel.API, connection=draft.connection)

    with pytest.raises(ForbiddenByPolicy, match="connection that proposed it"):
        review_services.draft_accept(actor=same, entry=draft)
    other_key = principal_for(member, channel=Channel.API, connection=ConnectionFactory(membership=member))
    assert review_services.draft_accept(actor=other_key, entry=draft).state == EntryState.ACTIVE


def test_another_workspaces_draft_is_not_found(as_manager):
    foreign_member = MembershipFactory()
    foreign = make_draft(foreign_member, ProjectFactory(workspace=foreign_member.workspace))

    with pytest.raises(NotFound):
        review_services.draft_accept(actor=as_manager, entry=foreign)


def test_an_active_entry_is_not_a_draft(as_member, member, project):
    entry = TimeEntryFactory(member=member, project=project)

    with pytest.raises(Conflict, match="not a draft"):
        review_services.draft_accept(actor=as_member, entry=entry)


def test_accept_rechecks_the_lock(as_member, member, draft):
    TimesheetFactory(member=member, week_start=MONDAY, status=TimesheetStatus.SUBMITTED)

    with pytest.raises(Locked):
        review_services.draft_accept(actor=as_member, entry=draft)
    draft.refresh_from_db()
    assert draft.state == EntryState.DRAFT


def test_accept_rechecks_overlap(as_member, member, project, workspace, draft):
    workspace.overlap_policy = OverlapPolicy.FORBID
    workspace.save()
    TimeEntryFactory(member=member, project=project, started_at=berlin(MONDAY, 9, 30))

    with pytest.raises(Conflict, match="overlaps"):
        review_services.draft_accept(actor=as_member, entry=draft)


def test_accept_rechecks_the_project(as_member, draft, project):
    project.status = "archived"
    project.save()

    with pytest.raises(Invalid, match="archived"):
        review_services.draft_accept(actor=as_member, entry=draft)


def test_a_running_draft_is_accepted_only_once_stopped(as_member, member, project):
    running = make_draft(member, project, day=timezone.localdate())
    TimeEntry.objects.filter(pk=running.pk).update(
        started_at=timezone.now() - timedelta(minutes=5), ended_at=None, duration_seconds=None
    )
    running.refresh_from_db()

    with pytest.raises(Conflict, match="running timer"):
        review_services.draft_accept(actor=as_member, entry=running)
    review_services.draft_discard(actor=as_member, entry=running)
    assert not TimeEntry.objects.exists()


# --- discard ------------------------------------------------------------------------------------


def test_discard_deletes_the_draft_and_is_audited(as_manager, draft):
    review_services.draft_discard(actor=as_manager, entry=draft)

    assert not TimeEntry.objects.filter(pk=draft.pk).exists()
    event = AuditEvent.objects.get(action="time_entry.draft_discard", target_id=str(draft.pk))
    assert (event.actor, event.detail["billable"]) == (as_manager.user, True)


def test_discard_works_in_a_week_submitted_since(as_member, member, draft):
    # A draft never counted as time, so throwing it away changes no locked week.
    TimesheetFactory(member=member, week_start=MONDAY, status=TimesheetStatus.SUBMITTED)

    review_services.draft_discard(actor=as_member, entry=draft)

    assert not TimeEntry.objects.filter(pk=draft.pk).exists()


# --- bulk ---------------------------------------------------------------------------------------


def test_bulk_accept_accepts_every_draft(as_manager, member, other_member, project):
    drafts = [make_draft(member, project, hour=9), make_draft(other_member, project, hour=10)]

    accepted = review_services.drafts_accept_bulk(actor=as_manager, entry_ids=[d.pk for d in drafts])

    assert sorted(e.pk for e in accepted) == sorted(d.pk for d in drafts)
    assert set(TimeEntry.objects.values_list("state", flat=True)) == {EntryState.ACTIVE}
    assert AuditEvent.objects.filter(action="time_entry.draft_accept", detail__bulk=True).count() == 2


def test_bulk_accept_is_all_or_nothing_and_names_the_failing_draft(as_manager, member, other_member, project):
    good = make_draft(member, project, hour=9)
    bad = make_draft(other_member, project, hour=10)
    TimesheetFactory(member=other_member, week_start=MONDAY, status=TimesheetStatus.APPROVED)

    with pytest.raises(Locked) as exc:
        review_services.drafts_accept_bulk(actor=as_manager, entry_ids=[good.pk, bad.pk])

    assert exc.value.message.startswith(f"Draft {bad.pk}: ")
    assert list(exc.value.fields) == ["ids"]
    assert set(TimeEntry.objects.values_list("state", flat=True)) == {EntryState.DRAFT}
    assert not AuditEvent.objects.filter(action="time_entry.draft_accept").exists()


def test_bulk_names_ids_it_cannot_find(as_member, member, other_member, project):
    mine = make_draft(member, project)
    theirs = make_draft(other_member, project, hour=11)

    with pytest.raises(NotFound) as exc:
        review_services.drafts_discard_bulk(actor=as_member, entry_ids=[mine.pk, theirs.pk, 999999])

    assert exc.value.fields == {"ids": [f"Not found: {theirs.pk}, 999999."]}
    assert TimeEntry.objects.count() == 2


def test_bulk_discard_returns_the_ids(as_member, member, project):
    drafts = [make_draft(member, project, hour=h) for h in (9, 11)]

    assert review_services.drafts_discard_bulk(actor=as_member, entry_ids=[d.pk for d in drafts]) == sorted(
        d.pk for d in drafts
    )
    assert not TimeEntry.objects.exists()


def test_bulk_needs_ids(as_member):
    with pytest.raises(Invalid):
        review_services.drafts_accept_bulk(actor=as_member, entry_ids=[])


# --- the queue ----------------------------------------------------------------------------------


def test_queue_shows_members_their_own_drafts_and_managers_all(as_member, as_manager, member, other_member, project):
    mine = make_draft(member, project)
    theirs = make_draft(other_member, project, hour=11)
    TimeEntryFactory(member=member, project=project, started_at=berlin(MONDAY, 13))  # active: not in the queue
    foreign = MembershipFactory()
    make_draft(foreign, ProjectFactory(workspace=foreign.workspace))

    assert [e.pk for e in review_queue_list(actor=as_member)] == [mine.pk]
    assert {e.pk for e in review_queue_list(actor=as_manager)} == {mine.pk, theirs.pk}
