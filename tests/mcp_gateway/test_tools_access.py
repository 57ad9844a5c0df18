"""Who sees which tool, and isolation: another workspace's ids are not found by any argument."""

from __future__ import annotations

import pytest

from mcp_gateway.registry import CATALOGUE, visible
from tests.mcp_gateway.helpers import agent, call, error_code

pytestmark = pytest.mark.django_db


# --- who sees which tool -------------------------------------------------------------------------


def names(principal) -> set[str]:
    return {name for name, spec in CATALOGUE.items() if visible(spec, principal)}


def test_the_tool_list_follows_scopes_and_role(owner, manager, member):
    writes = {n for n, s in CATALOGUE.items() if s.write}
    read_member = names(agent(member, scopes="read"))
    assert not read_member & writes
    assert {"profitability_report", "list_audit_events", "unbilled_time", "list_invoices"}.isdisjoint(read_member)
    assert "list_time_entries" in read_member

    assert {"log_time", "submit_timesheet"} <= names(agent(member))
    assert {"create_client", "create_project"}.isdisjoint(names(agent(member)))
    assert {"create_client", "create_project", "unbilled_time"} <= names(agent(manager))

    owner_plain = names(agent(owner, scopes="read write admin"))
    assert "list_audit_events" in owner_plain
    assert "profitability_report" not in owner_plain
    assert "profitability_report" in names(agent(owner, scopes="read write admin", allow_sensitive=True))
    assert "list_audit_events" not in names(agent(owner, scopes="read write", allow_sensitive=True))
    assert len(CATALOGUE) == 29


# --- isolation -----------------------------------------------------------------------------------


def test_another_workspaces_ids_are_not_found_by_any_argument(manager, member, billable_project, elsewhere):
    caller = agent(manager, scopes="read write")
    for name, arguments in [
        ("get_client", {"client_id": elsewhere["client"].pk}),
        ("get_project", {"project_id": elsewhere["project"].pk}),
        ("list_tasks", {"project_id": elsewhere["project"].pk}),
        ("list_projects", {"client_id": elsewhere["client"].pk}),
        ("list_time_entries", {"member_id": elsewhere["member"].pk}),
        ("list_time_entries", {"project_id": elsewhere["project"].pk}),
        ("get_timesheet", {"member_id": elsewhere["member"].pk}),
        ("hours_summary", {"project_id": elsewhere["project"].pk}),
        ("budget_health", {"project_id": elsewhere["project"].pk}),
        ("list_expenses", {"project_id": elsewhere["project"].pk}),
        ("get_invoice", {"invoice_id": 10**6}),
        ("log_time", {"project_id": elsewhere["project"].pk, "duration": "1h"}),
        ("start_timer", {"project_id": elsewhere["project"].pk}),
        ("update_time_entry", {"entry_id": elsewhere["entry"].pk, "description": "x"}),
        ("delete_time_entry", {"entry_id": elsewhere["entry"].pk}),
        ("log_expense", {"project_id": elsewhere["project"].pk, "amount": "1.00", "category": "x"}),
        ("create_project", {"name": "x", "client_id": elsewhere["client"].pk}),
    ]:
        assert error_code(call(caller, name, **arguments)) == "not_found", (name, arguments)
    elsewhere["entry"].refresh_from_db()
    assert elsewhere["entry"].description == ""
