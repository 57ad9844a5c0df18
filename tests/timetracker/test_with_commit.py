"""timetracker.postgresql: statements sent with their transaction's COMMIT (an audit event, a new
entry, a locked row's UPDATE), and savepoints that wait for their first statement."""

import uuid
from contextlib import suppress
from typing import Any

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.factories import ClientFactory, WorkspaceFactory
from tests.timetracker.wire import fresh_connection, ours, prepared_statements, read, round_trips_with, wire
from timetracker.postgresql import base as base_module
from timetracker.postgresql.base import (
    PreparingCursor,
)
from workspaces import audit
from workspaces.models import AuditEvent, Channel, Client

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
