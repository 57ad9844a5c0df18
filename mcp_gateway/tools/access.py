"""The audit trail, for admins whose connection has the admin scope."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from mcp_gateway.arguments import keyset_page, optional_day
from mcp_gateway.registry import tool
from mcp_gateway.schemas import model_for, page_of
from mcp_gateway.tools.common import CursorArg, DayArg, Limit, shaped
from workspaces.api_access import AuditEventOutput
from workspaces.audit_selectors import AuditEventFilter, audit_event_list
from workspaces.errors import Invalid
from workspaces.policies import Perm
from workspaces.principals import Principal

AuditEvent = model_for(AuditEventOutput)
AuditEventPage = page_of(AuditEvent, "AuditEventPage")


@tool(title="List audit events", perm=Perm.AUDIT_VIEW)
def list_audit_events(
    caller: Principal,
    action: Annotated[str, Field(max_length=100, description="Starts with, e.g. 'mcp.tool.' or 'time_entry.'")] = "",
    channel: Literal["web", "api", "mcp", "admin", "system"] | None = None,
    outcome: Literal["ok", "denied", "invalid", "error"] | None = None,
    connection_id: Annotated[int | None, Field(ge=1, description="Only calls through this connection")] = None,
    since: DayArg = None,
    until: DayArg = None,
    cursor: CursorArg = None,
    limit: Limit = 50,
) -> AuditEventPage:  # type: ignore[valid-type]
    """The workspace's audit trail, newest first: who (person, connection), through which channel,
    what action on which target, the outcome, and details (argument digests, redacted fields,
    dry runs). Admins with the admin scope only."""
    workspace = caller.workspace
    query = {
        "action": action,
        "channel": channel or "",
        "outcome": outcome or "",
        "connection": connection_id or "",
        "since": optional_day(since, workspace=workspace, name="since") or "",
        "until": optional_day(until, workspace=workspace, name="until") or "",
    }
    filters = AuditEventFilter(query, queryset=audit_event_list(actor=caller), principal=caller)
    if not filters.is_valid():
        fields = {name: [str(m) for m in messages] for name, messages in filters.errors.items()}
        raise Invalid("Unknown filter value.", fields=fields)
    events = filters.qs
    rows, next_cursor = keyset_page(events, order=("-created_at", "-id"), cursor=cursor, limit=limit)
    return AuditEventPage(items=shaped(AuditEventOutput, rows, caller, many=True), next_cursor=next_cursor)
