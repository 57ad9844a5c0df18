"""Exports: entries as CSV (line by line) and XLSX (constant memory), read back and checked."""

import csv
import io
from datetime import UTC, datetime

import openpyxl

from billing.exports import ENTRY_COLUMNS, csv_lines, entry_rows, xlsx_file
from tests.factories import TagFactory, TimeEntryFactory
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
