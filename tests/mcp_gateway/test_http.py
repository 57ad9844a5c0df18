"""/mcp end to end: the app served by uvicorn as in production, the official SDK client over real
HTTP, OAuth from the 401 onwards, and the transport-level refusals (401, 403, 413, 429)."""

from __future__ import annotations

import os
import re
import secrets
from datetime import datetime, time, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import anyio
import httpx2
import pytest
import requests
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection as db_connection
from django.utils import timezone
from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from mcp.shared.exceptions import MCPError
from mcp_types import TextContent, TextResourceContents, ToolAnnotations
from pydantic import AnyUrl

from tests.conftest import principal_for
from tests.factories import (
    MembershipFactory,
    OAuthAccessTokenFactory,
    ProjectFactory,
    TimeEntryFactory,
    WorkspaceFactory,
)
from tests.mcp_gateway.helpers import mcp_session, structured
from tests.workspaces.audit_harness import AppServer
from tests.workspaces.oauth_client import REDIRECT_URI, hidden_fields, login
from timesheets.models import EntryState, TimeEntry
from workspaces import connection_services
from workspaces.models import AuditEvent, Connection, Role

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.anyio]
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tmp_path_factory):
    """uvicorn serving timetracker.asgi on the test database; audit written inline so tests read it."""
    with django_db_blocker.unblock():
        app = AppServer(
            broker_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            log_path=tmp_path_factory.mktemp("mcp") / "app.log",
            env={"AUDIT_DELIVERY": "inline", "LOG_FORMAT": "text"},
        )
        app.env["PUBLIC_BASE_URL"] = app.url
        app.start()
    yield app
    app.stop()


@pytest.fixture
def world(transactional_db):
    acme = WorkspaceFactory(name="Acme", slug="acme", timezone="Europe/Berlin")
    globex = WorkspaceFactory(name="Globex", slug="globex")
    sam = MembershipFactory(workspace=acme, role=Role.MEMBER, user__username="sam", cost_rate=Decimal("40.00"))
    # The server process checks passwords with the production hasher, not the suite's fast one.
    sam.user.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    sam.user.save(update_fields=["password"])
    MembershipFactory(workspace=globex, role=Role.MEMBER, user=sam.user)
    olivia = MembershipFactory(workspace=acme, role=Role.OWNER, user__username="olivia")
    website = ProjectFactory(
        workspace=acme, name="Website", billable_by_default=True, billable_rate=Decimal("100.00"), team=[sam]
    )
    internal = ProjectFactory(workspace=acme, client=None, name="Internal", billable_by_default=False, team=[sam])
    secret = ProjectFactory(workspace=globex, name="Globex secret", team=[])
    # 09:00 yesterday in the workspace's zone, where the tools read "yesterday": yesterday in UTC is
    # another day in Berlin from 23:00 UTC (00:00 there) on.
    yesterday = timezone.localdate(timezone=acme.tzinfo) - timedelta(days=1)
    started = datetime.combine(yesterday, time(9), tzinfo=acme.tzinfo)
    TimeEntryFactory(member=sam, project=website, started_at=started, billable=True, billable_rate=Decimal("100.00"))
    return {"acme": acme, "sam": sam, "olivia": olivia, "website": website, "internal": internal, "secret": secret}


def bearer_token(membership, *, scopes: str = "read write", resource: list[str], **connection) -> str:
    raw = "mcp-" + secrets.token_urlsafe(24)
    OAuthAccessTokenFactory(
        token=raw,
        resource=resource,
        connection__membership=membership,
        connection__scopes=scopes,
        **{f"connection__{k}": v for k, v in connection.items()},
    )
    return raw


def post(server, token: str | None, body: dict | bytes, **headers: str) -> requests.Response:
    all_headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json", **headers}
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    data = body if isinstance(body, bytes) else None
    return requests.post(f"{server.url}/mcp", headers=all_headers, data=data, json=None if data else body, timeout=15)


async def in_thread(fn, *args):
    """Run ``fn`` in a worker thread and close that thread's database connection afterwards."""

    def run():
        try:
            return fn(*args)
        finally:
            db_connection.close()

    return await anyio.to_thread.run_sync(run)


CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "log_time", "arguments": {}}}


# --- OAuth, as an agent does it --------------------------------------------------------------------


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class Person:
    """The person at the browser: signs in, sees the consent page, picks the workspace, allows."""

    def __init__(self, base: str, username: str, member_id: int) -> None:
        self.base, self.username, self.member_id = base, username, member_id
        self.redirect: dict[str, str] = {}
        self.consent_page = ""

    def consent(self, url: str) -> None:
        session = login(self.base, self.username, PASSWORD)
        page = session.get(url, timeout=10)
        assert page.status_code == 200, page.text[:500]
        self.consent_page = page.text
        data = hidden_fields(page.text) | {"workspace": str(self.member_id), "allow": "on"}
        answer = session.post(url, data=data, headers={"Referer": url}, allow_redirects=False, timeout=10)
        assert answer.status_code == 302, answer.text[:500]
        self.redirect = {k: v[0] for k, v in parse_qs(urlparse(answer.headers["Location"]).query).items()}

    async def redirect_handler(self, url: str) -> None:
        await anyio.to_thread.run_sync(self.consent, url)

    async def callback_handler(self) -> AuthorizationCodeResult:
        return AuthorizationCodeResult(
            code=self.redirect["code"], state=self.redirect.get("state"), iss=self.redirect.get("iss")
        )


@pytest.mark.slow
async def test_an_agent_connects_with_oauth_and_uses_every_kind_of_tool(server, world):
    sam = world["sam"]
    person = Person(server.url, "sam", sam.pk)
    oauth = OAuthClientProvider(
        server_url=f"{server.url}/mcp",
        client_metadata=OAuthClientMetadata(
            client_name="SDK test agent",
            redirect_uris=[AnyUrl(REDIRECT_URI)],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
            scope="read write",
        ),
        storage=MemoryStorage(),
        redirect_handler=person.redirect_handler,
        callback_handler=person.callback_handler,
    )
    async with (
        httpx2.AsyncClient(auth=oauth, timeout=30) as http,
        streamable_http_client(f"{server.url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        # The first request answered 401; the SDK discovered, registered, authorized with PKCE, and got a token.
        init = await session.initialize()
        assert init.server_info.name == "timetracker"
        assert "SDK test agent" in person.consent_page
        assert re.search(r'name="allow_sensitive"[^>]*disabled', person.consent_page)  # a member cannot allow it
        connection = await in_thread(lambda: Connection.objects.get(user=sam.user))
        assert (connection.workspace_id, connection.allow_sensitive) == (world["acme"].pk, False)

        tools = {tool.name: tool for tool in (await session.list_tools()).tools}
        assert "log_time" in tools
        assert "list_audit_events" not in tools
        assert "profitability_report" not in tools
        log_time = tools["log_time"]
        assert log_time.annotations is not None
        assert log_time.annotations.read_only_hint is False
        assert log_time.annotations.open_world_hint is False
        assert {"dry_run", "idempotency_key", "duration", "project_id"} <= set(log_time.input_schema["properties"])
        assert log_time.output_schema is not None
        assert tools["list_time_entries"].annotations == ToolAnnotations(
            title="List time entries",
            read_only_hint=True,
            destructive_hint=False,
            idempotent_hint=True,
            open_world_hint=False,
        )

        context = structured(await session.call_tool("get_context", {}))
        assert (context["workspace"]["slug"], context["caller"]["username"]) == ("acme", "sam")
        assert context["governance"]["sensitive_visible"] is False

        entries = structured(await session.call_tool("list_time_entries", {}))["items"]
        assert len(entries) == 1
        assert entries[0]["duration_seconds"] == 3600
        assert (entries[0]["cost_rate"], entries[0]["redacted"]) == (None, ["cost_rate", "cost_amount"])

        draft = structured(
            await session.call_tool(
                "log_time", {"project_id": world["website"].pk, "duration": "1h30m", "date": "yesterday"}
            )
        )
        assert (draft["entry"]["state"], draft["entry"]["duration_seconds"]) == ("draft", 5400)
        assert draft["entry"]["connection"] == connection.pk

        report = structured(await session.call_tool("hours_summary", {"date_from": "yesterday", "date_to": "today"}))
        assert report["total_seconds"] == 3600  # the draft counts nowhere until a person accepts it
        assert report["pending_review_seconds"] == 5400

        refused = await session.call_tool("get_project", {"project_id": world["secret"].pk})
        assert refused.is_error
        assert refused.structured_content["error"]["code"] == "not_found"

        guide = await session.read_resource("guide://time-and-billing")
        assert isinstance(guide.contents[0], TextResourceContents)
        assert "Europe/Berlin" in guide.contents[0].text
        prompts = {p.name for p in (await session.list_prompts()).prompts}
        assert prompts == {"week_in_review", "log_my_day"}
        prompt = await session.get_prompt("log_my_day", {"day": "today"})
        assert isinstance(prompt.messages[0].content, TextContent)
        assert "dry_run" in prompt.messages[0].content.text

    drafts = await in_thread(
        lambda: list(TimeEntry.objects.filter(connection=connection).values_list("state", flat=True))
    )
    assert drafts == [EntryState.DRAFT]
    actions = await in_thread(
        lambda: list(AuditEvent.objects.filter(connection=connection).values_list("action", "outcome"))
    )
    for expected in [
        ("mcp.initialize", "ok"),
        ("mcp.tools.list", "ok"),
        ("mcp.tool.get_context", "ok"),
        ("mcp.tool.log_time", "ok"),
        ("mcp.tool.get_project", "denied"),
        ("mcp.resources.read", "ok"),
        ("mcp.prompts.get", "ok"),
    ]:
        assert expected in actions, expected


# --- who gets in -----------------------------------------------------------------------------------


async def test_no_token_is_401_pointing_at_the_resource_metadata(server, world):
    answer = await in_thread(post, server, None, CALL)
    assert answer.status_code == 401
    challenge = answer.headers["WWW-Authenticate"]
    assert f'resource_metadata="{server.url}/.well-known/oauth-protected-resource/mcp"' in challenge
    metadata = requests.get(f"{server.url}/.well-known/oauth-protected-resource/mcp", timeout=10).json()
    assert metadata["resource"] == f"{server.url}/mcp"


async def test_tokens_for_another_resource_or_none_are_401(server, world):
    sam = world["sam"]
    for resource in ([f"{server.url}/api/v1"], [], ["https://elsewhere.example/mcp"]):
        token = await in_thread(lambda r=resource: bearer_token(sam, resource=r))
        answer = await in_thread(post, server, token, CALL)
        assert answer.status_code == 401, resource
    good = await in_thread(lambda: bearer_token(sam, resource=[f"{server.url}/mcp"]))
    async with mcp_session(f"{server.url}/mcp", good) as session:
        assert (await session.list_tools()).tools


async def test_a_revoked_connection_is_401_on_the_next_call(server, world):
    sam = world["sam"]
    token = await in_thread(lambda: bearer_token(sam, resource=[f"{server.url}/mcp"]))
    async with mcp_session(f"{server.url}/mcp", token) as session:
        assert not (await session.call_tool("get_context", {})).is_error

        def revoke() -> None:
            connection = Connection.objects.get(user=sam.user)
            connection_services.connection_revoke(actor=principal_for(world["olivia"]), connection=connection)

        await in_thread(revoke)
        with pytest.raises(Exception):  # noqa: B017,PT011 - the SDK surfaces the 401 as a transport error
            await session.call_tool("get_context", {})
    answer = await in_thread(post, server, token, CALL)
    assert answer.status_code == 401


async def test_a_deactivated_member_and_a_disabled_workspace_switch(server, world):
    sam = world["sam"]
    token = await in_thread(lambda: bearer_token(sam, resource=[f"{server.url}/mcp"]))

    def mcp_off() -> None:
        world["acme"].mcp_enabled = False
        world["acme"].save()

    await in_thread(mcp_off)
    answer = await in_thread(post, server, token, CALL)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "forbidden"

    def deactivate() -> None:
        sam.is_active = False
        sam.save()

    await in_thread(deactivate)
    assert (await in_thread(post, server, token, CALL)).status_code == 401


async def test_a_missing_scope_is_403_insufficient_scope_naming_it(server, world):
    sam = world["sam"]
    token = await in_thread(lambda: bearer_token(sam, scopes="read", resource=[f"{server.url}/mcp"]))
    answer = await in_thread(post, server, token, CALL)
    assert answer.status_code == 403
    assert answer.json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in answer.headers["WWW-Authenticate"]
    assert 'scope="write"' in answer.headers["WWW-Authenticate"]
    denied = await in_thread(
        lambda: AuditEvent.objects.get(action="mcp.tool.log_time", outcome="denied").detail["code"]
    )
    assert denied == "insufficient_scope"


async def test_tools_list_follows_scope_and_role_and_hidden_tools_are_unknown(server, world):
    sam, olivia = world["sam"], world["olivia"]
    reader = await in_thread(lambda: bearer_token(sam, scopes="read", resource=[f"{server.url}/mcp"]))
    boss = await in_thread(
        lambda: bearer_token(olivia, scopes="read write admin", allow_sensitive=True, resource=[f"{server.url}/mcp"])
    )
    async with mcp_session(f"{server.url}/mcp", reader) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert "list_time_entries" in names
        assert not names & {"log_time", "start_timer", "list_audit_events", "profitability_report", "unbilled_time"}
        with pytest.raises(MCPError) as hidden:
            await session.call_tool("profitability_report", {})
        with pytest.raises(MCPError) as unknown:
            await session.call_tool("no_such_tool", {})
        assert (hidden.value.error.code, unknown.value.error.code) == (-32602, -32602)
        assert hidden.value.error.message.replace("profitability_report", "X") == unknown.value.error.message.replace(
            "no_such_tool", "X"
        )
    async with mcp_session(f"{server.url}/mcp", boss) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert {"profitability_report", "list_audit_events", "log_time", "create_project"} <= names
        profit = structured(await session.call_tool("profitability_report", {"date_from": "yesterday"}))
        assert profit["revenue"] == "100.00"
        assert profit["redacted"] == []


async def test_the_transport_refuses_large_bodies_and_foreign_origins(server, world):
    sam = world["sam"]
    token = await in_thread(lambda: bearer_token(sam, resource=[f"{server.url}/mcp"]))
    huge = b'{"jsonrpc":"2.0","id":1,"method":"tools/list","padding":"' + b"x" * (300 * 1024) + b'"}'
    assert (await in_thread(post, server, token, huge)).status_code == 413
    listing = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    evil = await in_thread(lambda: post(server, token, listing, Origin="https://evil.example"))
    assert evil.status_code == 403
    fine = await in_thread(lambda: post(server, token, listing, Origin=server.url))
    assert fine.status_code == 200
    assert fine.headers["X-Request-ID"]


READ_CALLS = {
    "get_context": {},
    "list_members": {},
    "list_clients": {},
    "get_client": None,  # filled with a real id below
    "list_projects": {},
    "get_project": None,
    "list_tasks": {},
    "list_tags": {},
    "list_time_entries": {},
    "get_timer": {},
    "get_timesheet": {"week": "yesterday"},
    "hours_summary": {"group_by": "day"},
    "utilization_report": {},
    "budget_health": {},
    "unbilled_time": {},
    "profitability_report": {},
    "list_invoices": {},
    "list_expenses": {},
    "list_audit_events": {},
}


async def test_every_read_tool_answers_within_its_output_schema(server, world):
    """The SDK client checks each result against the tool's outputSchema; all read tools pass."""
    owner = world["olivia"]
    token = await in_thread(
        lambda: bearer_token(owner, scopes="read write admin", allow_sensitive=True, resource=[f"{server.url}/mcp"])
    )
    calls = dict(READ_CALLS)
    calls["get_client"] = {"client_id": world["website"].client_id}
    calls["get_project"] = {"project_id": world["website"].pk}
    async with mcp_session(f"{server.url}/mcp", token) as session:
        listed = {t.name for t in (await session.list_tools()).tools}
        assert set(calls) <= listed
        for name, arguments in calls.items():
            data = structured(await session.call_tool(name, arguments))
            assert data, name
        hours = structured(await session.call_tool("hours_summary", {"date_from": "yesterday", "group_by": "member"}))
        assert [(row["label"], row["seconds"]) for row in hours["rows"]] == [("sam", 3600)]


async def test_a_connection_over_its_calls_a_minute_is_429_and_audited(server, world):
    """The server counts this minute's calls of a connection (MCP_THROTTLE_PER_MINUTE, 600); the
    counter is in the shared cache, so the test puts it at the limit."""
    import time as clock

    from django.core.cache import cache

    from mcp_gateway.rate import rate_windows

    sam = world["sam"]
    token = await in_thread(lambda: bearer_token(sam, resource=[f"{server.url}/mcp"]))
    assert (await in_thread(post, server, token, CALL)).status_code == 200  # known to the server now
    if clock.time() % 60 > 55:  # not across a minute's end
        await anyio.sleep(60 - clock.time() % 60 + 0.1)
    principal = await in_thread(lambda: principal_for(sam, connection=Connection.objects.get(user=sam.user)))
    ((key, window),) = rate_windows(principal)
    await in_thread(cache.set, key, 600, window)

    answer = await in_thread(post, server, token, CALL)

    assert answer.status_code == 429
    assert answer.json()["error"]["code"] == "throttled"
    assert answer.headers["Retry-After"] == "60"
    assert await in_thread(cache.get, key) == 601
    details = await in_thread(
        lambda: list(
            AuditEvent.objects.filter(action="mcp.request", outcome="denied", actor=sam.user).values_list(
                "detail", flat=True
            )
        )
    )
    assert details == [{"code": "throttled"}]
