"""Helpers for tests of the database backend: what a connection sends on the wire, round trip by
round trip (libpq's trace), another connection to look from, prepared statements, our wrapper."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import connection, connections
from psycopg import pq

from timetracker.postgresql.base import DatabaseWrapper


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


def fresh_connection() -> psycopg.Connection[Any]:
    settings = connection.settings_dict
    return psycopg.connect(
        dbname=settings["NAME"], user=settings["USER"], host=settings["HOST"] or None, port=settings["PORT"] or None
    )


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def ours() -> DatabaseWrapper:
    wrapper = connections["default"]
    assert isinstance(wrapper, DatabaseWrapper)
    return wrapper
