"""Weekly timesheets: submit, approve, reject with a reason, reopen — who may, and what it locks."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import MembershipFactory
from tests.timesheets.conftest import MONDAY, berlin
from timesheets import services, timer_services, timesheet_services
from timesheets.models import Timesheet, TimesheetStatus
from timesheets.selectors import week_start_for
from workspaces.errors import Conflict, Forbidden, InsufficientScope, Invalid, Locked, NotFound
from workspaces.models import AuditEvent, Role


@pytest.fixture
def submitted(as_member, project):
    services.time_entry_create(
        actor=as_member, project=project, started_at=berlin(MONDAY, 9), ended_at=berlin(MONDAY, 17)
    )
    return timesheet_services.timesheet_submit(actor=as_member, week_start=MONDAY)


def test_submit_locks_the_week_and_is_audited(submitted, as_member, project):
    assert submitted.status == TimesheetStatus.SUBMITTED
    assert submitted.submitted_at is not None
    with pytest.raises(Locked, match="submitted"):
        services.time_entry_create(
            actor=as_member, project=project, started_at=berlin(MONDAY, 18), ended_at=berlin(MONDAY, 19)
        )
    assert AuditEvent.objects.filter(action="timesheet.submit", target_id=str(submitted.pk)).count() == 1


def test_week_start_must_be_the_first_day_of_a_workspace_week(as_member):
    with pytest.raises(Invalid, match="not the first day"):
        timesheet_services.timesheet_submit(actor=as_member, week_start=MONDAY + timedelta(days=2))


def test_week_start_follows_the_workspace_setting(as_member, workspace):
    workspace.week_start = 6  # Sunday
    workspace.save()
    sunday = MONDAY - timedelta(days=1)
    assert week_start_for(workspace, MONDAY + timedelta(days=3)) == sunday
    assert timesheet_services.timesheet_submit(actor=as_member, week_start=sunday).week_start == sunday


def test_submitting_twice_is_a_conflict(submitted, as_member):
    with pytest.raises(Conflict, match="already submitted"):
        timesheet_services.timesheet_submit(actor=as_member, week_start=MONDAY)


def test_a_running_timer_in_the_week_blocks_submission(as_member, project, workspace):
    timer_services.timer_start(actor=as_member, project=project)
    this_week = week_start_for(workspace, timezone.localdate(timezone=workspace.tzinfo))
    with pytest.raises(Conflict, match="timer is still running"):
        timesheet_services.timesheet_submit(actor=as_member, week_start=this_week)
    assert not Timesheet.objects.exists()


def test_members_submit_only_their_own_week(as_member, other_member):
    with pytest.raises(Forbidden):
        timesheet_services.timesheet_submit(actor=as_member, week_start=MONDAY, member=other_member)


def test_approve_locks_for_good_and_records_the_decider(submitted, as_manager, as_member):
    approved = timesheet_services.timesheet_approve(actor=as_manager, timesheet=submitted)
    assert (approved.status, approved.decided_by) == (TimesheetStatus.APPROVED, as_manager.user)
    assert approved.decided_at is not None
    with pytest.raises(Conflict, match="already approved"):
        timesheet_services.timesheet_submit(actor=as_member, week_start=MONDAY)
    assert AuditEvent.objects.filter(action="timesheet.approve", actor=as_manager.user).count() == 1


def test_members_cannot_approve_or_reject(submitted, as_member, make_principal, other_member):
    with pytest.raises(Forbidden):
        timesheet_services.timesheet_approve(actor=make_principal(other_member), timesheet=submitted)
    with pytest.raises(Forbidden):
        timesheet_services.timesheet_reject(actor=as_member, timesheet=submitted, reason="no")
    assert Timesheet.objects.get().status == TimesheetStatus.SUBMITTED


def test_a_manager_cannot_approve_their_own_week_an_admin_can(as_manager, as_admin, project, manager):
    own = timesheet_services.timesheet_submit(actor=as_manager, week_start=MONDAY)
    with pytest.raises(Forbidden, match="own week"):
        timesheet_services.timesheet_approve(actor=as_manager, timesheet=own)
    assert timesheet_services.timesheet_approve(actor=as_admin, timesheet=own).status == TimesheetStatus.APPROVED


def test_a_write_scope_is_needed_to_decide(submitted, make_principal, manager):
    read_only = make_principal(manager, scopes=frozenset({"read"}))
    with pytest.raises(InsufficientScope) as exc:
        timesheet_services.timesheet_approve(actor=read_only, timesheet=submitted)
    assert exc.value.scope == "write"
    assert exc.value.code == "insufficient_scope"


@pytest.mark.parametrize("reason", ["", "   "])
def test_reject_needs_a_reason(submitted, as_manager, reason):
    with pytest.raises(Invalid, match="needs a reason"):
        timesheet_services.timesheet_reject(actor=as_manager, timesheet=submitted, reason=reason)
    assert Timesheet.objects.get().status == TimesheetStatus.SUBMITTED


def test_reject_reopens_the_time_and_keeps_the_reason(submitted, as_manager, as_member, project):
    rejected = timesheet_services.timesheet_reject(
        actor=as_manager, timesheet=submitted, reason="  Split the workshop hours  "
    )
    assert rejected.rejection_reason == "Split the workshop hours"
    assert rejected.status == TimesheetStatus.REJECTED
    services.time_entry_create(
        actor=as_member, project=project, started_at=berlin(MONDAY, 18), ended_at=berlin(MONDAY, 19)
    )
    resubmitted = timesheet_services.timesheet_submit(actor=as_member, week_start=MONDAY)
    assert resubmitted.pk == submitted.pk
    assert resubmitted.status == TimesheetStatus.SUBMITTED


def test_only_submitted_weeks_are_decided(submitted, as_manager):
    timesheet_services.timesheet_approve(actor=as_manager, timesheet=submitted)
    with pytest.raises(Conflict):
        timesheet_services.timesheet_approve(actor=as_manager, timesheet=submitted)
    with pytest.raises(Conflict):
        timesheet_services.timesheet_reject(actor=as_manager, timesheet=submitted, reason="late")


def test_reopen_is_an_audited_admin_action(submitted, as_manager, as_admin, as_member, project):
    timesheet_services.timesheet_approve(actor=as_manager, timesheet=submitted)
    with pytest.raises(Forbidden):
        timesheet_services.timesheet_reopen(actor=as_manager, timesheet=submitted)
    reopened = timesheet_services.timesheet_reopen(actor=as_admin, timesheet=submitted, reason="client asked for a fix")
    assert reopened.status == TimesheetStatus.OPEN
    services.time_entry_create(
        actor=as_member, project=project, started_at=berlin(MONDAY, 18), ended_at=berlin(MONDAY, 19)
    )
    event = AuditEvent.objects.get(action="timesheet.reopen")
    assert event.detail == {"from": "approved", "reason": "client asked for a fix"}
    with pytest.raises(Conflict, match="already open"):
        timesheet_services.timesheet_reopen(actor=as_admin, timesheet=reopened)


def test_another_workspaces_timesheet_is_not_found(submitted, make_principal):
    stranger = make_principal(MembershipFactory(role=Role.OWNER))
    with pytest.raises(NotFound, match="Timesheet not found"):
        timesheet_services.timesheet_approve(actor=stranger, timesheet=submitted)
