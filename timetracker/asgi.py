"""ASGI entry point: one process serves pages, the REST API and the MCP endpoint.

``/mcp`` goes to the MCP gateway (the official SDK's Streamable HTTP app); everything else to
Django. The lifespan (startup/shutdown) goes to the gateway, whose SDK session manager needs it.
"""

import os

import django
from starlette.types import Receive, Scope, Send

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "timetracker.settings")

django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application

from timetracker.asgi_django import SyncStackASGIHandler  # noqa: E402 - needs Django set up first

django_application = SyncStackASGIHandler()

from mcp_gateway.http import build_app  # noqa: E402 - needs Django set up first
from mcp_gateway.server import build_server  # noqa: E402

mcp_application = build_app(build_server())


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    to_mcp = scope["type"] == "http" and (scope["path"] == "/mcp" or scope["path"].startswith("/mcp/"))
    if to_mcp or scope["type"] == "lifespan":
        await mcp_application(scope, receive, send)
    else:
        # Django types the ASGI callables a little differently from Starlette; the protocol is the same.
        await django_application(scope, receive, send)  # type: ignore[arg-type]
