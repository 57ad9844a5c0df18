"""The /mcp endpoint as an ASGI app: the SDK's Streamable HTTP transport behind its bearer auth,
with our gateway in between.

Request path: the SDK's ``AuthenticationMiddleware`` asks :class:`ConnectionTokenVerifier`;
``RequireAuthMiddleware`` answers 401 with the RFC 9728 challenge; then :class:`Gateway` puts
the caller's Principal in the scope, refuses a workspace with MCP turned off, a body over the
size limit, a tool call whose scope the token lacks (403 ``insufficient_scope`` naming the
scope, so the agent can step up) and a caller over its rate; the SDK's transport (stateless,
JSON responses, Host/Origin checked against DNS rebinding) then serves the JSON-RPC message.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.routes import build_resource_metadata_url
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_gateway.auth import counts_of, principal_of
from mcp_gateway.prompts import current_principal
from mcp_gateway.rate import within_counted_rate, within_rate
from mcp_gateway.registry import SCOPE_AUDIT, SCOPE_PRINCIPAL, missing_scope, publish_event
from timetracker.observability import request_id_from, request_id_var
from workspaces.models import Outcome
from workspaces.principals import Principal


def allowed_hosts() -> list[str]:
    """Django's ALLOWED_HOSTS as the SDK's Host patterns (any port); a leading dot allows subdomains
    in Django, which the SDK cannot express, so such entries allow the bare domain only."""
    hosts: list[str] = []
    for host in settings.ALLOWED_HOSTS:
        if host == "*":
            continue
        bare = host.lstrip(".")
        hosts += [bare, f"{bare}:*"]
    return hosts


def transport_security() -> TransportSecuritySettings:
    return TransportSecuritySettings(
        enable_dns_rebinding_protection="*" not in settings.ALLOWED_HOSTS,
        allowed_hosts=allowed_hosts(),
        allowed_origins=[origin.rstrip("/") for origin in settings.MCP_ALLOWED_ORIGINS],
    )


async def _respond(send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
    payload = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


def _client_ip(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


class Gateway:
    """Between the SDK's auth and its transport: the caller, the workspace switch, size, scope, rate."""

    def __init__(self, app: ASGIApp, *, resource_metadata_url: str) -> None:
        self.app = app
        self.resource_metadata_url = resource_metadata_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user")
        if scope["type"] != "http" or not isinstance(user, AuthenticatedUser):
            await self.app(scope, receive, send)  # the SDK's RequireAuthMiddleware answers 401
            return
        request_id = request_id_from(_header(scope, b"x-request-id") or None)
        token = request_id_var.set(request_id)
        principal = replace(
            principal_of(user.access_token),
            ip=_client_ip(scope),
            user_agent=_header(scope, b"user-agent")[:300],
            request_id=request_id,
        )

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode())]}
            await send(message)

        try:
            await self._serve(scope, receive, send_with_id, principal, counts_of(user.access_token))
        finally:
            request_id_var.reset(token)

    async def _serve(
        self, scope: Scope, receive: Receive, send: Send, principal: Principal, counted: dict[str, int]
    ) -> None:
        started = time.monotonic()
        if not principal.workspace.mcp_enabled:
            await self._deny(principal, "mcp.request", "forbidden", started)
            await _respond(
                send,
                403,
                {
                    "error": {
                        "code": "forbidden",
                        "message": "MCP access is turned off for this workspace; ask an admin.",
                    }
                },
            )
            return
        allowed = within_counted_rate(principal, counted)  # counted with the bearer's check, usually
        if allowed is None:
            allowed = await sync_to_async(within_rate, thread_sensitive=False)(principal)
        if not allowed:
            await self._deny(principal, "mcp.request", "throttled", started)
            await _respond(
                send,
                429,
                {"error": {"code": "throttled", "message": "Too many calls; wait a minute and retry."}},
                {"Retry-After": "60"},
            )
            return
        body = b""
        if scope.get("method") == "POST":
            body, too_large = await _read_body(receive, limit=settings.MCP_MAX_REQUEST_BYTES)
            if too_large:
                await self._deny(principal, "mcp.request", "too_large", started, outcome=Outcome.INVALID)
                limit = settings.MCP_MAX_REQUEST_BYTES
                await _respond(
                    send,
                    413,
                    {"error": {"code": "invalid", "message": f"The request body is over {limit} bytes."}},
                )
                return
            needed = _scope_needed(body, principal)
            if needed is not None:
                name, scope_name = needed
                await self._deny(principal, f"mcp.tool.{name}", "insufficient_scope", started)
                description = f"The tool {name} needs the '{scope_name}' scope, which this connection was not granted."
                challenge = (
                    f'Bearer error="insufficient_scope", scope="{scope_name}", '
                    f'resource_metadata="{self.resource_metadata_url}", error_description="{description}"'
                )
                await _respond(
                    send,
                    403,
                    {"error": "insufficient_scope", "error_description": description, "scope": scope_name},
                    {"WWW-Authenticate": challenge},
                )
                return
        scope = {**scope, SCOPE_PRINCIPAL: principal, SCOPE_AUDIT: {}}
        token = current_principal.set(principal)
        try:
            await self.app(scope, _replay(body, receive) if scope.get("method") == "POST" else receive, send)
        finally:
            current_principal.reset(token)

    async def _deny(
        self, principal: Principal, action: str, code: str, started: float, *, outcome: str = Outcome.DENIED
    ) -> None:
        duration_ms = round((time.monotonic() - started) * 1000)
        await sync_to_async(publish_event, thread_sensitive=False)(
            action=action, actor=principal, outcome=outcome, detail={"code": code}, duration_ms=duration_ms
        )


def _scope_needed(body: bytes, principal: Principal) -> tuple[str, str] | None:
    """For a ``tools/call`` of a tool the role allows but the token's scopes do not: (tool, scope)."""
    try:
        message = json.loads(body)
    except ValueError:
        return None  # the transport answers the parse error
    messages = message if isinstance(message, list) else [message]
    for item in messages:
        if not isinstance(item, dict) or item.get("method") != "tools/call":
            continue
        params = item.get("params")
        name = params.get("name") if isinstance(params, dict) else None
        if isinstance(name, str):
            scope_name = missing_scope(name, principal)
            if scope_name is not None:
                return name, scope_name
    return None


async def _read_body(receive: Receive, *, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), False


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def build_app(server: MCPServer[Any]) -> Starlette:
    """/mcp: stateless Streamable HTTP with JSON responses (any worker answers any request).

    The SDK builds the app (its bearer auth, the RFC 9728 challenge, the transport); the gateway
    is added as the innermost middleware, so it runs after authentication.
    """
    app = server.streamable_http_app(
        streamable_http_path="/mcp",
        json_response=True,
        stateless_http=True,
        max_request_body_size=settings.MCP_MAX_REQUEST_BYTES,
        transport_security=transport_security(),
    )
    metadata_url = str(build_resource_metadata_url(AnyHttpUrl(settings.MCP_RESOURCE_URL)))
    app.user_middleware.append(Middleware(Gateway, resource_metadata_url=metadata_url))
    return app
