"""Django under the ASGI entry point (timetracker.asgi): middleware and views run as under WSGI, in
one thread hop per request, with sessions, CSRF, request ids and streamed downloads as before."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest.mock import patch

import pytest
from asgiref.sync import SyncToAsync, sync_to_async
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import connections
from django.test import Client
from django.urls import reverse

from tests.conftest import principal_for
from tests.factories import AuditEventFactory
from timesheets.models import TimeEntry
from timetracker.asgi import django_application
from timetracker.asgi_django import RequestSlots
from workspaces import audit_views, connection_services
from workspaces.models import AuditEvent
from workspaces.tabular import csv_lines

pytestmark = [pytest.mark.anyio, pytest.mark.django_db(transaction=True)]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    bodies: list[bytes] = field(default_factory=list)
    hops: list[str] = field(default_factory=list)
    finished_after: list[int] = field(default_factory=list)  # body parts sent when request_finished fired

    def json(self) -> Any:
        return json.loads(b"".join(self.bodies))


async def asgi(
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    leave_after: int | None = None,
) -> Answer:
    """One request through the app's own ASGI callable, as uvicorn would make it; with
    ``leave_after``, the client disconnects once that many body parts have arrived."""
    raw = [(b"host", b"testserver"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(errors="surrogateescape"),  # "\udcff" sends the byte 0xff
        "root_path": "",
        "headers": raw,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    received = False
    gone = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": body, "more_body": False}
        await gone.wait()  # the client stays connected until it leaves
        return {"type": "http.disconnect"}

    answer = Answer(0, {})

    async def send(message: Mapping[str, Any]) -> None:
        if gone.is_set():
            await asyncio.Event().wait()  # a client that stopped reading and left: the write never ends
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message.get("body"):
            answer.bodies.append(message["body"])
            if leave_after is not None and len(answer.bodies) >= leave_after:
                gone.set()

    def finished(**kwargs: Any) -> None:
        answer.finished_after.append(len(answer.bodies))

    request_finished.connect(finished, dispatch_uid="test-asgi-finished")
    try:
        with counted_hops() as answer.hops:
            await django_application(scope, receive, send)
    finally:
        request_finished.disconnect(dispatch_uid="test-asgi-finished")
        await sync_to_async(connections.close_all)()  # the request thread's connection
    return answer


@contextmanager
def counted_hops() -> Iterator[list[str]]:
    """Names of the sync functions entered from the event loop meanwhile (each one a thread hop)."""
    entered: list[str] = []
    original = SyncToAsync.__call__

    async def counting(self: SyncToAsync, *args: Any, **kwargs: Any) -> Any:
        entered.append(getattr(self.func, "__qualname__", repr(self.func)))
        return await original(self, *args, **kwargs)

    with patch.object(SyncToAsync, "__call__", counting):
        yield entered


async def test_a_rest_write_runs_its_middleware_and_view_in_one_hop(member, project):
    key = await sync_to_async(
        lambda: (
            connection_services.api_key_create(
                actor=principal_for(member), label="asgi", scopes=["read", "write"]
            ).secret
        )
    )()
    body = json.dumps({"project": project.pk, "date": "2026-11-02", "duration_seconds": 900, "billable": False})

    answer = await asgi(
        "POST",
        f"/api/v1/workspaces/{member.workspace.slug}/time-entries",
        headers={"authorization": f"Bearer {key}", "content-type": "application/json", "x-request-id": "asgi-1"},
        body=body.encode(),
    )

    assert answer.status == 201, answer.bodies
    assert answer.headers["x-request-id"] == "asgi-1"
    entry = await TimeEntry.objects.aget(pk=answer.json()["id"])
    assert (entry.member_id, entry.duration_seconds) == (member.pk, 900)
    assert await AuditEvent.objects.filter(action="time_entry.create", request_id="asgi-1").acount() == 1
    # Django's request_started signal, the request (every middleware and the view) and closing the
    # response, in one hop: Django's own ASGI handler made about fifteen here.
    assert answer.hops == ["SyncStackASGIHandler.respond"]
    # closed before it was sent: the request's database connection went back first
    assert answer.finished_after == [0]


async def test_sessions_and_csrf_still_guard_the_pages(member):
    client = Client()
    await sync_to_async(client.force_login)(member.user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    slug = member.workspace.slug

    page = await asgi("GET", reverse("dashboard", args=[slug]), headers={"cookie": cookie})
    assert page.status == 200
    assert b"<form" in b"".join(page.bodies)

    forged = await asgi(
        "POST",
        reverse("timer-start", args=[slug]),
        headers={"cookie": cookie, "content-type": "application/x-www-form-urlencoded"},
        body=b"description=x",
    )
    assert forged.status == 403  # no CSRF token
    assert not await TimeEntry.objects.filter(member=member).aexists()

    signed_out = await asgi("GET", reverse("dashboard", args=[slug]))
    assert signed_out.status == 302
    assert signed_out.headers["location"].startswith(reverse("login"))


async def test_a_large_download_still_streams(admin, workspace):
    await sync_to_async(AuditEventFactory.create_batch)(1200, workspace=workspace, actor=None, action="bulk.row")
    client = Client()
    await sync_to_async(client.force_login)(admin.user)

    answer = await asgi(
        "GET",
        reverse("audit-log-csv", args=[workspace.slug]),
        headers={"cookie": f"sessionid={client.cookies['sessionid'].value}"},
    )

    assert answer.status == 200
    assert len(answer.bodies) > 1  # sent in parts, not one buffered body
    assert b"".join(answer.bodies).count(b"bulk.row") == 1200
    # the view in one hop, each batch of rows in one, and the response closed after its last part
    assert answer.hops[0] == "SyncStackASGIHandler.respond"
    assert answer.hops[-1] == "HttpResponseBase.close"
    assert answer.finished_after == [len(answer.bodies)]


async def test_a_download_stops_when_the_client_leaves_and_its_rows_close_before_its_connection(admin, workspace):
    await sync_to_async(AuditEventFactory.create_batch)(1200, workspace=workspace, actor=None, action="bulk.row")
    client = Client()
    await sync_to_async(client.force_login)(admin.user)
    cookie = {"cookie": f"sessionid={client.cookies['sessionid'].value}"}
    # the rows' generator (a database cursor behind it) and the request's end, in the order they happen
    order: list[str] = []

    threads: set[int] = set()

    def watched(*args: Any, **kwargs: Any) -> Iterator[bytes]:
        threads.add(threading.get_ident())  # the rows are read on the request's thread...
        try:
            yield from csv_lines(*args, **kwargs)
            yield from (b"more\n" for _ in range(100_000))  # longer than a client waits
        finally:
            threads.add(threading.get_ident())  # ...and their cursor closed on it too
            order.append("rows closed")

    def finished(**kwargs: Any) -> None:
        order.append("request finished")

    request_finished.connect(finished, dispatch_uid="test-download-finished")
    try:
        with patch.object(audit_views, "csv_lines", watched):
            left = await asgi("GET", reverse("audit-log-csv", args=[workspace.slug]), headers=cookie, leave_after=1)
    finally:
        request_finished.disconnect(dispatch_uid="test-download-finished")

    assert left.status == 200
    assert len(left.bodies) == 1  # the rest was never sent
    # the cursor closed while its connection was open, then the connection went back
    assert order == ["rows closed", "request finished"]
    assert len(threads) == 1
    assert threading.get_ident() not in threads  # not the event loop's
    assert left.finished_after == [1]
    assert (await asgi("GET", "/healthz")).status == 200  # and the process serves on


async def test_a_request_django_cannot_build_is_answered_400_in_the_same_hop(db):
    answer = await asgi("GET", "/healthz?q=\udcff")  # a query string that is not UTF-8

    assert answer.status == 400
    assert answer.hops == ["SyncStackASGIHandler.respond"]
    assert answer.finished_after == [0]


@contextmanager
def request_threads() -> Iterator[list[tuple[str, int]]]:
    """(step, thread id) of each request's start signal, middleware and view, and finish signal."""
    seen: list[tuple[str, int]] = []

    def started(**kwargs: Any) -> None:
        seen.append(("started", threading.get_ident()))

    def finished(**kwargs: Any) -> None:
        seen.append(("finished", threading.get_ident()))

    original = django_application.get_response

    def get_response(request: Any) -> Any:
        seen.append(("view", threading.get_ident()))
        return original(request)

    request_started.connect(started, dispatch_uid="test-threads-started")
    request_finished.connect(finished, dispatch_uid="test-threads-finished")
    try:
        with patch.object(django_application, "get_response", get_response):
            yield seen
    finally:
        request_started.disconnect(dispatch_uid="test-threads-started")
        request_finished.disconnect(dispatch_uid="test-threads-finished")


async def test_each_request_runs_on_one_kept_thread_and_gives_its_connection_back(db):
    await asgi("GET", "/healthz")  # a kept thread exists from here on
    threads_before = threading.active_count()
    with request_threads() as seen:
        for _ in range(3):
            assert (await asgi("GET", "/healthz")).status == 200

    # one thread for everything a request runs, and the same kept thread for each in turn
    assert [step for step, _ in seen] == ["started", "view", "finished"] * 3
    assert len({thread for _, thread in seen}) == 1
    assert threading.active_count() == threads_before  # Django's handler starts two threads a request
    # the kept thread holds no database connection between requests
    kept = django_application.threads.free[-1]
    assert await asyncio.wrap_future(kept.submit(lambda: connections["default"].connection)) is None


async def test_concurrent_requests_run_on_threads_of_their_own(db):
    assert settings.WEB_THREADS == 2
    meet = threading.Barrier(2, timeout=10)  # passes only if the two views run at once
    original = django_application.get_response

    def meeting(request: Any) -> Any:
        meet.wait()
        return original(request)

    with request_threads() as seen, patch.object(django_application, "get_response", meeting):
        answers = await asyncio.gather(*(asgi("GET", "/healthz") for _ in range(2)))

    assert [answer.status for answer in answers] == [200, 200]
    threads = {thread for step, thread in seen if step == "started"}
    assert len(threads) == 2
    assert {thread for step, thread in seen if step == "finished"} == threads


async def test_no_more_than_web_threads_requests_run_in_django_at_once(db):
    # given views that each take 50 ms, and a count of how many run at the same moment
    running, most = 0, 0
    guard = threading.Lock()
    original = django_application.get_response

    def slow(request: Any) -> Any:
        nonlocal running, most
        with guard:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with guard:
            running -= 1
        return original(request)

    # when eight requests arrive together
    with patch.object(django_application, "get_response", slow):
        answers = await asyncio.gather(*(asgi("GET", "/healthz") for _ in range(8)))

    # then all are answered, two at a time (WEB_THREADS), the others waiting their turn
    assert [answer.status for answer in answers] == [200] * 8
    assert most == settings.WEB_THREADS == 2


def test_the_slots_follow_the_event_loop_they_are_used_in():
    slots = RequestSlots(1)

    async def take() -> asyncio.Semaphore:
        async with slots.here():
            assert slots.here().locked()  # the one slot is taken
        return slots.here()

    first, second = asyncio.run(take()), asyncio.run(take())
    assert first is not second  # a semaphore bound to a closed loop is never used again
    assert not first.locked()
    assert not second.locked()  # and each slot was given back
