"""The audit trail's rules: idempotent storage, retries and dead letters, append-only rows,
retention, what the REST face records, request ids and connection use."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from celery.exceptions import Retry
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from tests.conftest import principal_for
from tests.factories import AuditEventFactory, UserFactory, WorkspaceFactory
from timetracker.celery import app
from workspaces import audit, connection_services, services
from workspaces.models import AuditDeadLetter, AuditEvent, AuditImmutableError, Channel, Connection, Outcome, Workspace
from workspaces.tasks import AUDIT_RETRIES, purge_expired_audit_events, retry_audit_event

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def payload_for(workspace: Workspace | None, **overrides) -> dict:
    event = AuditEvent(action="test.read", workspace=workspace, channel=Channel.SYSTEM)
    return {**audit.event_payload(event), **overrides}


# --- storing ------------------------------------------------------------------------------------


def test_storing_the_same_event_twice_keeps_one_row(workspace):
    payload = payload_for(workspace)
    assert audit.store_events([payload]) == []
    assert audit.store_events([payload, payload]) == []
    assert AuditEvent.objects.filter(pk=payload["id"]).count() == 1


def test_one_bad_event_does_not_hold_back_the_batch(workspace):
    good = [payload_for(workspace) for _ in range(3)]
    bad = payload_for(None, workspace_id=10**9)  # no such workspace

    failures = audit.store_events([good[0], bad, *good[1:]])

    assert [f.payload["id"] for f in failures] == [bad["id"]]
    assert "IntegrityError" in failures[0].error
    assert set(AuditEvent.objects.values_list("id", flat=True)) == {uuid.UUID(p["id"]) for p in good}


def test_an_event_that_keeps_failing_ends_in_the_dead_letter_table_after_its_retries():
    bad = payload_for(None, workspace_id=10**9)

    with pytest.raises(Retry, match="Retry in 60s"):  # second attempt: back off, try again later
        retry_audit_event.apply(args=(bad,), retries=1)
    assert not AuditDeadLetter.objects.exists()

    retry_audit_event.apply(args=(bad,), retries=AUDIT_RETRIES)  # the last attempt

    letter = AuditDeadLetter.objects.get()
    assert (str(letter.event_id), letter.payload, letter.attempts) == (bad["id"], bad, AUDIT_RETRIES + 2)
    assert "IntegrityError" in letter.error
    assert not AuditEvent.objects.exists()


def test_an_admin_replays_a_dead_letter_once_its_cause_is_gone(client, workspace):
    missing_id = workspace.pk + 1000
    bad = payload_for(None, workspace_id=missing_id)
    audit.store_now(bad)  # fails → dead-lettered at once
    letter = AuditDeadLetter.objects.get()
    superuser = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(superuser)
    changelist = reverse("admin:workspaces_auditdeadletter_changelist")

    # still failing: kept, with one more attempt
    client.post(changelist, {"action": "replay_selected", "_selected_action": [letter.pk]})
    letter.refresh_from_db()
    assert (letter.replayed_at, letter.attempts) == (None, 2)

    WorkspaceFactory(pk=missing_id, slug="late")
    response = client.post(changelist, {"action": "replay_selected", "_selected_action": [letter.pk]}, follow=True)
    assert "Stored 1 event(s)." in response.content.decode()
    letter.refresh_from_db()
    assert letter.replayed_by == superuser
    assert AuditEvent.objects.filter(pk=bad["id"], workspace_id=missing_id).exists()
    assert AuditEvent.objects.filter(action="audit.dead_letter_replay", actor=superuser).count() == 1


def test_staff_without_superuser_cannot_replay(client, workspace):
    audit.store_now(payload_for(None, workspace_id=10**9))
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(*_perms("view_auditdeadletter"))
    client.force_login(staff)
    response = client.get(reverse("admin:workspaces_auditdeadletter_changelist"))
    assert response.status_code == 200
    assert "replay_selected" not in response.content.decode()


def _perms(*codenames: str):
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(codename__in=codenames)


def test_audit_tasks_go_to_the_audit_queue_and_others_do_not():
    router = app.amqp.router
    assert router.route({}, "audit.store_events")["queue"].name == "audit"
    assert router.route({}, "audit.retry_event")["queue"].name == "audit"
    assert router.route({}, "billing.tasks.render_invoice_pdf")["queue"].name == "celery"


# --- append-only ----------------------------------------------------------------------------------


def test_events_cannot_be_changed_or_deleted_through_the_orm(workspace):
    event = AuditEventFactory(workspace=workspace)
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.filter(pk=event.pk).update(action="forged")
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    event.action = "forged"
    with pytest.raises(AuditImmutableError):
        event.save()
    with pytest.raises(AuditImmutableError):
        event.delete()
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.bulk_update([event], ["action"])
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


@pytest.mark.parametrize(
    "sql",
    ["UPDATE workspaces_auditevent SET action = 'forged'", "DELETE FROM workspaces_auditevent"],
)
def test_the_database_refuses_raw_changes_and_deletes(workspace, sql):
    event = AuditEventFactory(workspace=workspace, created_at=timezone.now() - timedelta(days=4000))
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


def test_the_admin_offers_no_way_to_change_or_delete_an_event(client, workspace):
    event = AuditEventFactory(workspace=workspace)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    change = reverse("admin:workspaces_auditevent_change", args=[event.pk])
    assert client.post(change, {"action": "forged"}).status_code == 403
    assert (
        client.post(reverse("admin:workspaces_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    )
    changelist = client.get(reverse("admin:workspaces_auditevent_changelist")).content.decode()
    assert "delete_selected" not in changelist
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


def test_the_admin_downloads_the_selected_events_as_csv(client, workspace):
    events = AuditEventFactory.create_batch(2, workspace=workspace, action="project.update")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.post(
        reverse("admin:workspaces_auditevent_changelist"),
        {"action": "download_csv", "_selected_action": [e.pk for e in events]},
    )
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0].startswith("id,created_at,channel,action,outcome")
    assert sorted(line.split(",")[0] for line in lines[1:]) == sorted(str(e.pk) for e in events)


# --- retention ------------------------------------------------------------------------------------


def test_retention_deletes_only_what_is_past_each_workspaces_period_and_records_it(workspace):
    now = timezone.now()
    strict = WorkspaceFactory(slug="strict", audit_retention_days=30)
    old = [AuditEventFactory(workspace=workspace, created_at=now - timedelta(days=401)) for _ in range(5)]
    kept = [
        AuditEventFactory(workspace=workspace, created_at=now - timedelta(days=399)),
        AuditEventFactory(workspace=strict, created_at=now - timedelta(days=29)),
        AuditEventFactory(workspace=None, actor=None, created_at=now - timedelta(days=399)),
    ]
    old.append(AuditEventFactory(workspace=strict, created_at=now - timedelta(days=31)))
    old.append(AuditEventFactory(workspace=None, actor=None, created_at=now - timedelta(days=401)))

    result = audit.retention_purge(now=now, batch_size=2)

    assert result.deleted == 7
    assert result.by_workspace == {"acme": 5, "strict": 1}
    remaining = set(AuditEvent.objects.values_list("pk", flat=True))
    assert {e.pk for e in kept} <= remaining
    assert not remaining & {e.pk for e in old}
    purges = AuditEvent.objects.filter(action="audit.retention_purge")
    assert {(p.workspace_id, p.detail["deleted"]) for p in purges} == {(workspace.pk, 5), (strict.pk, 1), (None, 1)}


def test_the_beat_task_runs_retention(workspace):
    AuditEventFactory(workspace=workspace, created_at=timezone.now() - timedelta(days=500))
    assert purge_expired_audit_events.apply().get() == 1


def test_the_retention_period_is_a_workspace_setting_with_bounds(as_admin):
    assert services.workspace_update(actor=as_admin, data={"audit_retention_days": 90}).audit_retention_days == 90
    with pytest.raises(Exception, match="30"):
        services.workspace_update(actor=as_admin, data={"audit_retention_days": 7})


# --- writes: one transaction for the change and its event -------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_write_that_fails_after_its_audit_insert_leaves_neither(as_admin, workspace, monkeypatch):
    real_record = audit.record

    def record_then_fail(**kwargs):
        real_record(**kwargs)
        assert AuditEvent.objects.filter(action="workspace.update").exists()  # the insert happened
        raise RuntimeError("failure after the audit insert")

    monkeypatch.setattr(services.audit, "record", record_then_fail)
    with pytest.raises(RuntimeError):
        services.workspace_update(actor=as_admin, data={"name": "Renamed"})

    workspace.refresh_from_db()
    assert workspace.name == "Acme Studio"
    assert not AuditEvent.objects.filter(action="workspace.update").exists()


# --- the REST face ----------------------------------------------------------------------------------


@pytest.fixture
def api():
    return APIClient()


def key_for(membership, scopes=("read",)) -> str:
    return connection_services.api_key_create(actor=principal_for(membership), label="k", scopes=scopes).secret


def test_a_read_is_audited_with_its_caller_and_request_id(api, member):
    key = key_for(member)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    response = api.get("/api/v1/workspaces/acme", HTTP_X_REQUEST_ID="abc-123")

    assert response["X-Request-ID"] == "abc-123"
    event = AuditEvent.objects.get(action="workspace.read")
    assert (event.actor_id, event.workspace_id, event.channel, event.outcome, event.request_id) == (
        member.user_id,
        member.workspace_id,
        Channel.API,
        Outcome.OK,
        "abc-123",
    )
    assert event.connection == Connection.objects.get(user=member.user)
    assert event.detail == {"method": "GET", "path": "/api/v1/workspaces/acme", "status": 200}
    assert event.duration_ms is not None


def test_a_missing_scope_is_audited_as_a_denial_naming_the_code(api, admin):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key_for(admin)}")

    response = api.patch("/api/v1/workspaces/acme", {"name": "X"}, format="json")

    assert response.status_code == 403
    event = AuditEvent.objects.get(action="workspace.update")
    assert (event.outcome, event.actor_id, event.detail["code"], event.detail["status"]) == (
        Outcome.DENIED,
        admin.user_id,
        "insufficient_scope",
        403,
    )


def test_an_unknown_token_is_audited_without_an_actor(api, workspace):
    api.credentials(HTTP_AUTHORIZATION="Bearer tt_nope")

    assert api.get("/api/v1/workspaces/acme", REMOTE_ADDR="203.0.113.9").status_code == 401

    event = AuditEvent.objects.get(action="workspace.read")
    assert (event.outcome, event.actor, event.workspace, event.ip, event.detail["code"]) == (
        Outcome.DENIED,
        None,
        None,
        "203.0.113.9",
        "invalid_token",
    )


def test_a_successful_write_has_exactly_its_services_event(api, admin):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key_for(admin, scopes=('read', 'write', 'admin'))}")
    assert api.patch("/api/v1/workspaces/acme", {"name": "Renamed"}, format="json").status_code == 200
    assert list(AuditEvent.objects.filter(action__startswith="workspace.").values_list("action", "outcome")) == [
        ("workspace.update", Outcome.OK)
    ]


def test_a_malformed_request_id_is_replaced(api, member):
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key_for(member)}")
    response = api.get("/api/v1/workspaces/acme", HTTP_X_REQUEST_ID="bad id\nwith newline")
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    assert AuditEvent.objects.get(action="workspace.read").request_id == request_id


def test_connection_use_is_written_at_most_once_a_minute(api, member):
    key = key_for(member)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    connection_row = Connection.objects.get(user=member.user)

    api.get("/api/v1/workspaces/acme")
    connection_row.refresh_from_db()
    first = connection_row.last_used_at
    assert first is not None

    api.get("/api/v1/workspaces/acme")
    connection_row.refresh_from_db()
    assert connection_row.last_used_at == first  # within the minute: untouched

    Connection.objects.filter(pk=connection_row.pk).update(last_used_at=first - timedelta(minutes=2))
    api.get("/api/v1/workspaces/acme")
    connection_row.refresh_from_db()
    assert connection_row.last_used_at > first


def test_a_write_touches_its_connection_once_a_minute_though_its_credential_is_cached(
    member, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(audit, "_made_sure", {})
    key_for(member)
    row = Connection.objects.get(user=member.user)
    start = timezone.now()

    def touch(at, *, fail=False) -> list[str]:
        """A write's touch, the connection as the bearer cache thaws it (last_used_at as cached: unset)."""
        thawed = Connection.objects.get(pk=row.pk)
        thawed.last_used_at = None
        with django_capture_on_commit_callbacks(execute=True), CaptureQueriesContext(connection) as queries:
            try:
                with transaction.atomic():
                    audit._touch_loaded(thawed, at)
                    if fail:
                        raise DatabaseError("the write failed")
            except DatabaseError:
                pass
        return [query["sql"] for query in queries if query["sql"].startswith("UPDATE")]

    def stored():
        row.refresh_from_db()
        return row.last_used_at

    assert len(touch(start, fail=True)) == 1  # rolled back: nothing stored, nothing remembered
    assert stored() is None
    assert len(touch(start)) == 1
    assert stored() == start
    assert touch(start + timedelta(seconds=59)) == []  # within the minute: no query at all
    assert len(touch(start + timedelta(seconds=61))) == 1
    assert stored() == start + timedelta(seconds=61)


# --- logs -----------------------------------------------------------------------------------------


def test_the_web_process_logs_json_lines_with_the_request_id():
    code = (
        "import logging; from timetracker.observability import request_id_var;"
        "request_id_var.set('rid-7'); logging.getLogger('timetracker.test').warning('hello %s', 'world')"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env={**_env(), "LOG_FORMAT": "json"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert {k: line[k] for k in ("level", "logger", "message", "request_id")} == {
        "level": "WARNING",
        "logger": "timetracker.test",
        "message": "hello world",
        "request_id": "rid-7",
    }


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "DJANGO_DEBUG": "1"}
