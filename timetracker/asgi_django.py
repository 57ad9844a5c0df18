"""Django under ASGI, with its middleware and views run as under WSGI: in the request's thread,
entered once.

Every view of ours is sync (DRF, forms), and so is most of Django's middleware. Django's own
ASGI handler builds an async middleware chain, in which each sync middleware method (a session's
``process_request``, CSRF's ``process_response``, ...) moves to the request's thread and back:
about fifteen thread hops a request. Measured in-process: 2.1 ms of CPU for a 404 against
0.3 ms under WSGI, and 7.5 ms against 5.4 ms for a REST POST (bench/README.md, seventh round).

Here the chain is built sync, as for WSGI, and entered with one ``sync_to_async``. What stays
async is Django's: reading the body, the request signals, and sending the response (streamed
exports still stream from an async iterator, ``workspaces/tabular.py``). No library offers this;
Django documents the cost ("a thread per request ... to emulate a synchronous environment")
without a switch for it.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class SyncStackASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        # thread_sensitive: the same thread as the view would have had, so the request's
        # database connection is the one the request_finished signal closes.
        response: HttpResponseBase = await sync_to_async(self.get_response, thread_sensitive=True)(request)
        return response
