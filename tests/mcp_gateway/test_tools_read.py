"""Read tools in-process (the gateway's own call path): their data, redaction, and a constant
number of queries whatever the number of rows."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import anyio
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pydantic import BaseModel

from mcp_gateway.audit_detail import redacted_fields
from mcp_gateway.registry import CATALOGUE, Call, output_model
from mcp_gateway.server import build_server, sdk_tools
from tests.factories import (
    ClientFactory,
    MembershipFactory,
    ProjectFactory,
    TagFactory,
    TimeEntryFactory,
)
from tests.mcp_gateway.conftest import YESTERDAY_NOON, human_entry
from tests.mcp_gateway.helpers import agent, call, connection_of, error_code, ok
from workspaces.models import AuditEvent, Role
from workspaces.principals import Principal

pytestmark = pytest.mark.django_db


def test_get_context_tells_the_agent_who_where_and_which_rules(workspace, member):
    caller = agent(member, agent_billable_policy="forbid")
    data = ok(call(caller, "get_context"))
    assert data["workspace"]["slug"] == "acme"
    assert data["workspace"]["timezone"] == "Europe/Berlin"
    assert data["caller"] == {
        "member_id": member.pk,
        "username": "member",
        "role": "member",
        "scopes": ["read", "write"],
        "connection_id": connection_of(caller).pk,
        "connection_label": connection_of(caller).label,
    }
    assert data["governance"] == {
        "sensitive_visible": False,
        "agent_nonbillable_policy": "direct",
        "agent_billable_policy": "forbid",
    }
    assert data["today"] == timezone.localtime(timezone.now(), workspace.tzinfo).date().isoformat()


def test_list_time_entries_defaults_to_the_callers_own_and_pages(member, other_member, billable_project):
    mine = [human_entry(member, billable_project, started_at=YESTERDAY_NOON - timedelta(days=i)) for i in range(3)]
    human_entry(other_member, billable_project)
    caller = agent(member)

    first = ok(call(caller, "list_time_entries", limit=2))
    assert [e["id"] for e in first["items"]] == [mine[0].pk, mine[1].pk]
    assert first["items"][0]["duration_seconds"] == 3600
    assert first["items"][0]["billable_amount"] == "100.00"
    second = ok(call(caller, "list_time_entries", limit=2, cursor=first["next_cursor"]))
    assert [e["id"] for e in second["items"]] == [mine[2].pk]
    assert second["next_cursor"] is None

    assert error_code(call(caller, "list_time_entries", cursor="garbage")) == "invalid"
    # A member cannot read a colleague's time; a manager can.
    assert error_code(call(caller, "list_time_entries", member_id=other_member.pk)) == "forbidden"


def test_a_manager_lists_a_colleagues_entries_without_looking_the_member_up(
    manager, member, other_member, billable_project, elsewhere
):
    """The page proves the member is in this workspace; only an empty page asks who it is."""
    theirs = [human_entry(member, billable_project, started_at=YESTERDAY_NOON - timedelta(days=i)) for i in range(2)]
    human_entry(other_member, billable_project)
    caller = agent(manager)
    ok(call(caller, "list_time_entries", member_id=member.pk))  # warm: the audit touches last_used_at

    with CaptureQueriesContext(connection) as captured:
        page = ok(call(caller, "list_time_entries", member_id=member.pk))
    assert [e["id"] for e in page["items"]] == [e.pk for e in theirs]
    assert {e["member"] for e in page["items"]} == {member.pk}
    reads = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT")]
    assert len(reads) == 1  # the page, with its tags
    assert 'FROM "timesheets_timeentry"' in reads[0]
    assert 'FROM "workspaces_membership"' not in reads[0]

    # No entries in the period: an empty page for a colleague, "not found" for anyone else.
    assert ok(call(caller, "list_time_entries", member_id=member.pk, date_from="today"))["items"] == []
    assert error_code(call(caller, "list_time_entries", member_id=elsewhere["member"].pk)) == "not_found"
    assert error_code(call(caller, "list_time_entries", member_id=10**9)) == "not_found"


def test_list_time_entries_filters(member, billable_project, internal_project):
    billable = human_entry(member, billable_project)
    internal = human_entry(member, internal_project, started_at=YESTERDAY_NOON + timedelta(hours=2))
    caller = agent(member)
    assert [e["id"] for e in ok(call(caller, "list_time_entries", billable=False))["items"]] == [internal.pk]
    assert [e["id"] for e in ok(call(caller, "list_time_entries", project_id=billable_project.pk))["items"]] == [
        billable.pk
    ]
    yesterday = (YESTERDAY_NOON).astimezone(member.workspace.tzinfo).date().isoformat()
    assert len(ok(call(caller, "list_time_entries", date_from=yesterday, date_to=yesterday))["items"]) == 2
    assert ok(call(caller, "list_time_entries", date_from="today"))["items"] == []


def test_cost_data_is_redacted_without_sensitive_and_shown_with_it(admin, member, billable_project):
    human_entry(member, billable_project)
    blind = ok(call(agent(admin), "list_time_entries", member_id=member.pk))["items"][0]
    assert blind["cost_rate"] is None
    assert blind["cost_amount"] is None
    assert blind["redacted"] == ["cost_rate", "cost_amount"]

    seeing = ok(call(agent(admin, allow_sensitive=True), "list_time_entries", member_id=member.pk))["items"][0]
    assert (seeing["cost_rate"], seeing["cost_amount"], seeing["redacted"]) == ("40.00", "40.00", [])

    members = ok(call(agent(admin), "list_members"))["items"]
    assert all(m["cost_rate"] is None and m["email"] is None for m in members)
    assert set(members[0]["redacted"]) == {"cost_rate", "email"}
    members = ok(call(agent(admin, allow_sensitive=True), "list_members"))["items"]
    assert any(m["cost_rate"] == "40.00" for m in members)
    assert all(m["email"] for m in members)


def test_client_contact_data_is_redacted_without_sensitive(workspace, admin):
    client = ClientFactory(workspace=workspace, name="Nordlicht", contact_email="pay@nordlicht.test")
    blind = ok(call(agent(admin), "get_client", client_id=client.pk))
    assert blind["contact_email"] is None
    assert "contact_email" in blind["redacted"]
    seeing = ok(call(agent(admin, allow_sensitive=True), "get_client", client_id=client.pk))
    assert seeing["contact_email"] == "pay@nordlicht.test"
    assert seeing["redacted"] == []


def test_projects_come_with_team_and_budget_burn(manager, member, billable_project):
    human_entry(member, billable_project, hours=4)
    project = ok(call(agent(manager), "get_project", project_id=billable_project.pk))
    assert set(project["team"]) == {m.pk for m in billable_project.team.all()}
    assert project["budget"]["used_hours"] == "4.00"
    assert project["budget"]["budget_hours"] == "10.00"
    assert project["budget"]["percent"] == "40.00"
    listed = ok(call(agent(manager), "list_projects"))["items"]
    assert [p["budget"]["used_hours"] for p in listed if p["id"] == billable_project.pk] == ["4.00"]


def test_get_timesheet_totals_the_week(member, billable_project):
    entry = human_entry(member, billable_project, hours=2)
    local_day = entry.started_at.astimezone(member.workspace.tzinfo).date()
    week = ok(call(agent(member), "get_timesheet", week=local_day.isoformat()))
    assert week["status"] == "open"
    assert week["total_seconds"] == 7200
    assert {d["date"]: d["seconds"] for d in week["days"]}[local_day.isoformat()] == 7200
    assert week["projects"] == [{"project_id": billable_project.pk, "project_name": "Website", "seconds": 7200}]


def test_reports_and_billing_reads(workspace, owner, member, billable_project):
    human_entry(member, billable_project, hours=3)
    caller = agent(owner, scopes="read write admin", allow_sensitive=True)
    start = (YESTERDAY_NOON - timedelta(days=1)).date().isoformat()
    hours = ok(call(caller, "hours_summary", date_from=start, date_to="today", group_by="member"))
    assert [(r["label"], r["seconds"]) for r in hours["rows"]] == [("member", 10800)]
    util = ok(call(caller, "utilization_report", date_from=start, date_to="today"))
    assert {r["username"]: r["billable_seconds"] for r in util["rows"]}["member"] == 10800
    budget = ok(call(caller, "budget_health"))
    assert [r["used_hours"] for r in budget["rows"]] == ["3.00"]
    profit = ok(call(caller, "profitability_report", date_from=start, date_to="today"))
    assert (profit["revenue"], profit["cost"], profit["margin"]) == ("300.00", "120.00", "180.00")
    assert ok(call(caller, "unbilled_time"))["amount"] == "0.00"  # not approved yet
    assert ok(call(caller, "list_invoices"))["items"] == []
    assert ok(call(caller, "list_expenses"))["items"] == []
    events = ok(call(caller, "list_audit_events", action="time_entry."))["items"]
    assert [e["action"] for e in events] == ["time_entry.create"]


# --- a constant number of queries ------------------------------------------------------------------


READS = [
    ("get_context", {}),
    ("list_members", {}),
    ("list_clients", {}),
    ("list_projects", {}),
    ("list_tasks", {}),
    ("list_tags", {}),
    ("list_time_entries", {}),
    ("get_timer", {}),
    ("get_timesheet", {"week": "yesterday"}),
    ("hours_summary", {"date_from": "2025-01-01", "date_to": "today"}),
    ("utilization_report", {"date_from": "2025-01-01", "date_to": "today"}),
    ("budget_health", {}),
    ("unbilled_time", {}),
    ("profitability_report", {"date_from": "2025-01-01", "date_to": "today"}),
    ("list_invoices", {}),
    ("list_expenses", {}),
    ("list_audit_events", {}),
]


def _grow(workspace, owner, rows: int) -> None:
    """``rows`` more of everything a read tool lists."""
    for _ in range(rows):
        member = MembershipFactory(workspace=workspace, role=Role.MEMBER)
        client = ClientFactory(workspace=workspace)
        project = ProjectFactory(workspace=workspace, client=client, budget_hours=Decimal("5"), team=[member, owner])
        project.tasks.create(name="Work")
        TagFactory(workspace=workspace)
        TimeEntryFactory(member=owner, project=project, started_at=YESTERDAY_NOON - timedelta(hours=len(project.name)))
        TimeEntryFactory(member=member, project=project)


@pytest.mark.parametrize(("name", "arguments"), READS, ids=[name for name, _ in READS])
def test_read_tools_run_a_constant_number_of_queries(name, arguments, workspace, owner):
    caller = agent(owner, scopes="read write admin", allow_sensitive=True)

    def queries() -> int:
        ok(call(caller, name, **arguments))  # warm: the audit touches last_used_at once a minute
        with CaptureQueriesContext(connection) as captured:
            ok(call(caller, name, **arguments))
        return len(captured)

    _grow(workspace, owner, 1)
    few = queries()
    _grow(workspace, owner, 49)
    assert queries() == few


def test_list_audit_events_uses_the_audit_log_filters(owner, member, billable_project):
    caller = agent(owner, scopes="read write admin")
    human_entry(member, billable_project)
    ok(call(caller, "get_context"))
    mcp_events = ok(call(caller, "list_audit_events", channel="mcp"))["items"]
    assert [e["action"] for e in mcp_events] == ["mcp.tool.get_context"]
    today = ok(call(caller, "list_audit_events", since="today", action="time_entry."))["items"]
    assert [e["action"] for e in today] == ["time_entry.create"]
    assert ok(call(caller, "list_audit_events", until="yesterday", action="time_entry."))["items"] == []
    assert error_code(call(caller, "list_audit_events", connection_id=10**6)) == "invalid"


class _Tag(BaseModel):
    id: int
    redacted: list[str] = []


class _Row(BaseModel):
    id: int
    redacted: list[str] = []
    tags: list[_Tag] = []
    detail: dict[str, Any] = {}


class _Answer(BaseModel):
    redacted: list[str] = []
    items: list[_Row] = []
    best: _Row | None = None
    note: dict[str, Any] = {}


def test_the_audit_names_the_redacted_fields_the_output_model_declares_wherever_they_sit():
    answer = _Answer(
        redacted=["cost_rate"],
        items=[
            _Row(id=1, redacted=["cost_amount"], tags=[_Tag(id=2, redacted=["email"])]),
            _Row(id=3, detail={"redacted": ["not", "this", "answer's"]}),
        ],
        best=_Row(id=4, redacted=["margin"]),
        note={"redacted": ["free-form data"], "deeper": {"redacted": ["nor", "this"]}},
    ).model_dump(mode="json")

    assert redacted_fields(answer, _Answer) == {"cost_rate", "cost_amount", "email", "margin"}
    assert redacted_fields(_Answer().model_dump(mode="json"), _Answer) == set()
    assert redacted_fields({"items": [{"id": 1}]}, _Row) == set()


def test_every_tool_says_where_its_answers_hold_redacted_fields():
    """Read once per output model from its schema; a model nested in itself would refuse."""
    for spec in CATALOGUE.values():
        model = output_model(spec.fn)
        assert redacted_fields(model.model_construct().model_dump(mode="json", warnings=False), model) == set()


def test_an_agent_reading_the_audit_trail_is_not_told_its_answer_was_redacted(owner, member, billable_project):
    human_entry(member, billable_project)
    reader = agent(member)
    ok(call(reader, "list_time_entries", member_id=member.pk))
    (listing,) = AuditEvent.objects.filter(connection=connection_of(reader), action="mcp.tool.list_time_entries")
    assert listing.detail["redacted"] == ["cost_amount", "cost_rate"]

    admin = agent(owner, scopes="read write admin")
    events = ok(call(admin, "list_audit_events", action="mcp.tool.list_time_entries"))["items"]
    assert [event["detail"]["redacted"] for event in events] == [listing.detail["redacted"]]
    (audited,) = AuditEvent.objects.filter(connection=connection_of(admin), action="mcp.tool.list_audit_events")
    assert audited.detail["redacted"] == []


def test_a_result_that_is_not_the_declared_output_model_is_refused(member):
    """The SDK publishes each tool's outputSchema but leaves checking results to Call: a tool
    answering with any other model (even one with the same fields) is a bug, never a result."""
    spec = CATALOGUE["get_context"]
    declared = output_model(spec.fn)
    principal = agent(member)
    real = spec.fn(principal)

    class LookAlike(declared):  # type: ignore[misc,valid-type]
        pass

    def get_context(caller: object) -> BaseModel:
        return LookAlike.model_validate(real.model_dump())

    get_context.__annotations__["return"] = declared  # declares the real model, answers another
    wrong = replace(spec, fn=get_context)
    with pytest.raises(TypeError, match=f"get_context returned LookAlike, not {declared.__name__}"):
        Call(wrong, principal, {}, {}).run()
    assert ok(Call(spec, principal, {}, {}).run())["workspace"]["slug"] == member.workspace.slug


def test_the_sdk_publishes_each_schema_and_does_not_validate_results_again():
    published = {tool.name: tool.output_schema for tool in anyio.run(build_server().list_tools)}
    tools = sdk_tools()
    assert [tool.name for tool in tools] == list(CATALOGUE)
    assert set(published) == set(CATALOGUE)
    for tool in tools:
        assert tool.fn_metadata.output_schema is not None, tool.name
        assert published[tool.name] == tool.fn_metadata.output_schema, tool.name
        assert tool.fn_metadata.output_model is None, tool.name


def _untyped(schema: Any, path: str = "") -> list[str]:
    """Where a published schema accepts anything: an empty schema, or an ``anyOf`` holding one."""
    if isinstance(schema, list):
        return [hole for i, item in enumerate(schema) for hole in _untyped(item, f"{path}[{i}]")]
    if not isinstance(schema, dict):
        return []
    if schema == {}:
        return [path]
    return [hole for key, value in schema.items() for hole in _untyped(value, f"{path}/{key}")]


def _published() -> dict[str, dict[str, Any]]:
    return {tool.name: tool.output_schema or {} for tool in anyio.run(build_server().list_tools)}


def test_every_published_output_field_has_a_type():
    """Method fields take their type from ``@extend_schema_field`` or the method's return
    annotation: money is a decimal string, flags are booleans, never "anything"."""
    published = _published()

    assert {name: _untyped(schema) for name, schema in published.items() if _untyped(schema)} == {}
    entry = published["list_time_entries"]["properties"]["items"]["items"]["properties"]
    for money in ("billable_amount", "cost_amount"):
        assert (entry[money]["type"], entry[money]["pattern"]) == (["string", "null"], r"^-?\d+(\.\d+)?$")
    assert entry["invoiced"]["type"] == ["boolean", "null"]
    invoice = published["get_invoice"]["properties"]
    assert invoice["pdf_ready"]["type"] == ["boolean", "null"]
    expense = published["list_expenses"]["properties"]["items"]["items"]["properties"]
    assert (expense["has_receipt"]["type"], expense["invoiced"]["type"]) == (["boolean", "null"], ["boolean", "null"])


def test_a_page_of_entries_validates_against_its_published_schema(member, billable_project):
    """What a client checks: a billable entry's amount (a string) and a withheld cost (null) both fit."""
    import jsonschema

    human_entry(member, billable_project, hours=2)
    schema = _published()["list_time_entries"]
    page = ok(call(agent(member), "list_time_entries"))

    [item] = page["items"]
    assert (item["billable_amount"], item["cost_amount"], item["invoiced"]) == ("200.00", None, False)
    jsonschema.validate(page, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**page, "items": [{**item, "billable_amount": 200}]}, schema)


def test_a_forged_cursor_is_invalid_and_an_entry_on_the_page_boundary_is_neither_lost_nor_repeated(
    member, billable_project
):
    """Entries starting at the same moment are ordered by id; a page boundary between them keeps
    both (the cursor's values are bound into the page's compiled query)."""
    same_start = [human_entry(member, billable_project, started_at=YESTERDAY_NOON) for _ in range(3)]
    caller = agent(member)
    first = ok(call(caller, "list_time_entries", limit=2))
    second = ok(call(caller, "list_time_entries", limit=2, cursor=first["next_cursor"]))
    seen = [e["id"] for page in (first, second) for e in page["items"]]
    assert second["next_cursor"] is None
    assert seen == sorted((e.pk for e in same_start), reverse=True)

    forged = base64.urlsafe_b64encode(json.dumps(["not a moment", 1]).encode()).decode()
    assert error_code(call(caller, "list_time_entries", cursor=forged)) == "invalid"


def test_a_tool_that_crashes_is_audited_once_as_an_error_not_as_refused_arguments(member):
    def crash(caller: Principal, **arguments: Any) -> BaseModel:
        raise ZeroDivisionError("a bug")

    notes: dict[str, Any] = {}
    spec = replace(CATALOGUE["list_time_entries"], fn=crash)
    with pytest.raises(ZeroDivisionError):
        Call(spec, agent(member), {}, notes).run()
    events = list(AuditEvent.objects.filter(action="mcp.tool.list_time_entries"))
    assert [(e.outcome, e.detail["code"], e.detail["error"]) for e in events] == [
        ("error", "error", "ZeroDivisionError")
    ]
    assert notes == {"audited": True}  # so the gateway does not audit the SDK's isError answer again
