"""Reads sent together (``compiled.together``, ``DatabaseWrapper.fetch_together``): several
statements in one round trip, each still a statement of its own. Round trips are counted on the
wire, from libpq's trace of the connection: one ``ReadyForQuery`` answers each."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.db import ProgrammingError, connection, transaction
from django.test.utils import CaptureQueriesContext
from psycopg import pq

from billing.unbilled import unbilled
from tests.billing.test_invoices import JUNE, WEEK, approve, work
from tests.factories import ClientFactory, ProjectFactory, TimeEntryFactory
from tests.timetracker.wire import fresh_connection, round_trips_with, wire
from timesheets.models import TimeEntry
from timesheets.services import time_entry_create, time_entry_create_for_day, time_entry_delete, time_entry_update
from timesheets.timer_services import timer_start, timer_stop
from timetracker import compiled
from timetracker.compiled import ID, Param
from workspaces.models import Membership

pytestmark = pytest.mark.django_db(transaction=True)


def member_row() -> Any:
    return Membership.objects.select_for_update(of=("self",)).filter(pk=Param("member_id", ID))


def entries_of_member() -> Any:
    return TimeEntry.objects.filter(member_id=Param("member_id", ID)).order_by("id").values("id")


def test_reads_sent_together_go_in_one_round_trip_and_each_gives_its_rows(member):
    entries = TimeEntryFactory.create_batch(2, member=member)
    reads = (
        compiled.Read(compiled.ModelTemplate, ("test lock", object()), member_row, {"member_id": member.pk}),
        compiled.Read(compiled.Template, ("test entries", object()), entries_of_member, {"member_id": member.pk}),
    )

    with transaction.atomic():
        connection.ensure_connection()
        with CaptureQueriesContext(connection) as logged, wire() as trips:
            locked, rows = compiled.together(*reads)
        with wire() as apart:  # the same reads, each on its own
            for read in reads:
                compiled.together(read)

    assert [m.pk for m in locked] == [member.pk]
    assert isinstance(locked[0], Membership)
    assert rows == [{"id": entry.pk} for entry in entries]
    assert len(logged.captured_queries) == 2  # each read counted as when run on its own
    (lock_trip,) = round_trips_with(trips, "FOR UPDATE")
    assert round_trips_with(trips, '"timesheets_timeentry"') == [lock_trip]
    assert round_trips_with(trips, "BEGIN") == [lock_trip]  # the transaction's BEGIN with them
    assert len(trips) == 1
    assert len(apart) == 2  # one each


def test_a_read_after_a_failing_one_does_not_run_and_the_failure_is_djangos(member):
    def broken() -> Any:
        return Membership.objects.filter(pk=Param("member_id", ID)).extra(where=["1/0 = 1"])

    reads = (
        compiled.Read(compiled.ModelTemplate, ("test broken", object()), broken, {"member_id": member.pk}),
        compiled.Read(compiled.Template, ("test entries", object()), entries_of_member, {"member_id": member.pk}),
    )

    with pytest.raises(Exception) as failed, transaction.atomic():  # noqa: PT011
        compiled.together(*reads)

    assert failed.value.__class__.__module__ == "django.db.utils"  # DataError, wrapped as Django wraps it
    assert "division by zero" in str(failed.value)
    assert Membership.objects.filter(pk=member.pk).exists()  # and the connection works on


def test_a_lock_read_outside_a_transaction_is_refused_as_django_refuses_it(member):
    read = compiled.Read(compiled.ModelTemplate, ("test lock", object()), member_row, {"member_id": member.pk})

    with pytest.raises(transaction.TransactionManagementError):
        compiled.together(read)


def test_a_statement_waiting_for_the_commit_is_sent_before_them(member):
    from django.db import connections

    from timetracker.postgresql.base import DatabaseWrapper

    ours = connections["default"]
    assert isinstance(ours, DatabaseWrapper)
    read = compiled.Read(compiled.Template, ("test entries", object()), entries_of_member, {"member_id": member.pk})
    entry = TimeEntryFactory(member=member)
    with transaction.atomic():
        ours.execute_with_commit("DELETE FROM timesheets_timeentry WHERE id = %s", [entry.pk])
        assert compiled.together(read, read) == [[], []]  # the delete ran first
        assert ours.with_commit == []
    with pytest.raises(ProgrammingError), transaction.atomic():
        ours.fetch_together([("SELECT no_such_column FROM workspaces_membership", [])])


def test_a_day_entrys_lock_slot_week_and_team_go_in_one_round_trip(as_member, member, project):
    TimeEntryFactory(member=member, project=project)  # the factory's own writes, before tracing
    day = date(2026, 3, 4)

    with wire() as trips:
        entry = time_entry_create_for_day(actor=as_member, project=project, day=day, duration_seconds=900)

    (lock_trip,) = round_trips_with(trips, "FOR UPDATE")
    # the day's slot, the week's lock and the project's team (a member logs on their projects)
    assert round_trips_with(trips, '"last_end"') == [lock_trip]
    assert round_trips_with(trips, '"timesheets_timesheet"') == [lock_trip]
    assert round_trips_with(trips, '"workspaces_project_team"') == [lock_trip]
    # BEGIN and the lock with what the write reads, the entry's id drawn; then the entry's INSERT
    # and its audit event with the COMMIT
    assert round_trips_with(trips, "BEGIN") == round_trips_with(trips, "nextval(") == [lock_trip]
    assert round_trips_with(trips, 'INSERT INTO "timesheets_timeentry"') == [lock_trip + 1]
    assert round_trips_with(trips, 'INSERT INTO "workspaces_auditevent"') == [lock_trip + 1]
    assert round_trips_with(trips, "COMMIT") == [lock_trip + 1]
    assert len(trips) == 2
    assert entry.started_at.hour == 9
    assert TimeEntry.objects.get(pk=entry.pk).started_at == entry.started_at


def test_an_entry_with_times_reads_its_week_and_team_with_the_lock(as_member, member, project):
    TimeEntryFactory(member=member, project=project)
    started = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)

    with wire() as trips:
        entry = time_entry_create(
            actor=as_member, project=project, started_at=started, ended_at=started + timedelta(hours=1)
        )

    (lock_trip,) = round_trips_with(trips, "FOR UPDATE")
    assert round_trips_with(trips, '"timesheets_timesheet"') == [lock_trip]
    assert round_trips_with(trips, '"workspaces_project_team"') == [lock_trip]
    assert round_trips_with(trips, '"last_end"') == []  # its times are given
    assert round_trips_with(trips, "nextval(") == [lock_trip]
    assert round_trips_with(trips, 'INSERT INTO "timesheets_timeentry"') == round_trips_with(trips, "COMMIT")
    assert len(trips) == 2
    assert (entry.started_at, entry.duration_seconds) == (started, 3600)
    stored = TimeEntry.objects.get(pk=entry.pk)
    assert (stored.started_at, stored.duration_seconds, stored.member_id) == (started, 3600, member.pk)


def test_a_change_locks_the_member_and_the_entry_in_one_round_trip(as_member, member, project):
    entry = TimeEntryFactory(member=member, project=project)

    with wire() as trips:
        changed = time_entry_update(actor=as_member, entry=entry, data={"description": "changed"})

    (member_lock,) = round_trips_with(trips, 'SELECT "workspaces_membership"')
    (entry_lock,) = round_trips_with(trips, 'SELECT "timesheets_timeentry"')
    assert member_lock == entry_lock  # the entry's lock rides with the member's
    # BEGIN with both locks (the entry with its project) and its week's lock, read once for the
    # old and the new time in the same week; the UPDATE of the locked row and its audit event with
    # the COMMIT. Nothing read lazily: the entry's member, its user and its project come with the locks.
    assert round_trips_with(trips, "BEGIN") == [member_lock]
    assert round_trips_with(trips, '"timesheets_timesheet"') == [member_lock]
    assert round_trips_with(trips, 'UPDATE "timesheets_timeentry"') == [member_lock + 1]
    assert round_trips_with(trips, "COMMIT") == [member_lock + 1]
    assert len(trips) == 2
    assert round_trips_with(trips, 'FROM "workspaces_user"') == []
    assert changed.description == "changed"


def test_a_delete_reads_its_entrys_week_with_the_locks(as_member, member, project):
    entry = TimeEntryFactory(member=member, project=project)

    with wire() as trips:
        time_entry_delete(actor=as_member, entry=entry)

    (member_lock,) = round_trips_with(trips, 'SELECT "workspaces_membership"')
    assert round_trips_with(trips, '"timesheets_timesheet"') == [member_lock]
    assert not TimeEntry.objects.filter(pk=entry.pk).exists()


def test_a_timer_starts_and_stops_with_its_reads_in_the_locks_round_trip(as_member, member, project):
    TimeEntryFactory(member=member, project=project)

    with wire() as starting:
        timer = timer_start(actor=as_member, project=project)
    with wire() as stopping:
        stopped = timer_stop(actor=as_member)

    (lock_trip,) = round_trips_with(starting, "FOR UPDATE")
    # the running timer (none), the week's lock and the project's team, with the member's lock
    assert round_trips_with(starting, 'SELECT "timesheets_timeentry"') == [lock_trip]
    assert round_trips_with(starting, '"workspaces_project_team"') == [lock_trip]
    # BEGIN, the lock and its reads with the entry's id drawn; the INSERT and its audit event
    # with the COMMIT
    assert round_trips_with(starting, "nextval(") == [lock_trip]
    assert round_trips_with(starting, 'INSERT INTO "timesheets_timeentry"') == [lock_trip + 1]
    assert round_trips_with(starting, "COMMIT") == [lock_trip + 1]
    assert round_trips_with(starting, "SAVEPOINT") == []
    assert len(starting) == 2
    (lock_trip,) = round_trips_with(stopping, 'SELECT "workspaces_membership"')
    assert round_trips_with(stopping, 'SELECT "timesheets_timeentry"') == [lock_trip]
    assert round_trips_with(stopping, '"timesheets_timesheet"') == [lock_trip]  # the timer's week's lock
    assert round_trips_with(stopping, 'FROM "workspaces_user"') == []
    # BEGIN, the lock, the timer and its week's lock; the UPDATE of the locked timer and the audit
    # event with the COMMIT
    assert round_trips_with(stopping, 'UPDATE "timesheets_timeentry"') == [lock_trip + 1]
    assert round_trips_with(stopping, "COMMIT") == [lock_trip + 1]
    assert len(stopping) == 2
    assert stopped.pk == timer.pk
    assert stopped.ended_at is not None


def test_unbilled_sends_its_three_sums_together_and_then_names_the_projects(as_admin, member, workspace):
    site = ProjectFactory(workspace=workspace, client=ClientFactory(workspace=workspace), team=[member])
    approve(member)
    work(member, site, WEEK, 3600)

    with wire() as trips:
        report = unbilled(actor=as_admin, as_of=JUNE[1])

    (sums,) = round_trips_with(trips, '"billable_cent_seconds"')  # the time
    assert round_trips_with(trips, '"billing_expense"') == [sums]
    assert round_trips_with(trips, 'INNER JOIN "workspaces_project"') == [sums]  # the drafts (with a client)
    assert round_trips_with(trips, "= ANY(") == [sums + 1]  # the names of the projects found
    assert len(trips) == 2
    assert [(c.projects[0].project_id, c.projects[0].seconds) for c in report.clients] == [(site.pk, 3600)]


def test_reads_sent_together_are_prepared_as_reads_on_their_own_are(member):
    entry = TimeEntryFactory(member=member)
    reads = (
        compiled.Read(compiled.ModelTemplate, ("test lock", object()), member_row, {"member_id": member.pk}),
        compiled.Read(compiled.Template, ("test entries", object()), entries_of_member, {"member_id": member.pk}),
    )

    for _ in range(4):  # prepared from the third run on (prepare_threshold 2), the same answers throughout
        with transaction.atomic():
            locked, rows = compiled.together(*reads)
        assert ([m.pk for m in locked], rows) == ([member.pk], [{"id": entry.pk}])

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert sum("FOR UPDATE" in statement for statement in prepared) == 1
    assert sum('FROM "timesheets_timeentry"' in statement for statement in prepared) == 1


def test_where_the_database_cannot_send_them_together_they_run_one_after_another(member, monkeypatch):
    from timetracker.postgresql.base import DatabaseWrapper

    entry = TimeEntryFactory(member=member)
    monkeypatch.setattr(DatabaseWrapper, "fetch_together", None)  # as on SQLite (make run)
    reads = (
        compiled.Read(compiled.ModelTemplate, ("test lock", object()), member_row, {"member_id": member.pk}),
        compiled.Read(compiled.Template, ("test entries", object()), entries_of_member, {"member_id": member.pk}),
    )

    with transaction.atomic():
        connection.ensure_connection()
        with wire() as trips:
            locked, rows = compiled.together(*reads)

    assert ([m.pk for m in locked], rows) == ([member.pk], [{"id": entry.pk}])
    assert round_trips_with(trips, "FOR UPDATE") != round_trips_with(trips, '"timesheets_timeentry"')


def locked_elsewhere(member: Membership) -> bool:
    """Whether another connection finds the member's row locked."""
    import psycopg

    with fresh_connection() as other:
        other.autocommit = True
        try:
            other.execute("SELECT 1 FROM workspaces_membership WHERE id = %s FOR UPDATE NOWAIT", [member.pk])
        except psycopg.errors.LockNotAvailable:
            return True
    return False


def test_the_begin_sent_with_the_reads_opens_the_transaction_psycopg_would_have(member):
    read = compiled.Read(compiled.ModelTemplate, ("test lock", object()), member_row, {"member_id": member.pk})
    raw: Any = None

    with transaction.atomic():
        connection.ensure_connection()
        raw = connection.connection
        with wire() as trips:
            compiled.together(read)
        # in the transaction the BEGIN opened, as psycopg leaves it after its own BEGIN
        assert (raw.info.transaction_status, raw.autocommit) == (pq.TransactionStatus.INTRANS, False)
        assert locked_elsewhere(member)  # held until the COMMIT, not released after the reads
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")  # no BEGIN of psycopg's: already in the transaction
        assert raw.info.transaction_status == pq.TransactionStatus.INTRANS

    assert len(trips) == 1
    assert round_trips_with(trips, "BEGIN") == round_trips_with(trips, "FOR UPDATE") == [0]
    assert not locked_elsewhere(member)
    assert raw.info.transaction_status == pq.TransactionStatus.IDLE


def test_a_rollback_after_the_reads_releases_the_lock(member):
    read = compiled.Read(compiled.ModelTemplate, ("test lock", object()), member_row, {"member_id": member.pk})

    @transaction.atomic
    def lock_change_fail() -> None:
        compiled.together(read)
        Membership.objects.filter(pk=member.pk).update(is_active=False)
        raise RuntimeError

    with pytest.raises(RuntimeError):
        lock_change_fail()

    assert not locked_elsewhere(member)
    assert Membership.objects.get(pk=member.pk).is_active  # the update was rolled back


def test_with_autocommit_off_the_next_transaction_after_a_commit_begins_as_psycopg_begins_it(member):
    read = compiled.Read(compiled.ModelTemplate, ("test lock", object()), member_row, {"member_id": member.pk})
    connection.ensure_connection()
    raw: Any = connection.connection
    transaction.set_autocommit(False)
    try:
        compiled.together(read)
        transaction.commit()
        assert not locked_elsewhere(member)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        # psycopg began the next transaction itself: its autocommit flag is off again
        assert raw.info.transaction_status == pq.TransactionStatus.INTRANS
        transaction.rollback()
    finally:
        transaction.set_autocommit(True)


def test_a_transaction_with_an_isolation_level_keeps_psycopgs_own_begin(member):
    from psycopg import IsolationLevel

    read = compiled.Read(compiled.ModelTemplate, ("test lock", object()), member_row, {"member_id": member.pk})
    connection.ensure_connection()
    raw: Any = connection.connection
    raw.isolation_level = IsolationLevel.SERIALIZABLE
    try:
        with transaction.atomic():
            with wire() as trips:
                compiled.together(read)
            with connection.cursor() as cursor:
                cursor.execute("SHOW transaction_isolation")
                (isolation,) = cursor.fetchone()
    finally:
        raw.isolation_level = None

    assert isolation == "serializable"
    assert len(trips) == 2  # psycopg's BEGIN ISOLATION LEVEL SERIALIZABLE, then the read
    assert round_trips_with(trips, "BEGIN ISOLATION LEVEL SERIALIZABLE") == [0]
