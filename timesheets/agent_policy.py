"""The agent policy (DESIGN §6.4): what becomes of time an AI agent writes over MCP.

A workspace sets one policy for non-billable time (``direct`` | ``draft`` | ``forbid``) and one
for billable time (``draft`` | ``forbid``: never direct, a human confirms every billable entry
an agent proposes). A connection may override either, but only to be stricter: the strictest of
the two wins (forbid > draft > direct). Pure functions, no I/O beyond the objects passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from timesheets.models import EntryState, TimeEntry
from workspaces.errors import ForbiddenByPolicy
from workspaces.models import Channel, Connection, Workspace
from workspaces.principals import Principal


class AgentMode(StrEnum):
    DIRECT = "direct"
    DRAFT = "draft"
    FORBID = "forbid"


STRICTNESS: dict[AgentMode, int] = {AgentMode.DIRECT: 0, AgentMode.DRAFT: 1, AgentMode.FORBID: 2}


@dataclass(frozen=True)
class AgentRuling:
    """What happens to an agent's write, and whose policy decided it (``workspace`` or ``connection``)."""

    mode: AgentMode
    decided_by: str


def _mode(value: str) -> AgentMode:
    # An unknown stored value fails closed.
    try:
        return AgentMode(value)
    except ValueError:
        return AgentMode.FORBID


def resolve_agent_policy(*, workspace_policy: str, connection_policy: str, billable: bool) -> AgentRuling:
    """The strictest of the workspace's and the connection's policy ("" = the connection inherits).

    Billable time is never ``direct``: a workspace value of ``direct`` (not a valid choice) is
    read as ``draft``. Ties go to the workspace, so a reason names the connection only when the
    connection really was stricter.
    """
    workspace_mode = _mode(workspace_policy)
    if billable and workspace_mode == AgentMode.DIRECT:
        workspace_mode = AgentMode.DRAFT
    ruling = AgentRuling(workspace_mode, "workspace")
    if connection_policy:
        connection_mode = _mode(connection_policy)
        if STRICTNESS[connection_mode] > STRICTNESS[workspace_mode]:
            ruling = AgentRuling(connection_mode, "connection")
    return ruling


def agent_ruling(*, workspace: Workspace, connection: Connection | None, billable: bool) -> AgentRuling:
    """The ruling for time of this kind written through ``connection`` in ``workspace``."""
    if billable:
        return resolve_agent_policy(
            workspace_policy=workspace.agent_billable_policy,
            connection_policy=connection.agent_billable_policy if connection else "",
            billable=True,
        )
    return resolve_agent_policy(
        workspace_policy=workspace.agent_nonbillable_policy,
        connection_policy=connection.agent_nonbillable_policy if connection else "",
        billable=False,
    )


def is_agent(actor: Principal) -> bool:
    """Agent policy governs writes that come in over MCP."""
    return actor.channel == Channel.MCP


def draft_reason(ruling: AgentRuling, *, billable: bool) -> str:
    """Why an entry is a draft, as the review queue shows it."""
    kind = "Billable" if billable else "Non-billable"
    return f"{kind} time proposed by an agent waits for a human ({ruling.decided_by} policy)"


def ensure_agent_may_write(actor: Principal, *, billable: bool) -> str | None:
    """For an MCP caller: raise ``forbidden_by_policy``, or return the draft reason (``None`` = direct).

    Any other channel returns ``None``: people and integrations are not governed by agent policy.
    """
    if not is_agent(actor):
        return None
    ruling = agent_ruling(workspace=actor.workspace, connection=actor.connection, billable=billable)
    if ruling.mode == AgentMode.FORBID:
        kind = "billable" if billable else "non-billable"
        raise ForbiddenByPolicy(
            f"Agents may not log {kind} time in this workspace ({ruling.decided_by} policy); ask a person to log it."
        )
    if ruling.mode == AgentMode.DRAFT:
        return draft_reason(ruling, billable=billable)
    return None


def ensure_agent_may_change(actor: Principal, entry: TimeEntry) -> None:
    """Agents never change or delete time a person logged (locks are checked for everyone)."""
    if is_agent(actor) and entry.is_human_created:
        raise ForbiddenByPolicy("Agents never change or delete time a person logged; ask that person to change it.")


def ensure_agent_may_delete(actor: Principal, entry: TimeEntry) -> None:
    """An agent deletes its own drafts, and active entries only where it could have written them directly.

    Removing active time the policy would have held for a human (billable time, or any time under
    a ``draft`` policy) needs that human too: the time may already have been confirmed.
    """
    if not is_agent(actor):
        return
    ensure_agent_may_change(actor, entry)
    if entry.state == EntryState.DRAFT:
        return
    ruling = agent_ruling(workspace=actor.workspace, connection=actor.connection, billable=entry.billable)
    if ruling.mode != AgentMode.DIRECT:
        kind = "billable" if entry.billable else "non-billable"
        raise ForbiddenByPolicy(
            f"Agents may not delete active {kind} time in this workspace ({ruling.decided_by} policy); "
            "ask a person to delete it."
        )
