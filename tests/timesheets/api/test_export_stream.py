"""A 100 000-row export through the REST endpoint streams: rows leave before the data is read."""

from __future__ import annotations

import pytest

from billing.exports import CHUNK
from tests.billing.test_exports import ROWS, many_entries  # noqa: F401 - the 100 000 entries fixture
from timesheets.models import TimeEntry

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
ENTRIES = "/api/v1/workspaces/acme/time-entries"


def test_csv_of_100k_entries_streams_a_chunk_at_a_time(api_as, manager, many_entries, monkeypatch):  # noqa: F811
    loaded = 0
    original = TimeEntry.from_db.__func__  # type: ignore[attr-defined]

    def counting_from_db(cls, db, field_names, values):
        nonlocal loaded
        loaded += 1
        return original(cls, db, field_names, values)

    monkeypatch.setattr(TimeEntry, "from_db", classmethod(counting_from_db))
    response = api_as(manager).get(ENTRIES, {"format": "csv"})

    assert response.status_code == 200
    assert response.streaming
    chunks = iter(response.streaming_content)
    first = [next(chunks) for _ in range(11)]  # the header and ten rows
    assert first[0].startswith("\ufeffid,".encode())
    assert 10 <= loaded <= CHUNK  # only the first chunk of entries was read
    rest = sum(chunk.count(b"\n") for chunk in chunks)
    assert rest == ROWS - 10
    assert loaded == ROWS
