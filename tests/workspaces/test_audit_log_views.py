"""The audit log page and its CSV export: admins of the workspace only, filters, cursor pages,
constant queries, and a streamed download under WSGI and ASGI."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connections
from django.test import AsyncClient
from django.urls import reverse
from django.utils import timezone

from tests.factories import AuditEventFactory, ConnectionFactory, MembershipFactory, UserFactory, WorkspaceFactory
from workspaces.models import AuditEvent, Channel, Outcome, Role

pytestmark = pytest.mark.django_db

LOG = reverse("audit-log", args=["acme"])
CSV = reverse("audit-log-csv", args=["acme"])


@pytest.fixture
def as_admin_client(client, admin):
    client.force_login(admin.user)
    return client


def listed(response) -> list[str]:
    """Actions shown in the log table, in order."""
    return [e.action for e in response.context["events"]]


def csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def test_admins_see_their_workspaces_events_newest_first(as_admin_client, workspace):
    now = timezone.now()
    AuditEventFactory(workspace=workspace, action="project.create", created_at=now - timedelta(hours=2))
    AuditEventFactory(workspace=workspace, action="project.update", created_at=now - timedelta(hours=1))
    AuditEventFactory(workspace=WorkspaceFactory(slug="globex"), action="secret.other")

    response = as_admin_client.get(LOG)

    assert response.status_code == 200
    assert listed(response)[:2] == ["project.update", "project.create"]
    assert "secret.other" not in listed(response)


@pytest.mark.parametrize("role", [Role.MEMBER, Role.MANAGER])
def test_below_admin_the_log_and_its_export_are_refused(client, workspace, role):
    client.force_login(MembershipFactory(workspace=workspace, role=role).user)
    assert client.get(LOG).status_code == 403
    assert client.get(CSV).status_code == 403
    assert AuditEvent.objects.filter(action="audit.read", outcome=Outcome.DENIED).count() == 2


def test_another_workspaces_log_is_not_found(client, workspace):
    client.force_login(MembershipFactory(workspace=WorkspaceFactory(slug="globex"), role=Role.OWNER).user)
    assert client.get(LOG).status_code == 404
    assert client.get(CSV).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, workspace):
    response = client.get(LOG)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_filters_by_person_connection_channel_action_outcome_and_days(as_admin_client, workspace, member):
    connection = ConnectionFactory(workspace=workspace, user=member.user)
    berlin_midnight = datetime(2026, 6, 2, 22, 0, tzinfo=UTC)  # 3 June 00:00 in Berlin
    AuditEventFactory(
        workspace=workspace,
        actor=member.user,
        connection=connection,
        channel=Channel.MCP,
        action="time_entry.create",
        outcome=Outcome.OK,
        created_at=berlin_midnight,
    )
    AuditEventFactory(
        workspace=workspace,
        actor=member.user,
        channel=Channel.API,
        action="time_entry.update",
        outcome=Outcome.DENIED,
        created_at=berlin_midnight - timedelta(minutes=1),  # 2 June in Berlin
    )

    def actions(**query):
        return listed(as_admin_client.get(LOG, query))

    assert actions(connection=connection.pk) == ["time_entry.create"]
    assert actions(channel="api") == ["time_entry.update"]
    assert actions(outcome="denied") == ["time_entry.update"]
    assert sorted(actions(actor=member.user_id)) == ["time_entry.create", "time_entry.update"]
    assert sorted(actions(action="time_entry.")) == ["time_entry.create", "time_entry.update"]
    assert actions(since="2026-06-03", until="2026-06-03") == ["time_entry.create"]
    assert actions(since="2026-06-02", until="2026-06-02") == ["time_entry.update"]


def test_a_person_or_connection_of_another_workspace_is_not_a_valid_filter(as_admin_client, workspace):
    stranger = UserFactory()
    AuditEventFactory(workspace=workspace, actor=stranger)  # an event by someone not (or no longer) a member
    response = as_admin_client.get(LOG, {"actor": stranger.pk})
    assert listed(response) == []
    assert "actor" in response.context["filters"].errors
    assert as_admin_client.get(CSV, {"actor": stranger.pk}).status_code == 400


def test_pages_follow_a_cursor_without_gaps_or_repeats(as_admin_client, workspace):
    start = timezone.now() - timedelta(days=1)
    for i in range(150):
        AuditEventFactory(workspace=workspace, action=f"n.{i:03d}", created_at=start + timedelta(seconds=i // 2))

    first = as_admin_client.get(LOG)
    assert len(first.context["events"]) == 100
    following = first.context["following"]
    assert following
    second = as_admin_client.get(LOG, {"before": following})

    seen = listed(first) + listed(second)
    assert second.context["following"] is None
    assert sorted(seen) == sorted(f"n.{i:03d}" for i in range(150))
    assert as_admin_client.get(LOG, {"before": "garbage"}).context["events"] == []


@pytest.mark.parametrize("rows", [1, 50])
def test_the_page_runs_a_constant_number_of_queries(
    as_admin_client, workspace, member, rows, django_assert_max_num_queries
):
    connection = ConnectionFactory(workspace=workspace, user=member.user)
    AuditEventFactory.create_batch(rows, workspace=workspace, actor=member.user, connection=connection)
    with django_assert_max_num_queries(11):  # the same for 1 and 50 rows
        assert as_admin_client.get(LOG).status_code == 200


def test_the_csv_export_streams_the_filtered_events(as_admin_client, workspace, member):
    AuditEventFactory(workspace=workspace, actor=member.user, action="project.update", detail={"fields": ["name"]})
    AuditEventFactory(workspace=workspace, action="client.create")
    AuditEventFactory(workspace=WorkspaceFactory(slug="globex"), action="project.update")

    response = as_admin_client.get(CSV, {"action": "project."})

    assert response.streaming
    assert response["Content-Disposition"].startswith('attachment; filename="audit-acme-')
    rows = csv_rows(b"".join(response.streaming_content))
    assert [(r["action"], r["actor"], r["detail"]) for r in rows] == [
        ("project.update", member.user.username, '{"fields": ["name"]}')
    ]
    assert AuditEvent.objects.filter(action="audit.export", channel=Channel.WEB).count() == 1


@pytest.mark.anyio
@pytest.mark.django_db(transaction=True)
async def test_under_asgi_the_export_is_served_from_an_async_stream(admin, workspace):
    from asgiref.sync import sync_to_async

    await sync_to_async(AuditEventFactory.create_batch)(1200, workspace=workspace, actor=None, action="bulk.row")
    client = AsyncClient()
    await sync_to_async(client.force_login)(admin.user)

    try:
        response: Any = await client.get(CSV)
        assert response.is_async
        chunks = [chunk async for chunk in response.streaming_content]
    finally:
        await sync_to_async(connections.close_all)()  # the sync thread's connection, opened by this test
    assert len(chunks) > 1  # served in parts, not as one buffered body
    rows = csv_rows(b"".join(chunks))
    assert sum(1 for r in rows if r["action"] == "bulk.row") == 1200
