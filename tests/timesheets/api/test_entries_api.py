"""REST: time entries (list, filters, export, create, read, PATCH with If-Match, delete) and the timer."""

import csv
import io
import types
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import (
    ClientFactory,
    MembershipFactory,
    ProjectFactory,
    TagFactory,
    TaskFactory,
    TimeEntryFactory,
)
from tests.timesheets.api.conftest import BASE
from tests.timesheets.conftest import MONDAY, berlin
from timesheets.models import EntrySource, TimeEntry

URL = BASE + "time-entries"


def entry_on(member, project, day=MONDAY, hour=9, **kwargs):
    return TimeEntryFactory(member=member, project=project, started_at=berlin(day, hour), **kwargs)


# --- list -----------------------------------------------------------------------------------------


def test_member_lists_own_entries_newest_first(api_as, member, other_member, project):
    older = entry_on(member, project, hour=9)
    newer = entry_on(member, project, hour=11)
    entry_on(other_member, project)

    body = api_as(member).get(URL).json()

    assert [row["id"] for row in body["results"]] == [newer.pk, older.pk]
    row = body["results"][0]
    assert (row["member"], row["member_username"], row["project_name"]) == (member.pk, "member", "Website")
    assert (row["duration_seconds"], row["state"], row["source"], row["connection"]) == (3600, "active", "web", None)


def test_filters(api_as, manager, member, other_member, project, workspace):
    tag = TagFactory(workspace=workspace)
    task = TaskFactory(project=project)
    client2 = ClientFactory(workspace=workspace)
    project2 = ProjectFactory(workspace=workspace, client=client2, team=[member])
    tagged = entry_on(member, project, hour=9, task=task, billable=False)
    tagged.tags.add(tag)
    other = entry_on(other_member, project2, day=MONDAY + timedelta(days=2))
    api = api_as(manager)

    def ids(**query):
        response = api.get(URL, query)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids(member=other_member.pk) == [other.pk]
    assert ids(project=project2.pk) == [other.pk]
    assert ids(client=client2.pk) == [other.pk]
    assert ids(task=task.pk) == [tagged.pk]
    assert ids(tag=tag.pk) == [tagged.pk]
    assert ids(billable="false") == [tagged.pk]
    assert ids(state="draft") == []
    assert ids(date_from="2026-06-02") == [other.pk]
    assert ids(date_to="2026-06-01") == [tagged.pk]


def test_dates_are_cut_in_the_workspace_time_zone(api_as, member, project):
    # 00:30 in Berlin on 2 June is still 1 June in UTC.
    late = TimeEntryFactory(member=member, project=project, started_at=berlin(MONDAY + timedelta(days=1), 0, 30))

    body = api_as(member).get(URL, {"date_from": "2026-06-02", "date_to": "2026-06-02"}).json()

    assert [row["id"] for row in body["results"]] == [late.pk]


def test_another_workspaces_ids_as_filters_show_nothing_of_it(api_as, manager, member, project):
    entry_on(member, project)
    foreign_member = MembershipFactory()
    foreign_project = ProjectFactory(workspace=foreign_member.workspace)
    foreign_entry = entry_on(foreign_member, foreign_project)
    foreign_tag = TagFactory(workspace=foreign_member.workspace)
    api = api_as(manager)

    for name, value in {
        "member": foreign_member.pk,
        "project": foreign_project.pk,
        "client": foreign_project.client_id,
        "tag": foreign_tag.pk,
    }.items():
        response = api.get(URL, {name: value})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid"
        assert list(response.json()["error"]["fields"]) == [name]
    assert foreign_entry.pk not in [row["id"] for row in api.get(URL).json()["results"]]


def test_member_filtering_on_a_colleague_is_forbidden(api_as, member, other_member):
    response = api_as(member).get(URL, {"member": other_member.pk})

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("rows", [1, 50])
def test_list_runs_a_constant_number_of_queries(
    api_as, member, project, workspace, rows, django_assert_max_num_queries
):
    tag = TagFactory(workspace=workspace)
    task = TaskFactory(project=project)
    for i in range(rows):
        entry_on(member, project, day=MONDAY + timedelta(days=i % 5), hour=6 + i // 5, task=task).tags.add(tag)
    api = api_as(member)

    with django_assert_max_num_queries(12):
        response = api.get(URL, {"limit": 50})

    assert len(response.json()["results"]) == rows


def test_cost_is_redacted_for_members_and_shown_to_admins(api_as, member, admin, project):
    entry_on(member, project, billable_rate=Decimal("100.00"), cost_rate=Decimal("40.00"))

    as_member = api_as(member).get(URL).json()["results"][0]
    as_admin = api_as(admin).get(URL).json()["results"][0]

    assert (as_member["cost_rate"], as_member["cost_amount"], as_member["redacted"]) == (
        None,
        None,
        ["cost_rate", "cost_amount"],
    )
    assert as_member["billable_amount"] == "100.00"
    assert (as_admin["cost_rate"], as_admin["cost_amount"], as_admin["redacted"]) == ("40.00", "40.00", [])


# --- export ---------------------------------------------------------------------------------------


def test_csv_export_is_streamed_from_a_generator(api_as, member, project):
    entries = [entry_on(member, project, hour=h, description=f"work {h}") for h in (9, 11)]

    response = api_as(member).get(URL, {"format": "csv", "date_from": "2026-06-01"})

    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response.streaming
    # The body comes from a generator (rows read in chunks), not from a list built in memory.
    assert isinstance(getattr(response, "_iterator"), types.GeneratorType)  # noqa: B009 - private, no stub
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = response.getvalue().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:5] == ["id", "date", "start", "end", "hours"]
    assert [(int(r[0]), r[4], r[9]) for r in rows[1:]] == [(e.pk, "1.00", e.description) for e in reversed(entries)]


def test_xlsx_export(api_as, member, project):
    entry_on(member, project)

    response = api_as(member).get(URL, {"format": "xlsx"})

    assert response.streaming
    assert response.getvalue()[:2] == b"PK"  # a zip container


def test_unknown_format_is_invalid(api_as, member):
    response = api_as(member).get(URL, {"format": "pdf"})
    assert (response.status_code, response.json()["error"]["fields"]) == (400, {"format": ["Use csv, xlsx or json."]})


# --- create -------------------------------------------------------------------------------------


def test_create_with_start_and_end(api_as, member, project, workspace):
    tag = TagFactory(workspace=workspace)

    response = api_as(member).post(
        URL,
        {
            "project": project.pk,
            "started_at": "2026-06-01T09:00:00+02:00",
            "ended_at": "2026-06-01T10:30:00+02:00",
            "description": "Kick-off",
            "billable": False,
            "tags": [tag.pk],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    entry = TimeEntry.objects.get(pk=body["id"])
    assert (entry.duration_seconds, entry.billable, entry.source, entry.description) == (
        5400,
        False,
        EntrySource.API,
        "Kick-off",
    )
    assert entry.connection is not None
    assert entry.connection.user == member.user
    assert body["connection"] == entry.connection_id
    assert body["tags"] == [{"id": tag.pk, "name": tag.name}]
    assert response["ETag"]


@pytest.mark.parametrize("workspace_default", [True, False])
def test_a_project_without_a_billable_default_takes_the_workspaces_without_reading_it(
    api_as, member, project, workspace, workspace_default
):
    workspace.default_billable = workspace_default
    workspace.save(update_fields=["default_billable"])
    assert project.billable_by_default is None
    api = api_as(member)
    body = {"project": project.pk, "date": "2026-06-01", "duration_seconds": 60}
    api.post(URL, body, format="json")  # warm: the key's first use reads more

    with CaptureQueriesContext(connection) as logged:
        response = api.post(URL, body, format="json")

    assert response.status_code == 201
    assert response.json()["billable"] is workspace_default
    # the project is found in the caller's workspace: it is not read again, under the member's lock
    assert [q["sql"] for q in logged.captured_queries if 'FROM "workspaces_workspace"' in q["sql"]] == []


def test_create_with_date_and_duration_stacks_after_the_days_entries(api_as, member, project):
    entry_on(member, project, hour=9)  # 09:00–10:00 Berlin
    api = api_as(member)

    first = api.post(URL, {"project": project.pk, "date": "2026-06-01", "duration_seconds": 1800}, format="json")
    second = api.post(URL, {"project": project.pk, "date": "2026-06-01", "duration_seconds": 600}, format="json")

    assert (first.status_code, second.status_code) == (201, 201)
    assert (first.json()["started_at"], first.json()["ended_at"]) == ("2026-06-01T08:00:00Z", "2026-06-01T08:30:00Z")
    assert (second.json()["started_at"], second.json()["ended_at"]) == ("2026-06-01T08:30:00Z", "2026-06-01T08:40:00Z")


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"started_at"}),
        ({"started_at": "2026-06-01T09:00:00+02:00"}, {"ended_at"}),
        ({"date": "2026-06-01"}, {"duration_seconds"}),
        (
            {"date": "2026-06-01", "duration_seconds": 60, "started_at": "2026-06-01T09:00:00Z"},
            {"date", "duration_seconds", "started_at"},
        ),
        ({"started_at": "2026-06-01T09:00:00", "ended_at": "2026-06-01T10:00:00Z"}, {"started_at"}),
        ({"date": "2026-06-01", "duration_seconds": 0}, {"duration_seconds"}),
        ({"date": "2026-06-01", "duration_seconds": 60, "rate": "1"}, {"rate"}),
    ],
)
def test_create_refuses_bad_input(api_as, member, project, body, fields):
    response = api_as(member).post(URL, {"project": project.pk, **body}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert set(response.json()["error"]["fields"]) == fields
    assert not TimeEntry.objects.exists()


def test_member_cannot_log_on_a_project_outside_their_team(api_as, member, workspace):
    elsewhere = ProjectFactory(workspace=workspace)

    response = api_as(member).post(
        URL, {"project": elsewhere.pk, "date": "2026-06-01", "duration_seconds": 60}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["project"]


def test_manager_logs_for_a_member(api_as, manager, member, project):
    response = api_as(manager).post(
        URL, {"project": project.pk, "member": member.pk, "date": "2026-06-01", "duration_seconds": 60}, format="json"
    )

    assert response.status_code == 201
    assert TimeEntry.objects.get().member == member


def test_member_cannot_log_for_a_colleague(api_as, member, other_member, project):
    response = api_as(member).post(
        URL,
        {"project": project.pk, "member": other_member.pk, "date": "2026-06-01", "duration_seconds": 60},
        format="json",
    )

    assert (response.status_code, response.json()["error"]["code"]) == (403, "forbidden")


# --- one entry ------------------------------------------------------------------------------------


def test_patch_with_a_stale_etag_is_412(api_as, member, project):
    entry = entry_on(member, project)
    api = api_as(member)
    etag = api.get(f"{URL}/{entry.pk}")["ETag"]

    first = api.patch(f"{URL}/{entry.pk}", {"description": "one"}, format="json", HTTP_IF_MATCH=etag)
    stale = api.patch(f"{URL}/{entry.pk}", {"description": "two"}, format="json", HTTP_IF_MATCH=etag)

    assert first.status_code == 200
    assert first.json()["description"] == "one"
    assert (stale.status_code, stale.json()["error"]["code"]) == (412, "precondition_failed")
    entry.refresh_from_db()
    assert entry.description == "one"


def test_patch_moves_an_entry(api_as, member, project):
    entry = entry_on(member, project)

    response = api_as(member).patch(
        f"{URL}/{entry.pk}",
        {"started_at": "2026-06-02T09:00:00+02:00", "ended_at": "2026-06-02T09:15:00+02:00"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["duration_seconds"] == 900


def test_patch_refuses_unknown_fields(api_as, member, project):
    entry = entry_on(member, project)

    response = api_as(member).patch(f"{URL}/{entry.pk}", {"member": 1, "state": "active"}, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"member", "state"}


def test_delete(api_as, member, project):
    entry = entry_on(member, project)

    response = api_as(member).delete(f"{URL}/{entry.pk}")

    assert response.status_code == 204
    assert not TimeEntry.objects.exists()


def test_another_workspaces_entry_is_not_found(api_as, owner):
    foreign = TimeEntryFactory()

    for response in (
        api_as(owner).get(f"{URL}/{foreign.pk}"),
        api_as(owner).delete(f"{URL}/{foreign.pk}"),
    ):
        assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    assert TimeEntry.objects.filter(pk=foreign.pk).exists()


# --- the timer ------------------------------------------------------------------------------------


def test_timer_round_trip(api_as, member, project):
    api = api_as(member)

    assert api.get(BASE + "timer").json() == {"entry": None}
    started = api.post(BASE + "timer/start", {"project": project.pk, "description": "Focus"}, format="json")
    assert started.status_code == 201
    assert started.json()["ended_at"] is None
    running = api.get(BASE + "timer").json()["entry"]
    assert (running["id"], running["description"]) == (started.json()["id"], "Focus")
    again = api.post(BASE + "timer/start", {"project": project.pk}, format="json")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "conflict")
    stopped = api.post(BASE + "timer/stop", {}, format="json")
    assert stopped.status_code == 200
    assert stopped.json()["duration_seconds"] >= 1
    nothing = api.post(BASE + "timer/stop", {}, format="json")
    assert (nothing.status_code, nothing.json()["error"]["code"]) == (409, "conflict")


def test_manager_reads_a_members_timer(api_as, manager, member, project):
    running = TimeEntryFactory(member=member, project=project, started_at=timezone.now(), ended_at=None)

    body = api_as(manager).get(BASE + "timer", {"member": member.pk}).json()

    assert body["entry"]["id"] == running.pk


@pytest.mark.parametrize("times", ["clock", "day"])
def test_a_new_entry_answers_as_it_reads_back_without_reading_it_back(api_as, member, project, times):
    api = api_as(member)
    body: dict[str, Any] = {"project": project.pk, "description": "Design", "billable": True}
    if times == "clock":
        body |= {"started_at": "2026-06-01T09:00:00Z", "ended_at": "2026-06-01T10:30:00Z"}
    else:
        body |= {"date": "2026-06-02", "duration_seconds": 5400}
    api.get(BASE + "timer")  # warm: the key's first use reads more

    with CaptureQueriesContext(connection) as logged:
        created = api.post(BASE + "time-entries", body, format="json")
    statements = [q["sql"] for q in logged.captured_queries]  # before another request clears the log

    assert created.status_code == 201
    assert created.json() == api.get(BASE + f"time-entries/{created.json()['id']}").json()
    assert created.json()["duration_seconds"] == 5400
    inserted = [number for number, sql in enumerate(statements) if sql.startswith('INSERT INTO "timesheets_timeentry"')]
    assert len(inserted) == 1
    # nothing of the entry is read after its INSERT (its generated money column neither)
    assert [sql for sql in statements[inserted[0] :] if sql.startswith("SELECT")] == []


@pytest.mark.parametrize("with_task", [False, True])
def test_a_started_timer_answers_as_it_reads_back_without_reading_it_back(api_as, member, project, with_task):
    api = api_as(member)
    body = {"project": project.pk, "description": "Focus", "billable": True}
    if with_task:
        body["task"] = TaskFactory(project=project).pk
    api.get(BASE + "timer")  # warm: the key's first use reads more

    with CaptureQueriesContext(connection) as logged:
        started = api.post(BASE + "timer/start", body, format="json")
    statements = [q["sql"] for q in logged.captured_queries]  # before another request clears the log

    assert started.status_code == 201
    assert started.json() == api.get(BASE + "timer").json()["entry"]  # as every later read shows it
    inserted = [number for number, sql in enumerate(statements) if sql.startswith('INSERT INTO "timesheets_timeentry"')]
    assert len(inserted) == 1
    # nothing of the entry is read after its INSERT: it answers from the instance
    assert [sql for sql in statements[inserted[0] :] if sql.startswith("SELECT")] == []
