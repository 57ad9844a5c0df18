"""The MCP server: the SDK's ``MCPServer`` with our catalogue, guide, prompts and audit.

:class:`CallerMiddleware` wraps every JSON-RPC message (the SDK's ``ServerMiddleware``):
``tools/list`` keeps only the tools this caller's scopes and role allow; a ``tools/call`` of a
hidden tool answers exactly as an unknown tool does; and every request leaves one AuditEvent
(a tool call that audited itself — see :mod:`mcp_gateway.registry` — is not audited twice).
"""

from __future__ import annotations

import time
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from mcp.server.auth.settings import AuthSettings
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, ListToolsResult
from pydantic import AnyHttpUrl

from mcp_gateway.audit_detail import argument_digest
from mcp_gateway.auth import ConnectionTokenVerifier
from mcp_gateway.registry import (
    CATALOGUE,
    SCOPE_AUDIT,
    SCOPE_PRINCIPAL,
    as_sdk_tool,
    publish_event,
    visible,
)
from mcp_gateway.schemas import plain_schema
from workspaces.models import Outcome
from workspaces.principals import Principal

INSTRUCTIONS = (
    "timetracker: time, budgets and billing of ONE workspace (the one this connection was bound to). "
    "Start with get_context (who you act for, today's date, the time zone, what is redacted and the "
    "agent policy). Read guide://time-and-billing before logging time. Durations accept '90m', '1h30m', "
    "'1.5h'; dates accept YYYY-MM-DD, 'today', 'yesterday' or a weekday name, in the workspace time zone. "
    "Every write tool takes dry_run and idempotency_key. Billable time you log waits for a human."
)


def _caller(ctx: ServerRequestContext[Any, Any]) -> tuple[Principal | None, dict[str, Any]]:
    scope = getattr(ctx.request, "scope", None) or {}
    principal = scope.get(SCOPE_PRINCIPAL)
    notes = scope.setdefault(SCOPE_AUDIT, {}) if isinstance(scope, dict) else {}
    return (principal if isinstance(principal, Principal) else None), notes


def unknown_tool(name: str) -> MCPError:
    """The one answer for a tool that does not exist and a tool this caller may not see."""
    return MCPError(code=INVALID_PARAMS, message=f"Unknown tool: {name}")


class CallerMiddleware:
    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        principal, notes = _caller(ctx)
        if ctx.request_id is None or principal is None:
            return await call_next(ctx)  # a notification; or no HTTP caller (never on /mcp)
        started = time.monotonic()
        params = dict(ctx.params or {})
        tool_name = str(params.get("name", "")) if ctx.method == "tools/call" else ""
        try:
            if tool_name:
                spec = CATALOGUE.get(tool_name)
                if spec is None or not visible(spec, principal):
                    raise unknown_tool(tool_name)
            result = await call_next(ctx)
        except Exception as exc:
            outcome = Outcome.INVALID if isinstance(exc, MCPError) else Outcome.ERROR
            await self._audit(ctx, principal, notes, tool_name, params, outcome, started, error=str(exc)[:200])
            raise
        if ctx.method == "tools/list":
            result = _only_visible(result, principal)
        outcome = Outcome.OK
        if tool_name and _is_error(result):
            outcome = Outcome.INVALID  # the SDK refused the arguments before the tool ran
        await self._audit(ctx, principal, notes, tool_name, params, outcome, started)
        return result

    async def _audit(
        self,
        ctx: ServerRequestContext[Any, Any],
        principal: Principal,
        notes: dict[str, Any],
        tool_name: str,
        params: dict[str, Any],
        outcome: str,
        started: float,
        error: str = "",
    ) -> None:
        if notes.get("audited"):
            return
        detail: dict[str, Any] = {"method": ctx.method}
        if tool_name:
            arguments = params.get("arguments")
            detail |= {
                "tool": tool_name,
                "arguments": argument_digest(arguments if isinstance(arguments, dict) else {}),
            }
        for key in ("uri", "name"):
            if key in params and not tool_name:
                detail[key] = str(params[key])[:200]
        if error:
            detail["error"] = error
        action = f"mcp.tool.{tool_name}" if tool_name else f"mcp.{ctx.method.replace('/', '.')}"
        await sync_to_async(publish_event, thread_sensitive=False)(
            action=action,
            actor=principal,
            target_type="mcp.tool" if tool_name else "mcp",
            target_id=tool_name,
            outcome=outcome,
            detail=detail,
            duration_ms=round((time.monotonic() - started) * 1000),
        )


def _only_visible(result: HandlerResult, principal: Principal) -> HandlerResult:
    def shown(name: str) -> bool:
        return name in CATALOGUE and visible(CATALOGUE[name], principal)

    if isinstance(result, ListToolsResult):
        return result.model_copy(update={"tools": [t for t in result.tools if shown(t.name)]})
    if isinstance(result, dict) and isinstance(result.get("tools"), list):
        return {**result, "tools": [t for t in result["tools"] if shown(str(t.get("name")))]}
    raise TypeError(f"unexpected tools/list result {type(result).__name__}")  # never list unfiltered


def _is_error(result: HandlerResult) -> bool:
    if isinstance(result, dict):
        return bool(result.get("isError"))
    return bool(getattr(result, "is_error", False))


def sdk_tools() -> list[Tool]:
    """Every tool of the catalogue as the SDK serves it: the published ``outputSchema`` made plain
    (``mcp_gateway.schemas``), and no output model for the SDK to validate results against again."""
    tools = []
    for spec in CATALOGUE.values():
        tool = Tool.from_function(
            as_sdk_tool(spec),
            name=spec.name,
            title=spec.title,
            annotations=spec.annotations(),
            structured_output=True,
        )
        assert tool.fn_metadata.output_schema is not None
        tool.fn_metadata.output_schema = plain_schema(tool.fn_metadata.output_schema)  # read live by the SDK
        # Call builds every result as an instance of this very model (it checks the type) and dumps
        # it; the SDK would validate the dump against the model once more: 6 % of a web worker's
        # busy samples serving pages of entries (py-spy, bench/). The schema stays published, and
        # clients still validate against it.
        tool.fn_metadata.output_model = None
        tools.append(tool)
    return tools


def build_server() -> MCPServer[Any]:
    """The MCPServer with every tool of the catalogue, the guide and the prompts."""
    # Importing the tool modules fills CATALOGUE.
    from mcp_gateway import prompts
    from mcp_gateway.tools import access, billing, catalog, reports, time_tools  # noqa: F401

    server: MCPServer[Any] = MCPServer(
        "timetracker",
        title="timetracker",
        instructions=INSTRUCTIONS,
        version="1.0.0",
        token_verifier=ConnectionTokenVerifier(),
        auth=AuthSettings(
            issuer_url=AnyHttpUrl(settings.PUBLIC_BASE_URL),
            resource_server_url=AnyHttpUrl(settings.MCP_RESOURCE_URL),
            validate_token_resource=True,
        ),
        tools=sdk_tools(),
        middleware=[CallerMiddleware()],
        log_level="WARNING",
    )
    prompts.register(server)
    return server
