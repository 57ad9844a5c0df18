"""Every filter the faces offer on time entries reads through an index: asked for a few entries
among thousands, PostgreSQL reads about those few, not the workspace's whole history.

Each case plans the list's real query (``time_entry_list``, which the REST list and the web
pages page through; MCP's ``list_time_entries`` and the reports compile the same scope's filter)
on an analysed table and counts the rows its scans read. A filter without a usable index reads
the busy member's 3 000 entries (or their tags). The index definitions themselves:
``tests/workspaces/test_models.py``."""

from datetime import timedelta

import pytest
from django.db import connection

from tests.factories import ClientFactory, ProjectFactory, TagFactory, TaskFactory, finished_entry
from tests.timesheets.conftest import MONDAY, berlin
from timesheets import selectors

BUSY = 3_000


@pytest.fixture
def history(workspace, member, other_member, project):
    """``member``'s 3 000 recent entries spread over 20 projects of 20 clients, and ``other_member``'s
    three oldest ones on a project, client, task and tag of their own: the rare rows each filter
    asks for. (With the busy time on one project, PostgreSQL would rightly guess that a client has
    half the entries and read the newest first: a workspace has many clients.)"""
    busy_tag = TagFactory(workspace=workspace)
    busy_projects = [project.pk] + [p.pk for p in ProjectFactory.create_batch(19, workspace=workspace)]
    template = finished_entry(member, project, berlin(MONDAY, 9), 3600)
    template.tags.set([busy_tag])
    with connection.cursor() as cursor:
        # one entry every 3 hours back from Monday, straight into the table (the factory would take
        # a minute), each in its own week as TimeEntry.save() keeps it (the workspace's weeks are ISO)
        cursor.execute(
            """
            INSERT INTO timesheets_timeentry (
                workspace_id, member_id, project_id, description, started_at, ended_at, duration_seconds,
                billable, state, source, draft_reason, created_by_id, created_at, updated_at, week_start
            )
            SELECT workspace_id, member_id, (%s::bigint[])[1 + g %% 20], description, started,
                   started + interval '1 hour',
                   3600, billable, state, source, draft_reason, created_by_id, created_at, updated_at,
                   date_trunc('week', started AT TIME ZONE 'Europe/Berlin')::date
            FROM timesheets_timeentry,
                 generate_series(1, %s) AS g,
                 LATERAL (SELECT started_at - g * interval '3 hours' AS started) AS s
            WHERE id = %s
            """,
            [busy_projects, BUSY - 1, template.pk],
        )
        cursor.execute(
            "INSERT INTO timesheets_timeentry_tags (timeentry_id, tag_id)"
            " SELECT id, %s FROM timesheets_timeentry WHERE member_id = %s AND id <> %s",
            [busy_tag.pk, member.pk, template.pk],
        )
    rare_project = ProjectFactory(workspace=workspace, client=ClientFactory(workspace=workspace))
    rare_task = TaskFactory(project=rare_project)
    rare_tag = TagFactory(workspace=workspace)
    oldest = berlin(MONDAY, 9) - timedelta(days=400)
    for day in range(3):
        rare = finished_entry(other_member, rare_project, oldest - timedelta(days=day), 3600, task=rare_task)
        rare.tags.set([rare_tag])
    with connection.cursor() as cursor:
        for table in ("timesheets_timeentry", "timesheets_timeentry_tags", "workspaces_project", "workspaces_task"):
            cursor.execute(f"ANALYZE {table}")  # planned as on a real table, not an empty one
    return {
        "member": other_member,
        "project": rare_project,
        "client": rare_project.client,
        "task": rare_task,
        "tag": rare_tag,
    }


ENTRY_TABLES = {"timesheets_timeentry", "timesheets_timeentry_tags"}


def entry_rows_read(node: dict) -> int:
    """The rows the plan's scans of the entries and their tags read, those a filter threw away included."""
    own = 0
    if node.get("Relation Name") in ENTRY_TABLES and node["Node Type"].endswith("Scan"):
        per_loop = node["Actual Rows"] + node.get("Rows Removed by Filter", 0)
        own = (per_loop + node.get("Rows Removed by Index Recheck", 0)) * node["Actual Loops"]
    return own + sum(entry_rows_read(child) for child in node.get("Plans", []))


def planned(queryset) -> tuple[int, int]:
    """(rows the page's query returned, entry and tag rows its scans read), run under EXPLAIN ANALYZE."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0][0]["Plan"]
    return plan["Actual Rows"], entry_rows_read(plan)


@pytest.mark.parametrize("name", ["member", "project", "client", "task", "tag"])
def test_a_rare_filter_reads_its_few_entries_not_the_workspace(as_admin, history, name):
    page = selectors.time_entry_list(actor=as_admin, **{name: history[name]})[:50]

    returned, read = planned(page)

    assert returned == 3
    assert read <= 2 * 3 + 2, f"read {read} rows for 3 entries"  # a tag's 3 links, then its 3 entries


def test_a_day_reads_its_own_entries_not_the_workspace(as_admin, history):
    day = MONDAY - timedelta(days=30)
    page = selectors.time_entry_list(actor=as_admin, date_from=day, date_to=day)[:50]

    returned, read = planned(page)

    assert returned == 8  # one every 3 hours
    assert read <= 8 + 2, f"read {read} rows for 8 entries"
