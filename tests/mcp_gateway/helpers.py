"""Calling MCP tools in-process (for data, governance and query-count tests) and over real HTTP
with the official SDK client (for the end-to-end tests)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult

from mcp_gateway.registry import CATALOGUE, Call
from mcp_gateway.server import build_server
from tests.factories import ConnectionFactory
from workspaces.connection_selectors import connection_principal
from workspaces.models import Channel, Connection, Membership
from workspaces.principals import Principal

SERVER = build_server()  # fills the catalogue exactly as the app does


def agent(
    membership: Membership, *, scopes: str = "read write", allow_sensitive: bool = False, **fields: Any
) -> Principal:
    """The principal of an MCP connection of ``membership`` (an OAuth grant, as an agent gets)."""
    connection = ConnectionFactory(membership=membership, scopes=scopes, allow_sensitive=allow_sensitive, **fields)
    principal = connection_principal(connection, channel=Channel.MCP)
    assert principal is not None
    assert principal.connection is not None
    return principal


def connection_of(principal: Principal) -> Connection:
    assert principal.connection is not None
    return principal.connection


def call(
    principal: Principal, name: str, /, *, dry_run: bool = False, idempotency_key: str | None = None, **arguments: Any
) -> CallToolResult:
    """One tool call as the gateway runs it (visibility, transaction, dry run, replay, audit)."""
    return Call(CATALOGUE[name], principal, arguments, {}, dry_run=dry_run, idempotency_key=idempotency_key).run()


def ok(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


def error_code(result: CallToolResult) -> str:
    assert result.is_error, result.structured_content
    assert result.structured_content is not None
    return str(result.structured_content["error"]["code"])


@asynccontextmanager
async def mcp_session(url: str, token: str, headers: dict[str, str] | None = None) -> AsyncIterator[ClientSession]:
    """An initialized SDK ClientSession over Streamable HTTP with a bearer token (or API key)."""
    auth = {"Authorization": f"Bearer {token}", **(headers or {})}
    async with (
        httpx2.AsyncClient(headers=auth, timeout=30) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def structured(result: CallToolResult) -> dict[str, Any]:
    """The structured content, checked against the JSON in the text rendering."""
    data = ok(result)
    text = result.content[0].text  # type: ignore[union-attr]
    assert json.loads(text.splitlines()[-1]) == data
    return data
