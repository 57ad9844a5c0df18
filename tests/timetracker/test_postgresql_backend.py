"""timetracker.postgresql: Django's PostgreSQL backend with datetimes read by psycopg's C loader,
the pool's health check skipped for a connection handed out in the last half second, and
repeated statements prepared (statements sent with the COMMIT: ``test_with_commit.py``)."""

import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.db import connection
from django.db.models import F, Sum

from tests.factories import TimeEntryFactory
from tests.timetracker.wire import fresh_connection, prepared_statements, read
from timesheets.models import TimeEntry
from timetracker.postgresql.base import (
    C_LOADER_AVAILABLE,
    RECENT_USE_SECONDS,
    CheckUnlessRecentlyUsed,
    DatabaseWrapper,
    PreparingCursor,
    UtcTimestamptzLoader,
)


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
