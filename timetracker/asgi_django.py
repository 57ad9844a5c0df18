"""Django under ASGI, with its middleware and views run as under WSGI: in the request's thread,
entered once.

Every view of ours is sync (DRF, forms), and so is most of Django's middleware. Django's own
ASGI handler builds an async middleware chain, in which each sync middleware method (a session's
``process_request``, CSRF's ``process_response``, ...) moves to the request's thread and back:
about fifteen thread hops a request. Measured in-process: 2.1 ms of CPU for a 404 against
0.3 ms under WSGI, and 7.5 ms against 5.4 ms for a REST POST (bench/README.md, seventh round).

Here the chain is built sync, as for WSGI, and entered with one ``sync_to_async``, on a thread
kept from an earlier request (:class:`RequestThreads`), by at most ``WEB_THREADS`` requests of a
process at once (:class:`RequestSlots`). The request signals go in the same hop
(:meth:`SyncStackASGIHandler.handle`). What stays async is reading the body and sending the
response (streamed exports still stream from an async iterator, ``workspaces/tabular.py``, and
close after their last part). No library offers this;
Django documents the cost ("a thread per request ... to emulate a synchronous environment")
without a switch for it.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix

KEPT_THREADS = 32  # request threads kept for reuse per process; more may run at a peak


class RequestThreads:
    """Single-thread executors, each lent to one request at a time and kept for the next.

    Django's handler gives every request a thread of its own (a ``ThreadSensitiveContext``), so
    that the request's sync code and its database connection stay on one thread. asgiref makes
    that thread for the request and joins it afterwards from yet another new thread: two thread
    starts per request, and a new database wrapper for each. Lending kept threads (asgiref's
    ``ThreadSensitiveContext(executor=...)``) keeps the one-request-one-thread rule, as a
    threaded WSGI server does, without the starts. Used from the event loop's thread only.
    """

    def __init__(self, keep: int = KEPT_THREADS) -> None:
        self.keep = keep
        self.free: list[ThreadPoolExecutor] = []

    def lend(self) -> ThreadPoolExecutor:
        return self.free.pop() if self.free else ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")

    def give_back(self, executor: ThreadPoolExecutor) -> None:
        if len(self.free) < self.keep:
            self.free.append(executor)
        else:
            executor.shutdown(wait=False)


class RequestSlots:
    """At most ``size`` requests of this process in Django's sync code at once; the rest wait in
    the event loop, holding no thread and no database connection, as in a threaded WSGI server.

    Django's ASGI handler runs every request at once, each in its thread, and under the GIL they
    slow one another. Where requests queue on a lock (one member's time writes, serialized by the
    member's row lock) that costs throughput: the lock holder waits for the GIL between its round
    trips while other threads of its process run, and so holds the lock longer. Served, 16
    concurrent POSTs for one member: the lock held 3.8-4.1 ms a write with no limit, 3.1-3.2 ms
    with 2 a process; 245-259 against 310-313 writes/s (bench/README, eleventh round). A semaphore
    per event loop: one per process when served, one per test's loop in tests.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.loop: asyncio.AbstractEventLoop | None = None
        self.semaphore: asyncio.Semaphore | None = None  # made in the first loop that asks

    def here(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self.semaphore is None or loop is not self.loop:
            self.loop, self.semaphore = loop, asyncio.Semaphore(self.size)
        return self.semaphore


class SyncStackASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        super().__init__()
        self.threads = RequestThreads()
        self.slots = RequestSlots(settings.WEB_THREADS)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":  # as Django's handler answers
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = self.threads.lend()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            self.threads.give_back(executor)

    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Django's ``handle``, with everything sync about a request in one hop: the
        request_started signal, building the request, middleware and view and, unless the response
        streams, closing it. Django's own makes three (the signal, the view, the close), each with
        its tasks and futures.

        Closing before sending sends request_finished first, so the request's database connection
        goes back to the pool while the answer is on its way. A streamed response (an export) is
        sent as Django sends it, watching for the client leaving, and closed after its last part.
        """
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        try:
            # Only the sync part takes a slot: reading the body came before, and sending the
            # response (a streamed export included) comes after. thread_sensitive: the request's
            # thread (its ThreadSensitiveContext), whose database connection request_finished closes.
            async with self.slots.here():
                response = await sync_to_async(self.respond, thread_sensitive=True)(scope, body_file)
            if response.streaming:
                await self.stream(response, receive, send)
            else:
                await self.send_response(response, send)
        finally:
            body_file.close()

    def respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        """The request's sync part, on its thread: the response, closed unless it streams."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, refused = self.create_request(scope, body_file)
        response = self.get_response(request) if request is not None else cast(HttpResponseBase, refused)
        response._handler_class = self.__class__  # type: ignore[attr-defined] # request_finished's sender
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size  # as Django's run_get_response
        if not response.streaming:
            response.close()
        return response

    async def stream(self, response: HttpResponseBase, receive: Any, send: Any) -> None:
        """Send a streamed response part by part; stop if the client leaves. Then close it."""
        sending = asyncio.create_task(self.send_response(response, send))
        leaving = asyncio.create_task(self.listen_for_disconnect(receive))
        try:
            await asyncio.wait((sending, leaving), return_when=asyncio.FIRST_COMPLETED)
            for task in (leaving, sending):
                if not task.done():
                    task.cancel()
                with contextlib.suppress(asyncio.CancelledError, RequestAborted):
                    await task
        finally:
            await sync_to_async(response.close, thread_sensitive=True)()
