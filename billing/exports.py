"""Exports: CSV and XLSX of time entries and of every report, built row by row.

CSV is produced as a generator of encoded lines, so a face can stream 100 000 rows without
holding them (entries are read from the database in chunks). XLSX is written by XlsxWriter in
constant-memory mode to a temporary file, which the face then streams.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

import xlsxwriter
from django.db.models import QuerySet
from django.utils import timezone

from timesheets.models import TimeEntry
from workspaces.models import Workspace

ENTRY_COLUMNS = (
    "id",
    "date",
    "start",
    "end",
    "hours",
    "member",
    "client",
    "project",
    "task",
    "description",
    "billable",
    "state",
    "tags",
)
CHUNK = 2000


def _entry_row(entry: TimeEntry, workspace: Workspace) -> list[Any]:
    start = timezone.localtime(entry.started_at, workspace.tzinfo)
    end = timezone.localtime(entry.ended_at, workspace.tzinfo) if entry.ended_at else None
    return [
        entry.pk,
        start.date().isoformat(),
        start.isoformat(timespec="seconds"),
        end.isoformat(timespec="seconds") if end else "",
        f"{(entry.duration_seconds or 0) / 3600:.2f}",
        entry.member.user.get_username(),
        entry.project.client.name if entry.project.client else "",
        entry.project.name,
        entry.task.name if entry.task else "",
        entry.description,
        "yes" if entry.billable else "no",
        entry.state,
        ", ".join(tag.name for tag in entry.tags.all()),
    ]


def entry_rows(entries: QuerySet[TimeEntry], workspace: Workspace) -> Iterator[list[Any]]:
    """Rows for an entries export, read in chunks (tags prefetched per chunk)."""
    for entry in entries.iterator(chunk_size=CHUNK):
        yield _entry_row(entry, workspace)


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """UTF-8 CSV (with a BOM, so spreadsheet apps read accents right), one encoded line at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: Sequence[Any]) -> bytes:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(["" if v is None else v for v in values])
        return buffer.getvalue().encode("utf-8")

    yield "\ufeff".encode() + line(header)
    for row in rows:
        yield line(row)


def xlsx_file(header: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str = "Export") -> IO[bytes]:
    """An XLSX written row by row in constant memory to a temporary file, rewound for reading."""
    handle = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who streams and closes it
    book = xlsxwriter.Workbook(handle, {"constant_memory": True, "in_memory": False})
    worksheet = book.add_worksheet(sheet[:31])
    bold = book.add_format({"bold": True})
    worksheet.write_row(0, 0, list(header), bold)
    for index, row in enumerate(rows, start=1):
        worksheet.write_row(index, 0, ["" if v is None else v for v in row])
    book.close()
    handle.seek(0)
    return handle
