"""Many writes of one member at once: serialized on the member row, never a deadlock."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection

from mcp_gateway.registry import CATALOGUE, Call
from tests.mcp_gateway.helpers import agent
from timesheets.models import TimeEntry

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8
EACH = 5


def test_an_agent_logging_from_eight_sessions_at_once_loses_nothing(member, project):
    principal = agent(member)
    failures: list[str] = []
    start = threading.Barrier(THREADS)

    def lane(lane_no: int) -> None:
        try:
            start.wait()
            for i in range(EACH):
                result = Call(
                    CATALOGUE["log_time"],
                    principal,
                    {
                        "project_id": project.pk,
                        "date": "today",
                        "duration": "15m",
                        "billable": False,
                        "description": f"{lane_no}-{i}",
                    },
                    {},
                ).run()
                if result.is_error:
                    failures.append(str(result.structured_content))
        except Exception as exc:  # a deadlock surfaces here as OperationalError
            failures.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=lane, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert TimeEntry.objects.filter(member=member).count() == THREADS * EACH


def test_a_time_write_locks_the_member_row_and_nothing_it_joins(as_member, member):
    """Another transaction may still reference the user and the workspace (the audit worker's
    inserts do) while a member's write holds the member row."""
    from django.db import transaction
    from psycopg.errors import LockNotAvailable

    from timesheets.entry_rules import lock_member_for_time

    held = threading.Event()
    release = threading.Event()

    def writer() -> None:
        try:
            with transaction.atomic():
                lock_member_for_time(as_member, member)
                held.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    assert held.wait(10)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            for table, pk in (("workspaces_user", member.user_id), ("workspaces_workspace", member.workspace_id)):
                cursor.execute(f"SELECT id FROM {table} WHERE id = %s FOR KEY SHARE NOWAIT", [pk])  # noqa: S608
                assert cursor.fetchone() == (pk,)
            with pytest.raises(Exception) as refused:  # noqa: PT011
                cursor.execute("SELECT id FROM workspaces_membership WHERE id = %s FOR UPDATE NOWAIT", [member.pk])
            assert isinstance(refused.value.__cause__, LockNotAvailable)
    finally:
        release.set()
        thread.join()


def test_a_day_entry_that_waited_for_the_lock_goes_after_the_entry_its_holder_wrote(as_member, member, project):
    """The day's slot is read once the member's lock is held, so it sees the entry the lock's
    previous holder committed while this write waited (a read taken before would place both at
    09:00)."""
    from datetime import date

    from django.db import transaction

    from timesheets.services import time_entry_create_for_day

    day = date(2026, 3, 4)
    held, release = threading.Event(), threading.Event()
    written: dict[str, TimeEntry] = {}
    errors: list[str] = []

    def first() -> None:
        try:
            with transaction.atomic():
                written["first"] = time_entry_create_for_day(
                    actor=as_member, project=project, day=day, duration_seconds=3600
                )
                held.set()
                assert release.wait(10)
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            connection.close()

    def second() -> None:
        try:
            written["second"] = time_entry_create_for_day(
                actor=as_member, project=project, day=day, duration_seconds=1800
            )
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            connection.close()

    holder = threading.Thread(target=first)
    holder.start()
    assert held.wait(10)
    waiter = threading.Thread(target=second)
    waiter.start()
    try:
        deadline = time.monotonic() + 10
        while not waiting_for_a_lock() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert waiting_for_a_lock()  # the second write is blocked on the member's row
    finally:
        release.set()
        holder.join()
        waiter.join()

    assert errors == []
    assert written["first"].ended_at == written["second"].started_at
    assert written["second"].ended_at == written["second"].started_at + timedelta(minutes=30)


def waiting_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        row = cursor.fetchone()
    return bool(row and row[0])
