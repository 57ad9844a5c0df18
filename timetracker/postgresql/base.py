"""Django's PostgreSQL backend, reading ``timestamptz`` with psycopg's C loader, checking a
pooled connection's health only when it has not been handed out in the last half second, and
preparing repeated statements other than reports (:class:`PreparingCursor`).

Django registers its own ``timestamptz`` loader on every connection. It subclasses psycopg's
pure-Python loader, so each value read is parsed in Python: about 8 µs, against under 1 µs for
the C loader psycopg would use (``bench/`` at one million entries: 500 rows of four datetimes
take 17 ms to read instead of 4). Django needs the loader for one thing: values in its
connection time zone, UTC. The C loader returns ``datetime.timezone.utc`` values when the
connection's ``TimeZone`` is UTC, which Django sets on every connection; this loader hands the
work to it and converts a value only if a connection were in another zone. Without psycopg's C
implementation it changes nothing.

With ``CONN_HEALTH_CHECKS``, Django has the pool send an empty query on every checkout: a round
trip on every request and MCP tool call. A connection handed out less than
:data:`RECENT_USE_SECONDS` ago was working then, so that check is skipped, as HikariCP does
(``aliveBypassWindowMs``, 500 ms). A connection that broke in between fails its one request, as
it could right after a check; the pool discards it when it comes back.

A statement whose result nobody reads (an audit event written with the change it records) can
be sent with the transaction's ``COMMIT``, in one round trip, instead of on its own
(:meth:`DatabaseWrapper.execute_with_commit`). A write that locks a member's row holds the lock
one round trip less: under the bench's POST load the lock was held 4.7 ms, mostly waiting for
the GIL between round trips, and the throughput was one over that (``bench/README``,
thirteenth round). For the same reason the reads a write makes once it holds the lock can be
sent with the lock's, in one round trip (:meth:`DatabaseWrapper.fetch_together`, libpq's
pipeline mode; sixteenth round).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from time import monotonic
from typing import Any
from weakref import WeakKeyDictionary

from django.conf import settings
from django.db.backends.postgresql import base
from django.db.backends.utils import debug_transaction  # type: ignore[attr-defined]  # not in django-stubs 5.2
from django.db.transaction import TransactionManagementError
from psycopg import ClientCursor, adapt, adapters, capabilities, pq
from psycopg.abc import AdaptContext
from psycopg_pool import ConnectionPool

TIMESTAMPTZ_OID = adapters.types["timestamptz"].oid
_C_LOADER: Any = adapters.get_loader(TIMESTAMPTZ_OID, pq.Format.TEXT)
C_LOADER_AVAILABLE = _C_LOADER is not None and _C_LOADER.__module__.startswith("psycopg_binary")


class UtcTimestamptzLoader(adapt.Loader):
    """A ``timestamptz`` as an aware datetime in UTC, parsed in C.

    ``timezone`` is what Django's cursor compares with the connection's time zone before it
    registers its own loader again (``DatabaseWrapper.create_cursor``)."""

    timezone = UTC  # datetime.timezone.utc, which Django's connection compares with

    def __init__(self, oid: int, context: AdaptContext | None = None) -> None:
        super().__init__(oid, context)
        self._parse = _C_LOADER(oid, context)

    def load(self, data: Any) -> datetime:
        value: datetime = self._parse.load(data)
        return value if value.tzinfo is UTC else value.astimezone(UTC)


@lru_cache
def _adapters(template: adapt.AdaptersMap) -> adapt.AdaptersMap:
    fast = adapt.AdaptersMap(template)
    fast.register_loader("timestamptz", UtcTimestamptzLoader)
    return fast


RECENT_USE_SECONDS = 0.5


class CheckUnlessRecentlyUsed:
    """The pool's ``check``: :meth:`ConnectionPool.check_connection`, unless the connection was
    handed out less than ``window`` seconds ago."""

    def __init__(self, window: float = RECENT_USE_SECONDS) -> None:
        self.window = window
        self._handed_out: WeakKeyDictionary[Any, float] = WeakKeyDictionary()
        self._lock = threading.Lock()

    def __call__(self, connection: Any) -> None:
        now = monotonic()
        with self._lock:
            last = self._handed_out.get(connection)
        if last is None or now - last >= self.window:
            ConnectionPool.check_connection(connection)  # raises when broken: the pool discards it
        with self._lock:
            self._handed_out[connection] = now


class PreparingCursor(base.ServerBindingCursor):  # type: ignore[name-defined]  # psycopg 3 only
    """Django's server-side binding cursor, on which psycopg prepares a statement once it has run
    ``prepare_threshold`` times on the connection, so PostgreSQL stops planning it on every call —
    except a statement with ``GROUP BY``, which is planned for its own values each time.

    An entry page joins five tables and a tag subquery: PostgreSQL spends longer planning it than
    running it (2.8 ms unprepared, 0.5 ms prepared at one million entries, ``bench/``). A report
    that groups aggregates thousands of rows, where planning is a small share, and the plan
    PostgreSQL keeps for any values can group worse than one made for these values
    (``budget_health`` when it grouped: hash instead of group aggregate, 40 → 48 ms), so a
    statement with ``GROUP BY`` is never prepared. (``budget_health`` now sums each project's rows
    without grouping them, and is prepared: 10.8–11.2 against 11.4 ms unprepared.)

    psycopg forgets a connection's prepared statements after a ``ROLLBACK`` (a savepoint's too)
    and prepares them again as they recur; with ``DATABASE_PREPARED=0`` nothing is prepared.
    """

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None, binary: bool | None = None
    ) -> Any:
        if prepare is None and isinstance(query, str) and "GROUP BY" in query:
            prepare = False
        return super().execute(query, params, prepare=prepare, binary=binary)


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.with_commit: list[tuple[str, tuple[Any, ...]]] = []
        self.unsent_savepoints: set[str] = set()
        self.execute_wrappers.append(self._send_with_commit_first)

    def execute_with_commit(self, sql: str, params: Sequence[Any]) -> None:
        """Run ``sql`` in this transaction, sent with its ``COMMIT`` in one round trip.

        For a statement whose result nobody reads. It is still part of the transaction: a
        rollback drops it, it fails the commit if it fails, and a later statement of the
        transaction (a read, a savepoint's release or rollback) sends it first, so every
        statement sees it as if it had run at once.
        """
        if self.get_autocommit():
            raise TransactionManagementError("execute_with_commit() needs a transaction (atomic()).")
        if self.atomic_blocks and getattr(self.atomic_blocks[-1], "_from_testcase", False):
            # Directly in a test case's transaction, which never commits: now, as Django treats a
            # durable block there as outermost (transaction.Atomic).
            with self.cursor() as cursor:
                cursor.execute(sql, params)
            return
        self.with_commit.append((sql, tuple(params)))

    def fetch_together(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[list[Any]]:
        """The rows of each statement, the statements sent in one round trip (libpq's pipeline
        mode) and run in order, each prepared as :class:`PreparingCursor` prepares it.

        Each is a statement of its own, as if sent alone: in this transaction, under READ
        COMMITTED with a snapshot of its own. The first failure fails the rest and is raised, as
        Django raises it; ``atomic()`` then rolls back. Statements waiting for the ``COMMIT``
        (:meth:`execute_with_commit`) are sent first.
        """
        self.validate_no_broken_transaction()
        waiting, self.with_commit = self.with_commit, []
        cursors = [self.cursor() for _ in statements]
        started = monotonic()
        try:
            with self.wrap_database_errors:
                with self._pipeline():
                    self._send(waiting)
                    for cursor, (sql, params) in zip(cursors, statements, strict=True):
                        cursor.cursor.execute(sql, params)
                found = [cursor.cursor.fetchall() for cursor in cursors]
        finally:
            for cursor in cursors:
                cursor.close()
        if self.queries_logged:  # each statement counts, as when run on its own
            each = f"{(monotonic() - started) / len(statements):.3f}"
            self.queries_log.extend({"sql": sql, "time": each} for sql, _ in statements)
        return found

    @contextmanager
    def _pipeline(self) -> Iterator[None]:
        """libpq's pipeline mode; for a transaction's first statements, with its ``BEGIN``.

        psycopg starts a transaction before its first statement, and in pipeline mode syncs right
        after the ``BEGIN``: a round trip of its own before every write's lock (a REST POST made
        five). Here the ``BEGIN`` is queued ahead of the pipeline's statements, in their round
        trip: psycopg is told it is in autocommit while they are queued, so it adds no ``BEGIN``
        of its own, and no longer once the pipeline has synced. The connection is then in the
        transaction the ``BEGIN`` opened, as if psycopg had sent it (``INTRANS``, not in
        autocommit). psycopg has no option for this, so its ``_autocommit`` flag is set and its
        ``_exec_command`` (which queues a command in a pipeline) called directly. For another
        ``BEGIN`` than the plain one (an isolation level, read only, deferrable), or a psycopg
        without that flag or ``_exec_command``, psycopg sends its own."""
        raw = self.connection
        if not capabilities.has_pipeline():
            yield
            return
        first = (
            not self.get_autocommit()
            and raw.info.transaction_status == pq.TransactionStatus.IDLE
            and (raw.isolation_level, raw.read_only, raw.deferrable) == (None, None, None)
            and getattr(raw, "_autocommit", None) is False
            and hasattr(raw, "_exec_command")
        )
        if not first:
            with raw.pipeline():
                yield
            return
        raw._autocommit = True
        try:
            with raw.pipeline():
                raw.wait(raw._exec_command(b"BEGIN"))  # in a pipeline: queued, as psycopg queues its own
                yield
        finally:
            raw._autocommit = False

    def _send_with_commit_first(self, execute: Any, sql: Any, params: Any, many: bool, context: Any) -> Any:
        """Statements waiting for the ``COMMIT`` (and a savepoint waiting for its first statement)
        go first, each on its own, as if each had run when it was asked for.

        Sending them in this statement's round trip (libpq's pipeline mode), and a transaction's
        ``BEGIN`` with its first statement, saved an agent's ``log_time`` three round trips but
        cost 3 % more of the web process's instructions (psycopg's pipeline machinery, in Python)
        and about 7 % of its throughput on the bench's two cores, with the database on loopback
        (``bench/README``, twenty-first round). Only :meth:`fetch_together`, a pipeline already,
        and the ``COMMIT`` take them along."""
        waiting = self.with_commit
        if waiting:
            self.with_commit = []
            self._send(waiting)
        return execute(sql, params, many, context)

    def _send(self, statements: Sequence[tuple[str, tuple[Any, ...]]]) -> None:
        """Run ``statements`` (in a pipeline: queue them), each as a cursor of ours runs it."""
        if statements:
            with self.cursor() as cursor:
                for statement, values in statements:
                    cursor.execute(statement, values)

    def _commit(self) -> None:
        waiting, self.with_commit = self.with_commit, []
        self.unsent_savepoints.clear()
        if not waiting or self.connection is None:
            super()._commit()  # type: ignore[misc]  # not in django-stubs 5.2
            return
        if self.queries_logged:  # each statement counts, as when run on its own
            self.queries_log.extend({"sql": statement, "time": "0.000"} for statement, _ in waiting)
        raw = self.connection
        with debug_transaction(self, "COMMIT"), self.wrap_database_errors:
            if capabilities.has_pipeline() and hasattr(raw, "_exec_command"):
                # libpq's pipeline mode: each statement as its cursor sends it on its own
                # (prepared once it recurs, values bound by the server), the COMMIT queued
                # behind them as psycopg queues its own, one sync for all; in a transaction that
                # sent nothing yet, its BEGIN goes first (_pipeline). A failure skips the rest,
                # COMMIT included, and raises here; atomic() then rolls back.
                with self._pipeline(), raw.cursor() as cursor:
                    for statement, params in waiting:
                        cursor.execute(statement, params)
                    raw.wait(raw._exec_command(b"COMMIT"))
                return
            # Without pipeline mode: one simple-protocol message with client-side values, the
            # only way libpq sends several statements in one round trip otherwise.
            sql = ";\n".join([*(statement for statement, _ in waiting), "COMMIT"])
            values = [value for _, params in waiting for value in params]
            with ClientCursor(raw) as cursor:
                cursor.execute(sql, values)

    def _savepoint(self, sid: str) -> None:
        """A savepoint waits for the statement that follows it: it is sent just before it, and in
        its round trip when that is a read sent together (:meth:`fetch_together`: a write's lock).
        One that sees no statement is never sent. Every atomic block inside a transaction makes
        one: an MCP write's service inside the tool call's."""
        if not capabilities.has_pipeline():
            super()._savepoint(sid)  # type: ignore[misc]  # not in django-stubs 5.2
            return
        self.with_commit.append((self.ops.savepoint_create_sql(sid), ()))

    def _savepoint_commit(self, sid: str) -> None:
        if sid in self.unsent_savepoints:  # rolled back before it was sent (atomic() then releases it)
            self.unsent_savepoints.discard(sid)
            return
        if self.with_commit and self.with_commit[-1][0] == self.ops.savepoint_create_sql(sid):
            self.with_commit.pop()  # not sent, and nothing after it: nothing to release
            return
        if not self.with_commit:  # all sent: the release cannot fail, and waits with what waits
            self.with_commit.append((self.ops.savepoint_commit_sql(sid), ()))
            return
        # Statements of the block still wait: they go now, before the release, so that one failing
        # fails in the block, as it would have run there.
        super()._savepoint_commit(sid)  # type: ignore[misc]  # not in django-stubs 5.2

    def _savepoint_rollback(self, sid: str) -> None:
        created = self.ops.savepoint_create_sql(sid)
        for index, (statement, _) in enumerate(self.with_commit):
            if statement == created:  # not sent: drop it and what came after it, and send nothing
                del self.with_commit[index:]
                self.unsent_savepoints.add(sid)
                return
        # Sent, with everything before it: what still waits came after it and is rolled back.
        self.with_commit = []
        super()._savepoint_rollback(sid)  # type: ignore[misc]  # not in django-stubs 5.2

    def _rollback(self) -> None:
        self.with_commit = []
        self.unsent_savepoints.clear()
        super()._rollback()  # type: ignore[misc]  # not in django-stubs 5.2

    def _close(self) -> None:
        self.with_commit = []
        self.unsent_savepoints.clear()
        super()._close()  # type: ignore[misc]  # not in django-stubs 5.2

    @property
    def pool(self) -> ConnectionPool | None:
        pool: ConnectionPool | None = super().pool  # type: ignore[misc]  # not in django-stubs 5.2
        # Django passes ConnectionPool.check_connection when CONN_HEALTH_CHECKS is on, and has no
        # setting for another check; psycopg_pool keeps it as ``_check``.
        if pool is not None and pool._check is ConnectionPool.check_connection:
            pool._check = CheckUnlessRecentlyUsed()
        return pool

    def get_connection_params(self) -> dict[str, Any]:
        params: dict[str, Any] = super().get_connection_params()
        if C_LOADER_AVAILABLE and settings.USE_TZ and "context" in params:
            params["context"] = _adapters(params["context"])
        if params.get("cursor_factory") is base.ServerBindingCursor:  # type: ignore[attr-defined]
            params["cursor_factory"] = PreparingCursor
        return params
