"""timetracker.postgresql: Django's PostgreSQL backend with datetimes read by psycopg's C loader,
the pool's health check skipped for a connection handed out in the last half second, and
statements sent with their transaction's COMMIT."""

import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import F, Sum
from django.test.utils import CaptureQueriesContext
from psycopg import pq

from tests.factories import ClientFactory, TimeEntryFactory, WorkspaceFactory
from timesheets.models import TimeEntry
from timetracker.postgresql import base as base_module
from timetracker.postgresql.base import (
    C_LOADER_AVAILABLE,
    RECENT_USE_SECONDS,
    CheckUnlessRecentlyUsed,
    DatabaseWrapper,
    PreparingCursor,
    UtcTimestamptzLoader,
)
from workspaces import audit
from workspaces.models import AuditEvent, Channel, Client


def read(sql: str) -> tuple[Any, ...]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone()
    assert row is not None
    return tuple(row)


@contextmanager
def wire() -> Iterator[list[list[str]]]:
    """The messages Django's connection exchanges meanwhile, one list per round trip: each ends
    with the server's ``ReadyForQuery``. Nothing is prepared meanwhile, so every statement's
    text is on the wire."""
    connection.ensure_connection()
    raw: Any = connection.connection
    threshold, raw.prepare_threshold = raw.prepare_threshold, None
    trips: list[list[str]] = []
    with tempfile.TemporaryFile(mode="w+") as trace:
        raw.pgconn.trace(trace.fileno())
        raw.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
        try:
            yield trips
        finally:
            raw.pgconn.untrace()
            raw.prepare_threshold = threshold
            trace.seek(0)
            trip: list[str] = []
            for line in trace.read().splitlines():
                trip.append(line)
                if line.startswith("B\t") and "\tReadyForQuery" in line:
                    trips.append(trip)
                    trip = []


def round_trips_with(trips: list[list[str]], text: str) -> list[int]:
    """Which round trips sent a statement containing ``text``."""
    return [
        number for number, trip in enumerate(trips) if any(line.startswith("F\t") and text in line for line in trip)
    ]


@pytest.mark.django_db
def test_the_engine_is_ours_and_the_c_loader_is_in_use():
    assert connection.settings_dict["ENGINE"] == "timetracker.postgresql"
    assert connection.vendor == "postgresql"
    assert C_LOADER_AVAILABLE  # psycopg[binary] is a dependency; without it the loader would stay Django's
    with connection.cursor() as cursor:
        loader = cursor.cursor.adapters.get_loader(1184, psycopg.pq.Format.TEXT)
    assert loader is UtcTimestamptzLoader


@pytest.mark.django_db
def test_values_are_aware_utc_datetimes_as_djangos_loader_makes_them():
    (value, none, micro) = read(
        "SELECT '2026-03-29 01:30:00+01'::timestamptz, NULL::timestamptz,"
        " '2026-11-20 23:59:59.999999-05:30'::timestamptz"
    )

    assert value == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    assert value.tzinfo is UTC
    assert none is None
    assert micro == datetime(2026, 11, 21, 5, 29, 59, 999999, tzinfo=UTC)
    assert micro.tzinfo is UTC


@pytest.mark.django_db
def test_a_connection_in_another_zone_still_reads_utc():
    with connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'America/St_Johns'")
        try:
            cursor.execute("SELECT '2026-07-01 12:00:00+00'::timestamptz")
            (value,) = cursor.fetchone()
        finally:
            cursor.execute("SET TIME ZONE 'UTC'")

    assert value == datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert value.tzinfo is UTC
    assert value.utcoffset() == timedelta(0)


@pytest.mark.django_db
def test_model_round_trip_keeps_the_instant():
    started = datetime(2026, 10, 25, 0, 45, 30, 123456, tzinfo=UTC)  # the night clocks go back in Europe
    entry = TimeEntryFactory(started_at=started, ended_at=started + timedelta(minutes=90))

    reread = TimeEntry.objects.values_list("started_at", "ended_at", "created_at").get(pk=entry.pk)

    assert reread[0] == started
    assert reread[0].tzinfo is UTC
    assert reread[1] == started + timedelta(minutes=90)
    assert reread[2].tzinfo is UTC


# --- the pool's health check --------------------------------------------------------------------


def fresh_connection() -> psycopg.Connection[Any]:
    settings = connection.settings_dict
    return psycopg.connect(
        dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"] or None, port=settings["PORT"] or None
    )


@pytest.mark.django_db
def test_the_check_pings_a_connection_not_handed_out_lately():
    check = CheckUnlessRecentlyUsed(window=60)
    conn = fresh_connection()
    check(conn)  # never handed out: pinged, and fine
    conn.close()

    check(conn)  # handed out a moment ago: not pinged, so its breakage is not seen here

    with pytest.raises(psycopg.OperationalError):
        CheckUnlessRecentlyUsed(window=60)(conn)  # a check that has not seen it pings it
    stale = CheckUnlessRecentlyUsed(window=0)
    live = fresh_connection()
    stale(live)
    live.close()
    with pytest.raises(psycopg.OperationalError):
        stale(live)  # outside the window: pinged every time


@pytest.mark.django_db(transaction=True)
def test_the_pool_skips_the_ping_within_half_a_second_and_replaces_a_broken_connection_after():
    settings = {
        **connection.settings_dict,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {**connection.settings_dict["OPTIONS"], "pool": {"min_size": 1, "max_size": 1}},
    }
    wrapper = DatabaseWrapper(settings, alias="pool_check_test")
    pool = wrapper.pool
    assert pool is not None
    try:
        pool.open(wait=True)
        first = pool.getconn()
        pid = first.info.backend_pid
        pool.putconn(first)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])

        again = pool.getconn()  # within the window: handed out unchecked, as it was fine just now
        assert again is first
        with pytest.raises(psycopg.OperationalError):
            again.execute("SELECT 1")
        pool.putconn(again)  # broken: the pool drops it

        time.sleep(RECENT_USE_SECONDS + 0.1)
        replacement = pool.getconn(timeout=10)
        assert replacement.execute("SELECT 1").fetchone() == (1,)
        assert replacement.info.backend_pid != pid
        pool.putconn(replacement)

        pid = replacement.info.backend_pid
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        time.sleep(RECENT_USE_SECONDS + 0.1)
        checked = pool.getconn(timeout=10)  # past the window: pinged, found broken, replaced
        assert checked.info.backend_pid != pid
        assert checked.execute("SELECT 1").fetchone() == (1,)
        pool.putconn(checked)
    finally:
        wrapper.close_pool()  # type: ignore[attr-defined]  # not in django-stubs 5.2


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_a_page_run_again_is_prepared_and_a_grouped_report_never_is():
    first = TimeEntryFactory(duration_seconds=1800)
    second = TimeEntryFactory(member=first.member, project=first.project, duration_seconds=600)
    with connection.cursor() as cursor:
        assert isinstance(cursor.cursor, PreparingCursor)
    entries = TimeEntry.objects.filter(workspace=first.workspace, member=first.member)
    # The aliases name each statement in pg_prepared_statements (its values are $n parameters).
    page = entries.annotate(page_probe=F("duration_seconds")).select_related("project").order_by("-id")
    report = entries.values("member_id").annotate(report_probe=Sum("duration_seconds")).order_by()

    for _ in range(4):  # prepared on the third run; answers the same before and after
        assert [(e.pk, e.page_probe, e.project.name) for e in page[:10]] == [
            (second.pk, 600, first.project.name),
            (first.pk, 1800, first.project.name),
        ]
        assert list(report.all()) == [{"member_id": first.member_id, "report_probe": 2400}]

    statements = prepared_statements()
    assert sum('AS "page_probe"' in statement for statement in statements) == 1
    assert not any("report_probe" in statement for statement in statements)


# --- statements sent with the COMMIT --------------------------------------------------------------


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """What this process sends PostgreSQL, message by message: a statement of Django's, a
    message of several statements, or psycopg's own COMMIT."""
    messages: list[tuple[str, str]] = []
    statement, several, commit = PreparingCursor.execute, psycopg.ClientCursor.execute, psycopg.Connection.commit

    def one(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        messages.append(("statement", str(query)))
        return statement(self, query, *args, **kwargs)

    def many(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        messages.append(("message", str(query)))
        return several(self, query, *args, **kwargs)

    def plain_commit(self: Any) -> None:
        if self is connection.connection:  # Django's, not another one of the test's
            messages.append(("commit", "COMMIT"))
        commit(self)

    monkeypatch.setattr(PreparingCursor, "execute", one)
    monkeypatch.setattr(psycopg.ClientCursor, "execute", many)
    monkeypatch.setattr(psycopg.Connection, "commit", plain_commit)
    return messages


def ours() -> DatabaseWrapper:
    wrapper = connections["default"]
    assert isinstance(wrapper, DatabaseWrapper)
    return wrapper


def stored(event_id: uuid.UUID) -> bool:
    """Whether another connection sees the audit event: committed."""
    with fresh_connection() as other:
        return other.execute("SELECT 1 FROM workspaces_auditevent WHERE id = %s", [event_id]).fetchone() is not None


def record(workspace: Any, action: str = "client.create") -> AuditEvent:
    return audit.record(action=action, workspace=workspace, channel=Channel.WEB)


@pytest.mark.django_db(transaction=True)
def test_an_audit_event_is_sent_with_its_transactions_commit_in_one_round_trip():
    workspace = WorkspaceFactory()
    with CaptureQueriesContext(connection) as logged, wire() as trips, transaction.atomic():
        client = ClientFactory(workspace=workspace, name="Initech")
        event = record(workspace)
        assert not stored(event.pk)  # it waits for the COMMIT

    assert round_trips_with(trips, "BEGIN") == [0]  # psycopg's, before the client's INSERT
    assert round_trips_with(trips, 'INSERT INTO "workspaces_client"') == [1]
    assert round_trips_with(trips, 'INSERT INTO "workspaces_auditevent"') == [2]
    assert round_trips_with(trips, "COMMIT") == [2]
    assert len(trips) == 3
    assert stored(event.pk)
    assert Client.objects.filter(pk=client.pk).exists()
    # Counted as two statements, as when the insert ran on its own.
    assert [query["sql"][:34] for query in logged.captured_queries[-2:]] == [
        'INSERT INTO "workspaces_auditevent',
        "COMMIT",
    ]
    assert ours().with_commit == []


@pytest.mark.django_db(transaction=True)
def test_a_transaction_of_statements_sent_with_the_commit_only_is_one_round_trip_with_its_begin():
    workspace = WorkspaceFactory()
    with wire() as trips, transaction.atomic():
        event = record(workspace)

    assert len(trips) == 1
    assert round_trips_with(trips, "BEGIN") == round_trips_with(trips, "COMMIT") == [0]
    assert stored(event.pk)
    assert connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert connection.connection.autocommit  # Django's again, out of atomic()
    with transaction.atomic():  # and the next transaction begins and commits as ever
        ClientFactory(workspace=workspace, name="Initech")
        again = record(workspace)
    assert stored(again.pk)


@pytest.mark.django_db(transaction=True)
def test_a_statement_sent_with_the_commit_is_prepared_once_it_recurs_as_on_its_own():
    workspace = WorkspaceFactory()
    events = []
    for _ in range(4):
        with transaction.atomic():
            events.append(record(workspace))

    assert all(stored(event.pk) for event in events)
    assert sum('INSERT INTO "workspaces_auditevent"' in statement for statement in prepared_statements()) == 1


@pytest.mark.django_db(transaction=True)
def test_without_pipeline_mode_it_goes_in_one_simple_protocol_message_with_the_commit(sent, monkeypatch):
    monkeypatch.setattr(base_module.capabilities, "has_pipeline", lambda: False)
    workspace = WorkspaceFactory()
    sent.clear()
    with wire() as trips, transaction.atomic():
        event = record(workspace)

    kind, message = sent[-1]
    assert kind == "message"
    assert message.startswith('INSERT INTO "workspaces_auditevent"')
    assert message.endswith(";\nCOMMIT")
    assert ("commit", "COMMIT") not in sent
    assert round_trips_with(trips, "BEGIN") == [0]
    assert round_trips_with(trips, '"workspaces_auditevent"') == [1]  # its text runs on to the COMMIT
    assert len(trips) == 2
    assert stored(event.pk)


@pytest.mark.django_db(transaction=True)
def test_a_later_statement_of_the_transaction_sends_it_first(sent):
    workspace = WorkspaceFactory()
    with transaction.atomic():
        event = record(workspace)
        assert AuditEvent.objects.filter(pk=event.pk).exists()  # the transaction sees its own write
        assert ours().with_commit == []

    assert [kind for kind, _ in sent][-3:] == ["statement", "statement", "commit"]
    assert stored(event.pk)


class Boom(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_a_rollback_drops_it_and_a_savepoints_rollback_undoes_it():
    workspace = WorkspaceFactory()
    rolled_back: list[AuditEvent] = []

    def record_then_fail() -> None:
        with transaction.atomic():
            rolled_back.append(record(workspace))
            raise Boom

    with pytest.raises(Boom):
        record_then_fail()
    with transaction.atomic():
        kept = record(workspace, "client.update")
        with suppress(Boom), transaction.atomic():
            undone = record(workspace, "client.delete")
            raise Boom

    assert (stored(rolled_back[0].pk), stored(kept.pk), stored(undone.pk)) == (False, True, False)
    assert ours().with_commit == []


@pytest.mark.django_db(transaction=True)
def test_a_statement_that_fails_fails_the_commit_and_nothing_of_the_transaction_is_stored():
    workspace = WorkspaceFactory()
    clients: list[Client] = []

    def write_then_commit() -> None:
        with transaction.atomic():
            clients.append(ClientFactory(workspace=workspace, name="Initech"))
            # No channel: NOT NULL, known only when the statement runs, with the COMMIT.
            ours().execute_with_commit('INSERT INTO "workspaces_auditevent" ("id") VALUES (%s)', [uuid.uuid4()])

    with pytest.raises(IntegrityError, match="channel"):
        write_then_commit()
    assert not Client.objects.filter(pk=clients[0].pk).exists()
    assert ours().with_commit == []
    assert read("SELECT 1") == (1,)  # the connection is usable again


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_it_is_refused_and_an_audit_event_is_written_at_once():
    workspace = WorkspaceFactory()
    event = record(workspace)
    assert stored(event.pk)
    with pytest.raises(transaction.TransactionManagementError, match="needs a transaction"):
        ours().execute_with_commit("SELECT 1", [])


@pytest.mark.django_db
def test_directly_in_a_test_cases_transaction_which_never_commits_it_runs_at_once(sent):
    workspace = WorkspaceFactory()
    sent.clear()
    event = record(workspace)
    assert sent == [("statement", sent[0][1])]
    assert sent[0][1].startswith('INSERT INTO "workspaces_auditevent"')
    assert ours().with_commit == []
    with transaction.atomic():  # a service's block, a savepoint here: waits for the next statement
        event = record(workspace)
        assert ours().with_commit != []
    assert ours().with_commit == []  # sent before the savepoint's release
    assert AuditEvent.objects.filter(pk=event.pk).exists()


# --- savepoints wait for their first statement ---------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_named_cursor_after_a_waiting_statement_sends_it_first_on_its_own():
    workspace = WorkspaceFactory()
    ClientFactory(workspace=workspace, name="Initech")
    with transaction.atomic():
        event = record(workspace)
        names = [client.name for client in Client.objects.filter(workspace=workspace).iterator(chunk_size=1)]
    assert names == ["Initech"]
    assert stored(event.pk)


@pytest.mark.django_db(transaction=True)
def test_a_savepoint_waits_for_its_first_statement_and_one_that_sees_none_is_never_sent():
    workspace = WorkspaceFactory()
    with wire() as trips, transaction.atomic():
        ClientFactory(workspace=workspace, name="Initech")
        with transaction.atomic():  # nothing inside: neither sent nor released
            pass
        with suppress(Boom), transaction.atomic():  # refused before any statement: nothing to roll back
            raise Boom
        with transaction.atomic():
            ClientFactory(workspace=workspace, name="Globex")

    # BEGIN; Initech's INSERT; the SAVEPOINT just before Globex's INSERT; its RELEASE with the COMMIT
    assert round_trips_with(trips, '"SAVEPOINT ') == [2]
    assert round_trips_with(trips, 'INSERT INTO "workspaces_client"') == [1, 3]
    assert round_trips_with(trips, "RELEASE SAVEPOINT") == round_trips_with(trips, "COMMIT") == [4]
    assert round_trips_with(trips, "ROLLBACK") == []
    assert len(trips) == 5
    assert sorted(Client.objects.filter(workspace=workspace).values_list("name", flat=True)) == ["Globex", "Initech"]


@pytest.mark.django_db(transaction=True)
def test_a_rollback_to_a_savepoint_never_sent_drops_what_followed_it_and_keeps_what_preceded_it():
    workspace = WorkspaceFactory()
    with wire() as trips, transaction.atomic():
        ClientFactory(workspace=workspace, name="Initech")
        kept = record(workspace, "client.update")
        with suppress(Boom), transaction.atomic():
            undone = record(workspace, "client.delete")
            raise Boom

    assert (stored(kept.pk), stored(undone.pk)) == (True, False)
    assert round_trips_with(trips, "SAVEPOINT") == round_trips_with(trips, "ROLLBACK") == []
    assert len(trips) == 3  # BEGIN; the INSERT; the kept event with the COMMIT
    assert ours().with_commit == []
    assert ours().unsent_savepoints == set()


@pytest.mark.django_db(transaction=True)
def test_a_waiting_statement_that_fails_fails_in_its_savepoints_block_and_the_transaction_goes_on():
    workspace = WorkspaceFactory()

    def failing_insert() -> None:
        # No channel: NOT NULL, known when it runs: before the statement that follows.
        ours().execute_with_commit('INSERT INTO "workspaces_auditevent" ("id") VALUES (%s)', [uuid.uuid4()])

    @transaction.atomic
    def fail_with_the_next_statement() -> None:
        failing_insert()
        Client.objects.filter(workspace=workspace).count()

    @transaction.atomic
    def fail_with_the_release() -> None:
        ClientFactory(workspace=workspace, name="Hooli")
        failing_insert()

    with transaction.atomic():
        ClientFactory(workspace=workspace, name="Initech")
        with pytest.raises(IntegrityError, match="channel"):
            fail_with_the_next_statement()
        ClientFactory(workspace=workspace, name="Globex")
        with pytest.raises(IntegrityError, match="channel"):
            fail_with_the_release()
        kept = record(workspace)

    assert sorted(Client.objects.filter(workspace=workspace).values_list("name", flat=True)) == ["Globex", "Initech"]
    assert stored(kept.pk)
    assert ours().with_commit == []
