"""Exports: entries as CSV (line by line) and XLSX (constant memory), read back and checked."""

import csv
import io
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest

from billing.exports import CHUNK, ENTRY_COLUMNS, csv_lines, entry_rows, xlsx_file
from tests.factories import TagFactory, TimeEntryFactory
from timesheets.models import TimeEntry, workspace_week
from timesheets.selectors import time_entry_list


def test_an_entries_csv_has_every_column_in_the_workspace_time_zone(as_manager, member, project, workspace):
    entry = TimeEntryFactory(
        member=member,
        project=project,
        started_at=datetime(2026, 6, 1, 22, 30, tzinfo=UTC),  # 00:30 on 2 June in Berlin
        ended_at=datetime(2026, 6, 1, 23, 45, tzinfo=UTC),
        duration_seconds=4500,
        description='Kick-off, "quoted"',
    )
    entry.tags.add(TagFactory(workspace=workspace, name="workshop"))
    body = b"".join(csv_lines(ENTRY_COLUMNS, entry_rows(time_entry_list(actor=as_manager), workspace)))
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == list(ENTRY_COLUMNS)
    assert rows[1][:5] == [
        str(entry.pk),
        "2026-06-02",
        "2026-06-02T00:30:00+02:00",
        "2026-06-02T01:45:00+02:00",
        "1.25",
    ]
    assert rows[1][7:] == [project.name, "", 'Kick-off, "quoted"', "yes", "active", "workshop"]


def test_an_xlsx_export_opens_with_its_rows(as_manager, member, project, workspace):
    TimeEntryFactory(member=member, project=project)
    handle = xlsx_file(ENTRY_COLUMNS, entry_rows(time_entry_list(actor=as_manager), workspace), sheet="Entries")
    sheet = openpyxl.load_workbook(handle, read_only=True)["Entries"]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ENTRY_COLUMNS
    assert len(values) == 2


ROWS = 100_000


@pytest.fixture
def many_entries(member, project):
    start = datetime(2024, 1, 1, tzinfo=UTC)
    TimeEntry.objects.bulk_create(
        (
            TimeEntry(
                workspace=member.workspace,
                member=member,
                project=project,
                started_at=start + timedelta(minutes=10 * i),
                ended_at=start + timedelta(minutes=10 * i + 5),
                week_start=workspace_week(member.workspace, start + timedelta(minutes=10 * i)),
                duration_seconds=300,
                billable=True,
                created_by=member.user,
            )
            for i in range(ROWS)
        ),
        batch_size=10_000,
    )


@pytest.mark.slow
def test_100k_rows_stream_a_chunk_at_a_time(as_manager, workspace, many_entries, monkeypatch):
    """The first lines of a 100 000-row export come out after at most one chunk was loaded."""
    loaded = 0
    original = TimeEntry.from_db.__func__  # type: ignore[attr-defined]

    def counting_from_db(cls, db, field_names, values):
        nonlocal loaded
        loaded += 1
        return original(cls, db, field_names, values)

    monkeypatch.setattr(TimeEntry, "from_db", classmethod(counting_from_db))
    lines = csv_lines(ENTRY_COLUMNS, entry_rows(time_entry_list(actor=as_manager), workspace))
    first = [next(lines) for _ in range(11)]  # the header and ten rows
    assert first[0].startswith("\ufeff".encode())
    assert 10 <= loaded <= CHUNK
    rest = sum(1 for _ in lines)
    assert rest == ROWS - 10
    assert loaded == ROWS
