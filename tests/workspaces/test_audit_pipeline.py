"""The audit pipeline end to end: real HTTP, a real Redis, real Celery audit workers, PostgreSQL.

Each test has its own redis-server (so stopping it leaves the suite's Redis alone) and starts
the app server (uvicorn) and the audit worker exactly as production does, on the test database. Every event is matched to the call that made it
through the request id the client sent.
"""

from __future__ import annotations

import base64
import json
import time

import pytest
import redis
import requests
from rest_framework.test import APIClient

from tests.conftest import principal_for
from tests.workspaces.audit_harness import AppServer, AuditWorker, RedisServer, free_port, wait_until
from timetracker.celery import app
from workspaces import audit, audit_broker, connection_services
from workspaces.models import AuditEvent, Channel, Outcome

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def redis_server():
    server = RedisServer()
    server.start()
    yield server
    server.stop()


def point_publisher_at(url: str) -> None:
    # Celery reads Django's CELERY_* spelling first; set both.
    app.conf.update(broker_url=url, CELERY_BROKER_URL=url)
    audit_broker.reset_publisher(resume=True)


@pytest.fixture
def publisher(settings):
    """The web side publishes audit events to Celery (the suite otherwise writes them inline)."""
    settings.AUDIT_DELIVERY = "celery"
    settings.AUDIT_BROKER_RETRY_SECONDS = 0.5
    before = {key: app.conf.get(key) for key in ("broker_url", "CELERY_BROKER_URL")}
    yield point_publisher_at
    app.conf.update(before)
    audit_broker.reset_publisher(resume=True)


@pytest.fixture
def workers(tmp_path):
    started: list[AuditWorker] = []

    def start(broker_url: str) -> AuditWorker:
        worker = AuditWorker(broker_url=broker_url, log_path=tmp_path / f"audit-worker-{len(started)}.log")
        started.append(worker)
        worker.start()
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def app_server(redis_server, tmp_path):
    server = AppServer(broker_url=redis_server.url, log_path=tmp_path / "app.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def api_key(member) -> str:
    return connection_services.api_key_create(actor=principal_for(member), label="pipeline", scopes=["read"]).secret


def read_workspace(session: requests.Session, base: str, request_id: str) -> requests.Response:
    return session.get(f"{base}/api/v1/workspaces/acme", headers={"X-Request-ID": request_id}, timeout=10)


def reads_stored(prefix: str) -> dict[str, int]:
    """request id → number of stored events, for this test's reads."""
    counts: dict[str, int] = {}
    for request_id in AuditEvent.objects.filter(action="workspace.read", request_id__startswith=prefix).values_list(
        "request_id", flat=True
    ):
        counts[request_id] = counts.get(request_id, 0) + 1
    return counts


def test_a_thousand_reads_through_the_stack_make_exactly_a_thousand_events(
    app_server, redis_server, workers, api_key, member
):
    worker = workers(redis_server.url)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {api_key}"
    sent = [f"thousand-{i}" for i in range(1000)]

    for request_id in sent:
        response = read_workspace(session, app_server.url, request_id)
        assert response.status_code == 200
        assert response.headers["X-Request-ID"] == request_id

    wait_until(lambda: len(reads_stored("thousand-")) == 1000, timeout=60, what="1000 stored events")
    stored = reads_stored("thousand-")
    assert sorted(stored) == sorted(sent)
    assert set(stored.values()) == {1}  # no duplicates
    events = AuditEvent.objects.filter(request_id__startswith="thousand-")
    assert events.count() == 1000
    first = events.get(request_id="thousand-0")
    assert (first.channel, first.outcome, first.actor_id, first.workspace_id) == (
        Channel.API,
        Outcome.OK,
        member.user_id,
        member.workspace_id,
    )
    assert first.connection is not None
    assert first.connection.last_used_at is not None
    # every event went through the worker, in batches rather than one insert each
    batches = worker.stored_batches()
    assert sum(batches) == 1000
    assert len(batches) < 1000


def test_reads_succeed_and_nothing_is_lost_while_redis_is_down_and_after_it_returns(
    app_server, redis_server, workers, api_key
):
    worker = workers(redis_server.url)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {api_key}"

    redis_server.stop()
    for i in range(50):
        assert read_workspace(session, app_server.url, f"down-{i}").status_code == 200
    # written in the request itself: all there at once
    assert len(reads_stored("down-")) == 50

    redis_server.start()
    time.sleep(0.5)  # the publisher's pause after a failure (AUDIT_BROKER_RETRY_SECONDS of the server)
    for i in range(50):
        assert read_workspace(session, app_server.url, f"back-{i}").status_code == 200
    # the worker reconnects by itself and stores what was queued meanwhile
    wait_until(lambda: len(reads_stored("back-")) == 50, timeout=60, what="the events after Redis came back")
    assert sum(worker.stored_batches()) > 0
    stored = {**reads_stored("down-"), **reads_stored("back-")}
    assert len(stored) == 100
    assert set(stored.values()) == {1}


def test_a_broker_on_a_closed_port_costs_nothing_but_an_inline_write(publisher, api_key):
    publisher(f"redis://127.0.0.1:{free_port()}/0")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")

    for i in range(20):
        response = client.get("/api/v1/workspaces/acme", HTTP_X_REQUEST_ID=f"closed-{i}")
        assert response.status_code == 200

    stored = reads_stored("closed-")
    assert len(stored) == 20
    assert set(stored.values()) == {1}


def test_a_worker_killed_while_storing_leaves_every_event_exactly_once(redis_server, publisher, workers, workspace):
    publisher(redis_server.url)
    ids = {
        audit.publish(action="pipeline.kill_test", workspace=workspace, channel=Channel.SYSTEM, target_id=str(i))
        for i in range(5000)
    }
    assert len(ids) == 5000
    assert not AuditEvent.objects.filter(action="pipeline.kill_test").exists()  # all queued, none written inline

    def stored() -> int:
        return AuditEvent.objects.filter(action="pipeline.kill_test").count()

    first = workers(redis_server.url)
    wait_until(lambda: stored() > 0, timeout=60, interval=0.005, what="the first batch")
    first.kill()
    at_kill = stored()
    assert 0 < at_kill < 5000, "the worker must die with work left to do"

    workers(redis_server.url)
    wait_until(lambda: stored() == 5000, timeout=90, what="every event after the restart")
    assert set(AuditEvent.objects.filter(action="pipeline.kill_test").values_list("id", flat=True)) == ids


def test_the_request_id_travels_with_the_event_and_the_task(redis_server, publisher, workers, workspace):
    from timetracker.observability import request_id_var
    from workspaces.tasks import retry_audit_event

    publisher(redis_server.url)
    worker = workers(redis_server.url)
    token = request_id_var.set("trace-me-42")
    try:
        batched = audit.publish(action="pipeline.trace", workspace=workspace, channel=Channel.SYSTEM)
        # a task of its own (the retry path) carries the id in its message headers
        event = audit.event_payload(
            AuditEvent(action="pipeline.trace_task", workspace=workspace, channel=Channel.SYSTEM)
        )
        with audit_broker.publisher().pool.acquire(block=True, timeout=5) as producer:
            retry_audit_event.apply_async((event,), producer=producer)
    finally:
        request_id_var.reset(token)

    wait_until(
        lambda: AuditEvent.objects.filter(action__startswith="pipeline.trace").count() == 2,
        timeout=30,
        what="both events",
    )
    assert AuditEvent.objects.get(pk=batched).request_id == "trace-me-42"
    task_lines = [line for line in worker.log_lines() if line.get("task_name") == "audit.retry_event"]
    assert task_lines
    assert {line["request_id"] for line in task_lines} == {"trace-me-42"}


def test_the_message_headers_name_the_event_without_repeating_it(redis_server, publisher, workspace):
    publisher(redis_server.url)
    event_id = audit.publish(
        action="pipeline.headers",
        workspace=workspace,
        channel=Channel.SYSTEM,
        detail={"secret_looking": "do-not-copy-me"},
        ip="203.0.113.9",
        user_agent="agent/1.0 (private)",
    )

    queued = redis.Redis.from_url(redis_server.url).lrange("audit", 0, -1)
    assert len(queued) == 1  # no worker runs: the message waits in the audit queue
    message = json.loads(queued[0])
    headers = message["headers"]
    assert headers["task"] == "audit.store_events"
    assert headers["argsrepr"] == f"(<audit event pipeline.headers {event_id}>,)"
    assert headers["kwargsrepr"] == "{}"
    raw_headers = json.dumps(headers)
    for private in ("do-not-copy-me", "203.0.113.9", "agent/1.0"):
        assert private not in raw_headers
    # the payload itself is whole in the body, for the worker
    body = json.loads(base64.b64decode(message["body"]))
    assert body[0][0]["detail"] == {"secret_looking": "do-not-copy-me"}
    assert body[0][0]["ip"] == "203.0.113.9"


def queued_messages(url: str) -> list[dict]:
    return [json.loads(raw) for raw in redis.Redis.from_url(url).lrange("audit", 0, -1)]


def test_the_message_is_the_one_celery_sends_for_the_task(redis_server, publisher, workspace):
    from workspaces.tasks import store_audit_events

    publisher(redis_server.url)
    event_id = audit.publish(action="pipeline.same_message", workspace=workspace, channel=Channel.SYSTEM)
    (published,) = queued_messages(redis_server.url)
    payload = json.loads(base64.b64decode(published["body"]))[0][0]
    assert payload["id"] == str(event_id)
    # the same event sent the way Celery's own API sends a task, to this test's Redis (the app's
    # own producer pool may be on the suite's)
    with app.connection_for_write(redis_server.url) as connection:
        store_audit_events.apply_async(
            (payload,),
            connection=connection,
            ignore_result=True,
            argsrepr=f"(<audit event pipeline.same_message {event_id}>,)",
            kwargsrepr="{}",
        )
    by_celery, again = queued_messages(redis_server.url)  # LPUSH: the newest first
    assert again == published

    def comparable(message: dict) -> dict:
        headers = {k: v for k, v in message["headers"].items() if k not in {"id", "root_id"}}
        properties = {k: v for k, v in message["properties"].items() if k not in {"correlation_id", "delivery_tag"}}
        return {**message, "headers": headers, "properties": properties}

    # apply_async passes its options on as message properties as well: the reprs again
    assert by_celery["properties"].pop("argsrepr") == published["headers"]["argsrepr"]
    assert by_celery["properties"].pop("kwargsrepr") == "{}"
    assert comparable(published) == comparable(by_celery)
    assert published["headers"]["id"] == published["properties"]["correlation_id"]
    assert published["properties"]["delivery_info"] == {"exchange": "", "routing_key": "audit"}


def test_publishing_keeps_one_redis_client_per_channel(redis_server, publisher, workspace, monkeypatch):
    publisher(redis_server.url)
    audit.publish(action="pipeline.clients", workspace=workspace, channel=Channel.SYSTEM)  # connects
    built = []
    original = redis.Redis.__init__

    def counting(self, *args, **kwargs):
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counting)
    for _ in range(20):
        audit.publish(action="pipeline.clients", workspace=workspace, channel=Channel.SYSTEM)

    assert built == []
    assert len(queued_messages(redis_server.url)) == 21


def test_where_celery_runs_tasks_in_the_caller_events_are_stored_at_once(
    redis_server, publisher, celery_eager, workspace
):
    publisher(redis_server.url)
    event_id = audit.publish(action="pipeline.eager", workspace=workspace, channel=Channel.SYSTEM)

    assert AuditEvent.objects.get(pk=event_id).action == "pipeline.eager"
    assert queued_messages(redis_server.url) == []
