"""timetracker.postgresql: Django's PostgreSQL backend with datetimes read by psycopg's C loader."""

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from django.db import connection

from tests.factories import TimeEntryFactory
from timesheets.models import TimeEntry
from timetracker.postgresql.base import C_LOADER_AVAILABLE, UtcTimestamptzLoader

pytestmark = pytest.mark.django_db


def read(sql: str) -> tuple[Any, ...]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone()
    assert row is not None
    return tuple(row)


def test_the_engine_is_ours_and_the_c_loader_is_in_use():
    assert connection.settings_dict["ENGINE"] == "timetracker.postgresql"
    assert connection.vendor == "postgresql"
    assert C_LOADER_AVAILABLE  # psycopg[binary] is a dependency; without it the loader would stay Django's
    with connection.cursor() as cursor:
        loader = cursor.cursor.adapters.get_loader(1184, psycopg.pq.Format.TEXT)
    assert loader is UtcTimestamptzLoader


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


def test_model_round_trip_keeps_the_instant():
    started = datetime(2026, 10, 25, 0, 45, 30, 123456, tzinfo=UTC)  # the night clocks go back in Europe
    entry = TimeEntryFactory(started_at=started, ended_at=started + timedelta(minutes=90))

    reread = TimeEntry.objects.values_list("started_at", "ended_at", "created_at").get(pk=entry.pk)

    assert reread[0] == started
    assert reread[0].tzinfo is UTC
    assert reread[1] == started + timedelta(minutes=90)
    assert reread[2].tzinfo is UTC
