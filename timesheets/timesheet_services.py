"""Writes of weekly timesheets: submit, approve, reject with a reason, reopen (admins).

They lock the member row first, like every time write, so a submit never races an entry.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from timesheets.entry_rules import lock_member_for_time
from timesheets.models import TimeEntry, Timesheet, TimesheetStatus
from timesheets.selectors import local_date, week_start_for
from workspaces import audit, policies
from workspaces.errors import Conflict, Invalid, Locked, NotFound
from workspaces.models import Membership, Workspace
from workspaces.policies import Perm
from workspaces.principals import Principal

MAX_REASON_LENGTH = 2000


def _aligned_week(workspace: Workspace, week_start: date) -> date:
    if week_start_for(workspace, week_start) != week_start:
        raise Invalid(
            f"{week_start:%Y-%m-%d} is not the first day of a week in this workspace.",
            fields={"week_start": ["Give the first day of the week."]},
        )
    return week_start


def _locked_timesheet(actor: Principal, timesheet: Timesheet) -> tuple[Timesheet, Membership]:
    if timesheet.workspace_id != actor.workspace.pk:
        raise NotFound("Timesheet not found.")
    member = lock_member_for_time(actor, timesheet.member)
    locked = (
        Timesheet.objects.select_for_update()
        .filter(pk=timesheet.pk, workspace=actor.workspace)
        .select_related("member__user")
        .first()
    )
    if locked is None:
        raise NotFound("Timesheet not found.")
    return locked, member


@transaction.atomic
def timesheet_submit(*, actor: Principal, week_start: date, member: Membership | None = None) -> Timesheet:
    """Submit a member's week (default: the caller's) for approval; its time is then locked."""
    member = lock_member_for_time(actor, member)
    if policies.is_self(actor, member):
        policies.ensure(actor, Perm.TIMESHEET_SUBMIT_OWN)
    else:
        policies.ensure(actor, Perm.TIMESHEET_DECIDE)
    workspace = member.workspace
    week_start = _aligned_week(workspace, week_start)
    running = TimeEntry.objects.filter(member=member, ended_at__isnull=True).first()
    if running is not None and week_start_for(workspace, local_date(workspace, running.started_at)) == week_start:
        raise Conflict("A timer is still running in this week; stop it before submitting.")
    if workspace.lock_date is not None and week_start + timedelta(days=6) <= workspace.lock_date:
        raise Locked(f"The whole week is on or before the workspace lock date ({workspace.lock_date:%Y-%m-%d}).")
    timesheet, _ = Timesheet.objects.select_for_update().get_or_create(
        member=member, week_start=week_start, defaults={"workspace": workspace}
    )
    if timesheet.status in (TimesheetStatus.SUBMITTED, TimesheetStatus.APPROVED):
        raise Conflict(f"The week of {week_start:%Y-%m-%d} is already {timesheet.status}.")
    previous = timesheet.status
    timesheet.status = TimesheetStatus.SUBMITTED
    timesheet.submitted_at = timezone.now()
    timesheet.save(update_fields=["status", "submitted_at"])
    audit.record(action="timesheet.submit", actor=actor, target=timesheet, detail={"from": previous})
    return timesheet


@transaction.atomic
def timesheet_approve(*, actor: Principal, timesheet: Timesheet) -> Timesheet:
    """Approve a submitted week (managers and up; not one's own unless admin)."""
    timesheet, member = _locked_timesheet(actor, timesheet)
    policies.ensure_decide_timesheet(actor, member)
    if timesheet.status != TimesheetStatus.SUBMITTED:
        raise Conflict(f"Only a submitted week can be approved; this one is {timesheet.status}.")
    timesheet.status = TimesheetStatus.APPROVED
    timesheet.decided_by, timesheet.decided_at = actor.user, timezone.now()
    timesheet.rejection_reason = ""
    timesheet.save(update_fields=["status", "decided_by", "decided_at", "rejection_reason"])
    audit.record(action="timesheet.approve", actor=actor, target=timesheet)
    return timesheet


@transaction.atomic
def timesheet_reject(*, actor: Principal, timesheet: Timesheet, reason: str) -> Timesheet:
    """Send a submitted week back with a reason the member sees; its time becomes editable again."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("A rejection needs a reason.", fields={"reason": ["Say what needs to change."]})
    if len(reason) > MAX_REASON_LENGTH:
        raise Invalid("The reason is too long.", fields={"reason": [f"At most {MAX_REASON_LENGTH} characters."]})
    timesheet, member = _locked_timesheet(actor, timesheet)
    policies.ensure_decide_timesheet(actor, member)
    if timesheet.status != TimesheetStatus.SUBMITTED:
        raise Conflict(f"Only a submitted week can be rejected; this one is {timesheet.status}.")
    timesheet.status = TimesheetStatus.REJECTED
    timesheet.decided_by, timesheet.decided_at = actor.user, timezone.now()
    timesheet.rejection_reason = reason
    timesheet.save(update_fields=["status", "decided_by", "decided_at", "rejection_reason"])
    audit.record(action="timesheet.reject", actor=actor, target=timesheet, detail={"reason": reason[:200]})
    return timesheet


@transaction.atomic
def timesheet_reopen(*, actor: Principal, timesheet: Timesheet, reason: str = "") -> Timesheet:
    """Admin action: put a submitted, approved or rejected week back to open; audited."""
    policies.ensure(actor, Perm.TIMESHEET_REOPEN)
    timesheet, _ = _locked_timesheet(actor, timesheet)
    if timesheet.status == TimesheetStatus.OPEN:
        raise Conflict("This week is already open.")
    previous = timesheet.status
    timesheet.status = TimesheetStatus.OPEN
    timesheet.decided_by, timesheet.decided_at = actor.user, timezone.now()
    timesheet.rejection_reason = ""
    timesheet.save(update_fields=["status", "decided_by", "decided_at", "rejection_reason"])
    audit.record(
        action="timesheet.reopen", actor=actor, target=timesheet, detail={"from": previous, "reason": reason[:200]}
    )
    return timesheet
