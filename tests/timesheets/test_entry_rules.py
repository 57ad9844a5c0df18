"""The rules every time write obeys, whatever face calls the service."""

from datetime import UTC, datetime, timedelta

import factory
import pytest
from django.db import connection

from tests.factories import (
    MembershipFactory,
    ProjectFactory,
    TagFactory,
    TaskFactory,
    TimeEntryFactory,
    TimesheetFactory,
    finished_entry,
)
from tests.timesheets.conftest import MONDAY, berlin
from timesheets import services, timer_services
from timesheets.member_time import overlapping
from timesheets.models import TimeEntry, TimesheetStatus
from workspaces.errors import Conflict, Forbidden, Invalid, Locked, NotFound
from workspaces.models import AuditEvent, OverlapPolicy, ProjectStatus, Role


def log(actor, project, start, end, **kwargs):
    return services.time_entry_create(actor=actor, project=project, started_at=start, ended_at=end, **kwargs)


# --- duration ---------------------------------------------------------------------------------


def test_entry_is_saved_with_whole_seconds_and_audited(as_member, project):
    entry = log(as_member, project, berlin(MONDAY, 9, 0, 0) + timedelta(microseconds=700), berlin(MONDAY, 10, 30, 15))

    entry.refresh_from_db()
    assert entry.duration_seconds == 90 * 60 + 15
    assert entry.started_at.microsecond == 0
    assert entry.member == as_member.membership
    event = AuditEvent.objects.get(action="time_entry.create", target_id=str(entry.pk))
    assert (event.actor, event.workspace, event.outcome) == (as_member.user, as_member.workspace, "ok")


@pytest.mark.parametrize("minutes", [0, -30])
def test_entry_must_end_after_it_starts(as_member, project, minutes):
    with pytest.raises(Invalid) as exc:
        log(as_member, project, berlin(MONDAY, 9), berlin(MONDAY, 9) + timedelta(minutes=minutes))
    assert exc.value.fields == {"ended_at": ["Must be after started_at."]}
    assert not TimeEntry.objects.exists()


def test_entry_lasts_at_most_24_hours(as_member, project):
    start = berlin(MONDAY, 9)
    log(as_member, project, start, start + timedelta(hours=24))
    with pytest.raises(Invalid, match="at most 24 hours"):
        log(as_member, project, start + timedelta(days=2), start + timedelta(days=3, seconds=1))
    assert TimeEntry.objects.count() == 1


def test_naive_datetimes_are_refused(as_member, project):
    with pytest.raises(Invalid, match="offset"):
        log(as_member, project, datetime(2026, 6, 1, 9), datetime(2026, 6, 1, 10))


# --- overlap ----------------------------------------------------------------------------------


@pytest.fixture
def forbid_overlap(workspace):
    workspace.overlap_policy = OverlapPolicy.FORBID
    workspace.save()


def test_overlap_is_allowed_by_default(as_member, project):
    log(as_member, project, berlin(MONDAY, 9), berlin(MONDAY, 11))
    log(as_member, project, berlin(MONDAY, 10), berlin(MONDAY, 12))
    assert TimeEntry.objects.count() == 2


@pytest.mark.usefixtures("forbid_overlap")
@pytest.mark.parametrize(
    ("start", "end"),
    [((9, 30), (10, 30)), ((8, 0), (9, 1)), ((9, 59), (12, 0)), ((8, 0), (12, 0)), ((9, 15), (9, 45))],
)
def test_overlap_is_refused_when_forbidden(as_member, project, start, end):
    log(as_member, project, berlin(MONDAY, 9), berlin(MONDAY, 10))
    with pytest.raises(Conflict, match="overlaps"):
        log(as_member, project, berlin(MONDAY, *start), berlin(MONDAY, *end))
    assert TimeEntry.objects.count() == 1


@pytest.mark.usefixtures("forbid_overlap")
def test_back_to_back_entries_never_overlap(as_member, project):
    log(as_member, project, berlin(MONDAY, 9), berlin(MONDAY, 10))
    log(as_member, project, berlin(MONDAY, 10), berlin(MONDAY, 11))
    log(as_member, project, berlin(MONDAY, 8), berlin(MONDAY, 9))
    assert TimeEntry.objects.count() == 3


@pytest.mark.usefixtures("forbid_overlap")
def test_overlap_is_per_member_and_ignores_the_entry_itself(as_member, project, other_member, make_principal):
    mine = log(as_member, project, berlin(MONDAY, 9), berlin(MONDAY, 10))
    log(make_principal(other_member), project, berlin(MONDAY, 9), berlin(MONDAY, 10))
    services.time_entry_update(actor=as_member, entry=mine, data={"ended_at": berlin(MONDAY, 10, 30)})
    assert TimeEntry.objects.get(pk=mine.pk).duration_seconds == 90 * 60


@pytest.mark.usefixtures("forbid_overlap")
def test_a_running_timer_overlaps_everything_after_its_start(as_member, project):
    timer_services.timer_start(actor=as_member, project=project, started_at=datetime.now(UTC) - timedelta(hours=2))
    with pytest.raises(Conflict, match="running"):
        log(
            as_member,
            project,
            datetime.now(UTC) - timedelta(hours=1),
            datetime.now(UTC) - timedelta(minutes=30),
        )


def test_overlapping_finds_a_day_long_entry_and_a_timer_older_than_a_day(member, project, workspace):
    # given an entry from 09:00 the day before lasting 23 h 30 (till 08:30 on Monday), a timer
    # running for three days, an entry two days back, and one that ends as the new time starts
    day_long = finished_entry(member, project, berlin(MONDAY, 9) - timedelta(days=1), 23 * 3600 + 1800)
    timer = TimeEntryFactory(
        member=member, project=project, started_at=berlin(MONDAY, 8) - timedelta(days=3), ended_at=None
    )
    finished_entry(member, project, berlin(MONDAY, 9) - timedelta(days=2), 3600)
    finished_entry(member, project, berlin(MONDAY, 7), 3600)  # 07:00-08:00

    found = overlapping(workspace, member.pk, berlin(MONDAY, 8), berlin(MONDAY, 9))

    assert set(found) == {day_long, timer}
    assert set(overlapping(workspace, member.pk, berlin(MONDAY, 8), berlin(MONDAY, 9), exclude_id=timer.pk)) == {
        day_long
    }


def test_overlapping_reads_only_the_last_day_of_a_long_history(member, project, workspace):
    # given two years of a member's time before Monday
    TimeEntryFactory.create_batch(
        600,
        member=member,
        project=project,
        started_at=factory.Iterator([berlin(MONDAY, 9) - timedelta(days=d) for d in range(1, 601)]),
        ended_at=factory.LazyAttribute(lambda e: e.started_at + timedelta(hours=1)),
        duration_seconds=3600,
    )
    sql, params = (
        overlapping(workspace, member.pk, berlin(MONDAY, 9), berlin(MONDAY, 10)).values("pk").query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE timesheets_timeentry")  # planned as on a real table, not an empty one
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0][0]["Plan"]

    def rows_read(node: dict) -> int:
        scanned = node["Node Type"].endswith("Scan")
        own = node["Actual Rows"] + node.get("Rows Removed by Filter", 0) if scanned else 0
        return own + sum(rows_read(child) for child in node.get("Plans", []))

    # then the scans read the entry of the day before (and its index entry), not the 600
    assert rows_read(plan) <= 10


# --- locks ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [TimesheetStatus.SUBMITTED, TimesheetStatus.APPROVED])
def test_time_in_a_submitted_or_approved_week_is_locked(as_member, project, status):
    entry = log(as_member, project, berlin(MONDAY, 9), berlin(MONDAY, 10))
    TimesheetFactory(member=as_member.membership, week_start=MONDAY, status=status)

    with pytest.raises(Locked, match=f"week of 2026-06-01 is {status}"):
        log(as_member, project, berlin(MONDAY + timedelta(days=2), 9), berlin(MONDAY + timedelta(days=2), 10))
    with pytest.raises(Locked):
        services.time_entry_update(actor=as_member, entry=entry, data={"description": "changed"})
    with pytest.raises(Locked):
        services.time_entry_delete(actor=as_member, entry=entry)
    entry.refresh_from_db()
    assert entry.description == ""
    assert TimeEntry.objects.count() == 1


def test_another_members_week_or_another_week_locked_leaves_an_entry_free(as_member, project, workspace):
    entry = log(as_member, project, berlin(MONDAY, 9), berlin(MONDAY, 10))
    TimesheetFactory(member=MembershipFactory(workspace=workspace), week_start=MONDAY, status=TimesheetStatus.SUBMITTED)
    TimesheetFactory(
        member=as_member.membership, week_start=MONDAY - timedelta(days=7), status=TimesheetStatus.APPROVED
    )

    changed = services.time_entry_update(actor=as_member, entry=entry, data={"description": "changed"})
    assert TimeEntry.objects.get(pk=entry.pk).description == changed.description == "changed"
    services.time_entry_delete(actor=as_member, entry=entry)
    assert not TimeEntry.objects.filter(pk=entry.pk).exists()


def for_day(actor, project, day, seconds):
    return services.time_entry_create_for_day(actor=actor, project=project, day=day, duration_seconds=seconds)


@pytest.mark.parametrize("status", [TimesheetStatus.SUBMITTED, TimesheetStatus.APPROVED])
def test_time_given_as_a_day_reads_its_weeks_lock_with_its_slot(as_member, project, status, django_assert_num_queries):
    sunday = MONDAY + timedelta(days=6)
    for_day(as_member, project, sunday, 3600)  # warm: the member, project and compiled reads
    # The savepoint, the member lock, the day's slot with its week's lock and the project's team,
    # the entry, its audit event, the savepoint's release: no query of its own for the week's lock.
    with django_assert_num_queries(6):
        open_week = for_day(as_member, project, sunday, 3600)
    TimesheetFactory(member=as_member.membership, week_start=MONDAY, status=status)

    with pytest.raises(Locked, match=f"week of 2026-06-01 is {status}"), django_assert_num_queries(4):
        for_day(as_member, project, sunday, 600)
    assert (open_week.started_at, open_week.ended_at) == (berlin(sunday, 10), berlin(sunday, 11))
    assert TimeEntry.objects.count() == 2


def test_time_given_as_a_full_day_stays_on_that_day_and_in_its_week(as_member, project):
    sunday = MONDAY + timedelta(days=6)
    next_monday = MONDAY + timedelta(days=7)
    log(as_member, project, berlin(sunday, 9), berlin(sunday, 23))
    log(as_member, project, berlin(sunday, 23), berlin(next_monday, 1))  # the day's last entry ends on Monday
    TimesheetFactory(member=as_member.membership, week_start=next_monday, status=TimesheetStatus.SUBMITTED)

    # No room after the last entry: the time ends at midnight, on Sunday, in Sunday's open week.
    late = for_day(as_member, project, sunday, 1800)
    assert (late.started_at, late.ended_at) == (berlin(sunday, 23, 30), berlin(next_monday, 0))
    assert late.week_start == MONDAY
    whole = for_day(as_member, project, sunday, 24 * 3600)  # a whole day fills it from its first moment
    assert (whole.started_at, whole.ended_at) == (berlin(sunday, 0), berlin(next_monday, 0))
    assert TimeEntry.objects.filter(started_at__gte=berlin(next_monday, 0)).count() == 0


def test_time_given_as_a_day_goes_after_the_entry_that_ends_last_not_the_one_that_starts_last(as_member, project):
    log(as_member, project, berlin(MONDAY, 9), berlin(MONDAY, 18))
    log(as_member, project, berlin(MONDAY, 10), berlin(MONDAY, 11))  # starts last, ends early
    assert for_day(as_member, project, MONDAY, 3600).started_at == berlin(MONDAY, 18)
    log(as_member, project, berlin(MONDAY, 12), berlin(MONDAY, 23, 50))
    log(as_member, project, berlin(MONDAY, 13), berlin(MONDAY, 14))
    late = for_day(as_member, project, MONDAY, 1800)  # no room after 23:50: ends at midnight
    assert (late.started_at, late.ended_at) == (berlin(MONDAY, 23, 30), berlin(MONDAY + timedelta(days=1), 0))


def test_time_given_as_a_day_that_finds_no_free_slot_is_refused_where_overlaps_are(as_member, project, workspace):
    workspace.overlap_policy = OverlapPolicy.FORBID
    workspace.save()
    log(as_member, project, berlin(MONDAY, 9), berlin(MONDAY, 23, 45))
    with pytest.raises(Conflict, match="overlap"):
        for_day(as_member, project, MONDAY, 1800)
    assert for_day(as_member, project, MONDAY, 900).started_at == berlin(MONDAY, 23, 45)  # it still fits


def test_a_rejected_or_open_week_stays_editable(as_member, project):
    TimesheetFactory(
        member=as_member.membership, week_start=MONDAY, status=TimesheetStatus.REJECTED, rejection_reason="x"
    )
    entry = log(as_member, project, berlin(MONDAY, 9), berlin(MONDAY, 10))
    services.time_entry_update(actor=as_member, entry=entry, data={"description": "fixed"})
    assert TimeEntry.objects.get(pk=entry.pk).description == "fixed"


def test_the_lock_is_per_member(as_member, project, other_member, make_principal):
    TimesheetFactory(member=other_member, week_start=MONDAY, status=TimesheetStatus.APPROVED)
    log(as_member, project, berlin(MONDAY, 9), berlin(MONDAY, 10))
    with pytest.raises(Locked):
        log(make_principal(other_member), project, berlin(MONDAY, 9), berlin(MONDAY, 10))


def test_time_on_or_before_the_lock_date_is_locked(as_member, project, workspace):
    entry = log(as_member, project, berlin(MONDAY, 9), berlin(MONDAY, 10))
    workspace.lock_date = MONDAY
    workspace.save()
    as_member.membership.workspace.refresh_from_db()

    with pytest.raises(Locked, match="on or before the workspace lock date \\(2026-06-01\\)"):
        log(as_member, project, berlin(MONDAY, 14), berlin(MONDAY, 15))
    with pytest.raises(Locked):
        services.time_entry_delete(actor=as_member, entry=entry)
    # the day after is open
    log(as_member, project, berlin(MONDAY + timedelta(days=1), 9), berlin(MONDAY + timedelta(days=1), 10))


def test_the_lock_date_is_read_in_the_workspace_time_zone(as_member, project, workspace):
    workspace.lock_date = MONDAY
    workspace.save()
    # 00:30 on Tuesday in Berlin is still Monday in UTC: it is Tuesday for the workspace, so open.
    log(as_member, project, berlin(MONDAY + timedelta(days=1), 0, 30), berlin(MONDAY + timedelta(days=1), 1, 30))
    # 23:30 on Monday in Berlin is Monday: locked.
    with pytest.raises(Locked):
        log(as_member, project, berlin(MONDAY, 23, 30), berlin(MONDAY, 23, 45))


def test_an_entry_cannot_be_moved_into_a_locked_week(as_member, project):
    TimesheetFactory(member=as_member.membership, week_start=MONDAY, status=TimesheetStatus.APPROVED)
    next_week = MONDAY + timedelta(days=7)
    entry = log(as_member, project, berlin(next_week, 9), berlin(next_week, 10))
    with pytest.raises(Locked):
        services.time_entry_update(
            actor=as_member, entry=entry, data={"started_at": berlin(MONDAY, 9), "ended_at": berlin(MONDAY, 10)}
        )
    assert TimeEntry.objects.get(pk=entry.pk).started_at == berlin(next_week, 9)


# --- who, what, where -------------------------------------------------------------------------


def test_members_log_only_their_own_time(as_member, project, other_member):
    with pytest.raises(Forbidden):
        log(as_member, project, berlin(MONDAY, 9), berlin(MONDAY, 10), member=other_member)


@pytest.mark.parametrize("fixture", ["as_manager", "as_admin", "as_owner"])
def test_managers_and_up_log_anyones_time(request, project, member, fixture):
    actor = request.getfixturevalue(fixture)
    entry = log(actor, project, berlin(MONDAY, 9), berlin(MONDAY, 10), member=member)
    assert entry.member == member
    assert entry.created_by == actor.user


def test_members_log_only_on_projects_of_their_team(as_member, workspace):
    outside = ProjectFactory(workspace=workspace, name="Not mine")
    with pytest.raises(Forbidden, match="not on the team"):
        log(as_member, outside, berlin(MONDAY, 9), berlin(MONDAY, 10))
    with pytest.raises(Forbidden, match="not on the team"):  # the team read with the member's lock
        for_day(as_member, outside, MONDAY, 3600)
    assert not TimeEntry.objects.exists()


def test_another_workspaces_member_project_task_and_tag_are_refused(as_member, as_manager, project, task):
    foreign = MembershipFactory(role=Role.MEMBER)
    foreign_project = ProjectFactory(workspace=foreign.workspace, team=[foreign])
    with pytest.raises(NotFound):
        log(as_manager, project, berlin(MONDAY, 9), berlin(MONDAY, 10), member=foreign)
    with pytest.raises(Invalid, match="Project not found"):
        log(as_member, foreign_project, berlin(MONDAY, 9), berlin(MONDAY, 10))
    with pytest.raises(Invalid, match="not part of the project"):
        log(as_member, project, berlin(MONDAY, 9), berlin(MONDAY, 10), task=TaskFactory(project=foreign_project))
    with pytest.raises(Invalid, match="tag"):
        log(as_member, project, berlin(MONDAY, 9), berlin(MONDAY, 10), tags=[TagFactory(workspace=foreign.workspace)])
    assert not TimeEntry.objects.exists()


def test_archived_projects_and_tasks_take_no_new_time(as_member, project, task):
    task.is_archived = True
    task.save()
    with pytest.raises(Invalid, match="task is archived"):
        log(as_member, project, berlin(MONDAY, 9), berlin(MONDAY, 10), task=task)
    project.status = ProjectStatus.ARCHIVED
    project.save()
    with pytest.raises(Invalid, match="project is archived"):
        log(as_member, project, berlin(MONDAY, 9), berlin(MONDAY, 10))


def test_a_deactivated_member_cannot_get_new_time(as_manager, project, member):
    member.is_active = False
    member.save()
    with pytest.raises(Invalid, match="deactivated"):
        log(as_manager, project, berlin(MONDAY, 9), berlin(MONDAY, 10), member=member)


def test_tags_are_set_and_replaced(as_member, project, workspace):
    a, b = TagFactory(workspace=workspace), TagFactory(workspace=workspace)
    entry = log(as_member, project, berlin(MONDAY, 9), berlin(MONDAY, 10), tags=[a])
    assert list(entry.tags.all()) == [a]
    services.time_entry_update(actor=as_member, entry=entry, data={"tags": [b]})
    assert list(TimeEntry.objects.get(pk=entry.pk).tags.all()) == [b]


# --- update and delete ------------------------------------------------------------------------


def test_update_rejects_unknown_fields_by_name(as_member, project):
    entry = log(as_member, project, berlin(MONDAY, 9), berlin(MONDAY, 10))
    with pytest.raises(Invalid) as exc:
        services.time_entry_update(actor=as_member, entry=entry, data={"billable_rate": 1, "member": 2})
    assert set(exc.value.fields) == {"billable_rate", "member"}
    assert "billable_rate, member" in exc.value.message


def test_members_cannot_change_or_delete_someone_elses_entry(as_member, project, other_member, make_principal):
    theirs = log(make_principal(other_member), project, berlin(MONDAY, 9), berlin(MONDAY, 10))
    with pytest.raises(Forbidden):
        services.time_entry_update(actor=as_member, entry=theirs, data={"description": "mine now"})
    with pytest.raises(Forbidden):
        services.time_entry_delete(actor=as_member, entry=theirs)
    assert TimeEntry.objects.filter(pk=theirs.pk, description="").exists()


def test_delete_removes_the_entry_and_is_audited(as_member, project):
    entry = log(as_member, project, berlin(MONDAY, 9), berlin(MONDAY, 10))
    services.time_entry_delete(actor=as_member, entry=entry)
    assert not TimeEntry.objects.exists()
    event = AuditEvent.objects.get(action="time_entry.delete")
    assert event.target_id == str(entry.pk)
    assert event.detail["seconds"] == 3600


def test_update_is_audited_with_the_changed_fields(as_member, project):
    entry = log(as_member, project, berlin(MONDAY, 9), berlin(MONDAY, 10))
    services.time_entry_update(actor=as_member, entry=entry, data={"description": "Workshop", "billable": False})
    event = AuditEvent.objects.get(action="time_entry.update")
    assert event.detail == {"fields": ["billable", "description"]}


def test_another_workspaces_entry_is_not_found(as_member, project, make_principal):
    entry = log(as_member, project, berlin(MONDAY, 9), berlin(MONDAY, 10))
    stranger = make_principal(MembershipFactory(role=Role.OWNER))
    with pytest.raises(NotFound, match="Time entry not found"):
        services.time_entry_update(actor=stranger, entry=entry, data={"description": "x"})
    with pytest.raises(NotFound, match="Time entry not found"):
        services.time_entry_delete(actor=stranger, entry=entry)
    assert TimeEntry.objects.filter(pk=entry.pk, description="").exists()
