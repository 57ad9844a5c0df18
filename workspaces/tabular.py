"""CSV and XLSX writers that stream: rows in, encoded lines (CSV) or a spooled file (XLSX) out.

Shared by every export (time entries, reports, the audit trail), so no export holds its rows.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from itertools import islice
from typing import IO, Any

import xlsxwriter
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse


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


class AsyncChunks:
    """Serve a synchronous generator under ASGI without reading it all first.

    Django buffers a synchronous iterator completely when it serves a StreamingHttpResponse
    under ASGI; this pulls ``batch`` chunks at a time in Django's sync thread instead, so the
    database cursor behind the generator stays in one thread.

    Django closes a response's content when it closes the response, on the request's thread
    (``timetracker.asgi_django``): a download cut short (the client left) closes its generator,
    and the cursor behind it, while the request's database connection is still open.
    """

    def __init__(self, chunks: Iterator[bytes], *, batch: int = 500) -> None:
        self.chunks = chunks
        self.take = sync_to_async(lambda: list(islice(chunks, batch)), thread_sensitive=True)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        part = await self.take()
        if not part:
            raise StopAsyncIteration
        return b"".join(part)

    def close(self) -> None:
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()


def streaming_response(request: HttpRequest, chunks: Iterator[bytes], *, content_type: str, filename: str) -> Any:
    """A download streamed in constant memory under WSGI and ASGI alike."""
    content: Iterator[bytes] | AsyncIterator[bytes] = (
        AsyncChunks(chunks) if isinstance(request, ASGIRequest) else chunks
    )
    response = StreamingHttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download_response(
    request: HttpRequest, kind: str, header: Sequence[str], rows: Iterable[Sequence[Any]], *, filename: str, sheet: str
) -> Any:
    """Rows as a streamed ``csv`` or ``xlsx`` attachment (the REST and web downloads alike)."""
    if kind == "csv":
        return streaming_response(
            request, csv_lines(header, rows), content_type="text/csv; charset=utf-8", filename=filename
        )
    handle = xlsx_file(header, rows, sheet=sheet)
    return streaming_response(
        request, iter(lambda: handle.read(64 * 1024), b""), content_type=XLSX_TYPE, filename=filename
    )
