"""REST: a page of time entries is read by a query compiled once per shape (``CompiledPage``),
and answers exactly as DRF's cursor pagination over the plain queryset does."""

import base64
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import MembershipFactory, TimeEntryFactory
from tests.timesheets.api.conftest import BASE
from tests.timesheets.conftest import MONDAY, berlin
from timesheets.models import TimeEntry
from timetracker.compiled import ID, Param
from workspaces.compiled_pages import CompiledPage

URL = BASE + "time-entries"


@pytest.fixture
def shared_starts(workspace, member, other_member, project):
    """Entries of four members, many starting at the same moment: pages of two need DRF's
    offsets (rows that share a position) and cross them in both directions."""
    members = [member, other_member, *(MembershipFactory(workspace=workspace) for _ in range(2))]
    for person in members:
        project.team.add(person)
        for day, hour in [(0, 9), (0, 9), (1, 9), (1, 13), (2, 9)]:
            if day == 0 and hour == 9 and person is not member:
                continue  # only the first member has two at Monday 09:00
            TimeEntryFactory(
                member=person,
                project=project,
                started_at=berlin(MONDAY + timedelta(days=day), hour),
            )
    return members


def walk(api: Any, query: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every page from the first along ``next``, then back along ``previous``: (query, body)."""
    pages: list[tuple[str, dict[str, Any]]] = []
    link: str | None = None
    for direction in ("next", "previous"):
        while True:
            response = api.get(URL, query) if link is None else api.get(link)
            assert response.status_code == 200, response.content
            body = response.json()
            pages.append((link or "first", body))
            link = body[direction]
            if link is None:
                link = pages[-1][1]["previous"] if direction == "next" else None
                break
        if link is None:
            break
    return pages


def plainly(monkeypatch: pytest.MonkeyPatch) -> None:
    """CompiledPage reads every page through the plain queryset, as DRF would."""
    monkeypatch.setattr(CompiledPage, "__getitem__", lambda self, window: list(self._queryset(params=False)[window]))


@pytest.mark.parametrize("query", [{"limit": 2}, {"limit": 3, "project": "self"}, {"limit": 1, "billable": "true"}])
def test_every_page_forward_and_back_is_the_plain_querysets_page(
    api_as, manager, project, shared_starts, query, monkeypatch
):
    query = {name: project.pk if value == "self" else value for name, value in query.items()}
    api = api_as(manager)

    compiled = walk(api, query)
    plainly(monkeypatch)
    plain = walk(api, query)

    assert [body for _, body in compiled] == [body for _, body in plain]
    offsets = [
        parse_qs(base64.b64decode(parse_qs(urlsplit(link).query)["cursor"][0]).decode()).get("o")
        for link, _ in compiled
        if link != "first"
    ]
    assert any(offsets), "the walk crossed no offset: the fixture does not test them"
    forward = [
        row["id"]
        for _, body in compiled[: next(i for i, (_, b) in enumerate(compiled) if b["next"] is None) + 1]
        for row in body["results"]
    ]
    wanted = TimeEntry.objects.filter(workspace=project.workspace).order_by("-started_at", "-id")
    if "project" in query:
        wanted = wanted.filter(project=project)
    if "billable" in query:
        wanted = wanted.filter(billable=True)
    assert forward == list(wanted.values_list("id", flat=True))


def test_a_page_of_a_known_shape_compiles_nothing(api_as, manager, member, project, settings):
    settings.COMPILED_QUERIES_CHECK = False  # else every call compiles again, to compare
    for hour in range(8, 14):  # distinct starts: the next page's cursor has a position, no offset
        TimeEntryFactory(member=member, project=project, started_at=berlin(MONDAY, hour))
    api = api_as(manager)
    first = api.get(URL, {"limit": 2}).json()
    api.get(first["next"])  # a page with a position: its shape compiled

    built: list[bool] = []
    original = CompiledPage._queryset

    def counted(self: CompiledPage, *, params: bool) -> Any:
        built.append(params)
        return original(self, params=params)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CompiledPage, "_queryset", counted)
        again = api.get(URL, {"limit": 2}).json()
        with CaptureQueriesContext(connection) as queries:
            second = api.get(first["next"]).json()

    assert again == first
    assert second["results"]
    assert built == []  # no queryset built, so nothing compiled
    assert sum("time_entry" in query["sql"] for query in queries.captured_queries) == 1


def test_a_cursor_with_a_position_that_is_no_time_is_a_400(api_as, manager, shared_starts):
    cursor = base64.b64encode(b"p=not-a-time").decode()

    response = api_as(manager).get(URL, {"cursor": cursor})

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"cursor": ["This cursor is not valid; use a next or previous link."]}


def test_it_takes_only_what_cursor_pagination_asks():
    page = CompiledPage(("probe",), lambda params: TimeEntry.objects.all(), {})
    with pytest.raises(TypeError):
        page.filter(started_at__lt="x", id__lt=1)
    with pytest.raises(TypeError):
        page.filter(started_at__lt="x").filter(id__lt=1)
    with pytest.raises(TypeError):
        page[3]  # type: ignore[index]
    with pytest.raises(TypeError):
        page[2:]


def test_the_order_and_the_slice_are_part_of_the_compiled_shape(member, project):
    for hour in (9, 10, 11):
        TimeEntryFactory(member=member, project=project, started_at=berlin(MONDAY, hour))
    page = CompiledPage(
        ("order probe",),
        lambda params: TimeEntry.objects.filter(**{"member_id": Param("member", ID) if params else member.pk}).values(
            "id"
        ),
        {"member": member.pk},
    )
    newest_first = [row["id"] for row in page.order_by("-started_at", "-id")[0:3]]

    assert [row["id"] for row in page.order_by("started_at", "id")[0:3]] == newest_first[::-1]
    assert [row["id"] for row in page.order_by("started_at", "id")[0:2]] == newest_first[::-1][:2]
