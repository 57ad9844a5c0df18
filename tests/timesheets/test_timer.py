"""The running timer: start, stop, conflicts, and a real race against PostgreSQL."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from tests.conftest import principal_for
from tests.factories import MembershipFactory, ProjectFactory, TimesheetFactory
from timesheets import timer_services
from timesheets.models import TimeEntry, Timesheet, TimesheetStatus
from timesheets.selectors import week_start_for
from workspaces.errors import Conflict, Forbidden, Invalid, Locked
from workspaces.models import AuditEvent, Role


def test_start_creates_a_running_entry_with_rates_and_billable_default(as_member, project, member):
    member.billable_rate = Decimal("90.00")
    member.cost_rate = Decimal("40.00")
    member.save()
    entry = timer_services.timer_start(actor=as_member, project=project, description="  Homepage  ")

    entry.refresh_from_db()
    assert entry.ended_at is None
    assert entry.duration_seconds is None
    assert entry.description == "Homepage"
    assert (entry.billable_rate, entry.cost_rate, entry.billable) == (Decimal("90.00"), Decimal("40.00"), True)
    assert AuditEvent.objects.filter(action="timer.start", target_id=str(entry.pk)).count() == 1


def test_stop_records_the_elapsed_whole_seconds(as_member, project):
    start = timezone.now().replace(microsecond=0) - timedelta(minutes=95)
    timer_services.timer_start(actor=as_member, project=project, started_at=start)
    entry = timer_services.timer_stop(
        actor=as_member, ended_at=start + timedelta(minutes=95, seconds=7, microseconds=9)
    )

    assert entry.duration_seconds == 95 * 60 + 7
    assert entry.ended_at == start + timedelta(minutes=95, seconds=7)
    assert TimeEntry.objects.filter(ended_at__isnull=True).count() == 0
    assert AuditEvent.objects.filter(action="timer.stop").count() == 1


def test_a_timer_stopped_in_its_first_second_keeps_one_second(as_member, project):
    entry = timer_services.timer_start(actor=as_member, project=project)
    stopped = timer_services.timer_stop(actor=as_member, ended_at=entry.started_at)
    assert stopped.duration_seconds == 1


def test_starting_while_one_runs_is_a_conflict(as_member, project):
    first = timer_services.timer_start(actor=as_member, project=project)
    with pytest.raises(Conflict, match="already running"):
        timer_services.timer_start(actor=as_member, project=project)
    assert list(TimeEntry.objects.values_list("pk", flat=True)) == [first.pk]


def test_starting_with_stop_running_stops_the_old_timer_first(as_member, project):
    start = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    old = timer_services.timer_start(actor=as_member, project=project, started_at=start)
    new = timer_services.timer_start(actor=as_member, project=project, stop_running=True)

    old.refresh_from_db()
    assert old.ended_at is not None
    assert old.ended_at <= new.started_at
    assert old.duration_seconds is not None
    assert 3590 <= old.duration_seconds <= 3700
    assert TimeEntry.objects.get(ended_at__isnull=True) == new


def test_stopping_without_a_running_timer_is_a_conflict(as_member):
    with pytest.raises(Conflict, match="No timer is running"):
        timer_services.timer_stop(actor=as_member)


def test_a_timer_past_24_hours_needs_an_explicit_end(as_member, project):
    start = timezone.now().replace(microsecond=0) - timedelta(hours=30)
    timer_services.timer_start(actor=as_member, project=project, started_at=start)
    with pytest.raises(Invalid, match="more than 24 hours"):
        timer_services.timer_stop(actor=as_member)
    entry = timer_services.timer_stop(actor=as_member, ended_at=start + timedelta(hours=8))
    assert entry.duration_seconds == 8 * 3600


def test_a_timer_cannot_start_in_the_future(as_member, project):
    with pytest.raises(Invalid, match="future"):
        timer_services.timer_start(actor=as_member, project=project, started_at=timezone.now() + timedelta(minutes=5))


def test_a_timer_cannot_start_in_a_locked_week(as_member, project, workspace):
    today = timezone.localdate(timezone=workspace.tzinfo)
    TimesheetFactory(
        member=as_member.membership, week_start=week_start_for(workspace, today), status=TimesheetStatus.SUBMITTED
    )
    with pytest.raises(Locked):
        timer_services.timer_start(actor=as_member, project=project)


@pytest.mark.parametrize("status", [TimesheetStatus.SUBMITTED, TimesheetStatus.APPROVED])
def test_a_timer_in_a_week_locked_meanwhile_cannot_stop_nor_be_stopped_by_a_new_start(as_member, project, status):
    started = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    timer = timer_services.timer_start(actor=as_member, project=project, started_at=started)
    # Locked while it runs (as an admin's import could): a week's submission refuses a running timer.
    TimesheetFactory(member=as_member.membership, week_start=timer.week_start, status=status)

    with pytest.raises(Locked, match=f"is {status}"):
        timer_services.timer_stop(actor=as_member)
    with pytest.raises(Locked, match=f"is {status}"):
        timer_services.timer_start(actor=as_member, project=project, stop_running=True)
    assert TimeEntry.objects.get(pk=timer.pk).ended_at is None


def test_a_timer_in_an_open_week_stops_though_another_week_of_the_member_is_locked(as_member, project, workspace):
    timer = timer_services.timer_start(actor=as_member, project=project)
    TimesheetFactory(
        member=as_member.membership, week_start=timer.week_start - timedelta(days=7), status=TimesheetStatus.APPROVED
    )
    other = MembershipFactory(workspace=workspace)
    TimesheetFactory(member=other, week_start=timer.week_start, status=TimesheetStatus.SUBMITTED)

    assert timer_services.timer_stop(actor=as_member).ended_at is not None


def test_members_run_only_their_own_timer_managers_anyones(as_member, as_manager, project, other_member):
    with pytest.raises(Forbidden):
        timer_services.timer_start(actor=as_member, project=project, member=other_member)
    entry = timer_services.timer_start(actor=as_manager, project=project, member=other_member)
    assert entry.member == other_member
    assert timer_services.timer_stop(actor=as_manager, member=other_member).pk == entry.pk


# --- the race ---------------------------------------------------------------------------------

RACERS = 8


def _race(target, n: int = RACERS) -> list[object]:
    """Run ``target`` in ``n`` threads released at the same instant; each has its own connection."""
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = target()
        except Exception as exc:  # collected and asserted on by the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture
def racer(transactional_db):
    member = MembershipFactory(role=Role.MEMBER)
    project = ProjectFactory(workspace=member.workspace, team=[member])
    return principal_for(member), project


@pytest.mark.slow
def test_concurrent_starts_leave_exactly_one_running_timer(racer):
    actor, project = racer
    results = _race(lambda: timer_services.timer_start(actor=actor, project=project))

    started = [r for r in results if isinstance(r, TimeEntry)]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(started) == 1, results
    assert len(conflicts) == RACERS - 1, results
    assert TimeEntry.objects.filter(member=actor.membership, ended_at__isnull=True).count() == 1
    assert TimeEntry.objects.filter(member=actor.membership).count() == 1


@pytest.mark.slow
def test_concurrent_starts_that_stop_the_running_one_still_leave_exactly_one(racer):
    actor, project = racer
    results = _race(lambda: timer_services.timer_start(actor=actor, project=project, stop_running=True))

    assert all(isinstance(r, TimeEntry) for r in results), results
    entries = TimeEntry.objects.filter(member=actor.membership)
    assert entries.count() == RACERS
    assert entries.filter(ended_at__isnull=True).count() == 1
    assert AuditEvent.objects.filter(action="timer.stop").count() == RACERS - 1


# --- the unique running timer, the backstop should the member's lock be bypassed ---------------


@pytest.fixture
def lock_bypassed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The running timer read under the member's lock is not seen, as if the lock were bypassed."""
    monkeypatch.setattr(timer_services, "_with_member", lambda timers, member: None)


@pytest.mark.django_db(transaction=True)
def test_a_second_running_timer_is_refused_by_the_constraint_as_a_conflict(racer, lock_bypassed):
    actor, project = racer
    first = timer_services.timer_start(actor=actor, project=project)  # nothing runs yet

    with pytest.raises(Conflict, match="already running"):
        timer_services.timer_start(actor=actor, project=project)

    assert list(TimeEntry.objects.filter(member=actor.membership).values_list("pk", flat=True)) == [first.pk]
    assert AuditEvent.objects.filter(action="timer.start").count() == 1  # the refused one's rolled back


@pytest.mark.django_db(transaction=True)
def test_in_an_outer_transaction_the_refused_start_is_undone_and_the_outer_one_goes_on(racer, lock_bypassed):
    actor, project = racer
    timer_services.timer_start(actor=actor, project=project)

    with transaction.atomic():
        with pytest.raises(Conflict, match="already running"):
            timer_services.timer_start(actor=actor, project=project)
        assert TimeEntry.objects.filter(member=actor.membership).count() == 1  # the transaction works on
        TimesheetFactory(member=actor.membership)

    assert TimeEntry.objects.filter(member=actor.membership).count() == 1
    assert Timesheet.objects.filter(member=actor.membership).count() == 1


@pytest.mark.django_db(transaction=True)
def test_another_integrity_error_is_not_taken_for_a_running_timer(racer):
    actor, _project = racer
    week = TimesheetFactory(member=actor.membership)

    @timer_services._a_second_running_timer_conflicts
    @transaction.atomic
    def duplicate_week() -> TimeEntry:
        Timesheet.objects.create(workspace=week.workspace, member=week.member, week_start=week.week_start)
        raise AssertionError("unreachable")

    with pytest.raises(IntegrityError, match="timesheet_unique_member_week"):
        duplicate_week()
