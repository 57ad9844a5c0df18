"""The guide resource and the prompts: what an agent should know before it reads or writes.

``guide://time-and-billing`` is written from the real settings of the caller's workspace and
connection (time zone, week, lock date, overlap and agent policies, what is redacted), so it is
never out of date. The prompts only ask for reads and, for ``log_my_day``, dry runs first.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from asgiref.sync import sync_to_async
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.resources import FunctionResource

from mcp_gateway.arguments import today_in
from mcp_gateway.registry import refresh_connections
from timesheets.agent_policy import agent_ruling
from workspaces.policies import can_view_sensitive
from workspaces.principals import Principal

GUIDE_URI = "guide://time-and-billing"
# The caller of the current /mcp request (set by the gateway; resources and prompts take no arguments
# from which to find it).
current_principal: ContextVar[Principal | None] = ContextVar("mcp_principal", default=None)


def _caller() -> Principal:
    principal = current_principal.get()
    assert principal is not None, "the /mcp gateway sets the caller"
    return principal


def guide_text(principal: Principal) -> str:
    """The rules of this workspace for this connection, in prose for a model."""
    refresh_connections()
    try:
        workspace = principal.workspace
        billable = agent_ruling(workspace=workspace, connection=principal.connection, billable=True)
        nonbillable = agent_ruling(workspace=workspace, connection=principal.connection, billable=False)
        weekday = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"][workspace.week_start]
        lock = (
            f"Time on or before {workspace.lock_date:%Y-%m-%d} is locked (the workspace lock date)."
            if workspace.lock_date
            else "The workspace has no lock date."
        )
        sensitive = (
            "This connection may see cost rates, margins and client contact data."
            if can_view_sensitive(principal)
            else "Cost rates, margins and client contact data are hidden from this connection: such fields are null "
            "and named in each object's `redacted` list. Do not guess them."
        )
        return f"""# Time and billing in {workspace.name}

You act for {principal.user.get_username()} (role: {principal.membership.role}; scopes: {", ".join(sorted(principal.scopes))}).

## Time
- Time zone: {workspace.timezone}. Today is {today_in(workspace):%Y-%m-%d}. A bare date means that day in this time zone;
  weeks start on {weekday}; months are calendar months.
- Durations are seconds in outputs (`duration_seconds`, `seconds`); hours are decimal strings. You may write
  durations as "90m", "1h30m", "1.5h" or "1:30", and dates as YYYY-MM-DD, "today", "yesterday" or a weekday name
  (the latest such day up to today).
- An entry lasts 1 minute to 24 hours. Overlapping time is {"refused" if workspace.overlap_policy == "forbid" else "allowed"} here.
- {lock} A week that was submitted or approved is locked too, and so is invoiced time. Locked time cannot be
  created, changed or deleted by anyone; only an admin can reopen a week.

## What you may write (agent policy)
- Non-billable time: {nonbillable.mode} ({nonbillable.decided_by} policy).
- Billable time: {billable.mode} ({billable.decided_by} policy). Billable time is never written directly by an agent:
  it becomes a draft that a person accepts or discards in the review queue. Drafts count in no report until accepted.
- "forbid" means the write is refused with the code `forbidden_by_policy`.
- You never change or delete time a person logged, and never anything locked.
- Expenses you log are always drafts.
- Approving or rejecting weeks, invoices, rates, members, connections and settings are for people only.

## How to write safely
- Every write tool takes `dry_run` (check everything, write nothing, see the result and warnings) and
  `idempotency_key` (retry with the same key and you get the first result, never a duplicate).
- Errors come back with `isError: true` and `error.code`: invalid, not_found, locked, conflict,
  forbidden, forbidden_by_policy. Fix the arguments for `invalid`; do not retry the others unchanged.

## Money and privacy
- Amounts are in {workspace.currency}, as decimal strings (e.g. "120.00").
- {sensitive}
"""
    finally:
        refresh_connections()


async def read_guide() -> str:
    return await sync_to_async(guide_text, thread_sensitive=False)(_caller())


def week_in_review(week: str = "today", member_id: int | None = None) -> str:
    """Summarise one member's week (default: yours) from reads only: hours per day and project,
    billable share, drafts waiting for review, and anything unusual."""
    who = f"member {member_id}" if member_id is not None else "me"
    return (
        f"Review the week containing {week!r} for {who}. Read guide://time-and-billing first. Then call "
        f"get_timesheet(week={week!r}{f', member_id={member_id}' if member_id is not None else ''}) and "
        "hours_summary for that week grouped by project. Summarise: total and billable hours, hours per day, "
        "the projects, drafts still in review, days with no time or more than 10 hours, and whether the week "
        "is open, submitted, approved or rejected (with the reason). Only read; change nothing."
    )


def log_my_day(day: str = "today", notes: str = "") -> str:
    """Turn a description of a working day into time entries: propose, dry-run, then log."""
    return (
        f"Help me log my time for {day!r}. Read guide://time-and-billing first, then list_projects and "
        f"list_time_entries(date_from={day!r}, date_to={day!r}) so nothing is logged twice. "
        f"My notes: {notes or '(ask me what I worked on)'}\n"
        "Propose one entry per piece of work (project, task, duration, description, billable). Call log_time "
        "with dry_run=true for each and show me the result and any warnings; log for real only after I confirm, "
        "each with its own idempotency_key. Remember billable entries become drafts for a person to accept."
    )


def register(server: MCPServer[Any]) -> None:
    server.add_resource(
        FunctionResource(
            uri=GUIDE_URI,
            name="time-and-billing",
            title="Time and billing rules of this workspace",
            description="What an agent must know before reading or logging time here: time zone, locks, "
            "agent policy, redaction, units. Generated from the workspace's real settings.",
            mime_type="text/markdown",
            fn=read_guide,
        )
    )
    server.prompt(name="week_in_review", title="Week in review")(week_in_review)
    server.prompt(name="log_my_day", title="Log my day")(log_my_day)
