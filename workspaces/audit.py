"""The one entry point for audit events, and the pipeline that stores them.

- :func:`record` — for write services: the event is inserted in the caller's transaction, so a
  rolled-back change leaves no event and a committed change always has one.
- :func:`publish` — for reads and denials (REST reads, MCP requests, refused calls): the event
  gets its UUID here and is handed to the ``audit`` Celery queue (``audit_broker``), so the
  request does not wait on the insert. If the broker cannot take it within ``AUDIT_PUBLISH_TIMEOUT_SECONDS`` it is
  inserted right away instead; audit never fails the caller's request. Call it outside write
  transactions (a denial is recorded after the service's transaction rolled back).
- :func:`store_events` — the worker's side: one idempotent batch insert (a redelivered event
  never makes a second row), which also records connection use (``last_used_at``, at most one
  write a minute per connection).
- :func:`retention_purge` — the only code that deletes events.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DatabaseError, connection, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from timetracker.observability import current_request_id
from workspaces import audit_broker
from workspaces.models import AuditDeadLetter, AuditEvent, Channel, Connection, Outcome, Workspace

if TYPE_CHECKING:
    from workspaces.models import User
    from workspaces.principals import Principal

logger = logging.getLogger(__name__)

LAST_USED_RESOLUTION = timedelta(minutes=1)
RETENTION_BATCH = 5000
_EVENT_FIELDS = (
    "workspace_id",
    "actor_id",
    "connection_id",
    "channel",
    "action",
    "target_type",
    "target_id",
    "target_repr",
    "outcome",
    "detail",
    "ip",
    "user_agent",
    "request_id",
    "duration_ms",
)


def _build(
    *,
    action: str,
    actor: Principal | None,
    user: User | None,
    workspace: Workspace | None,
    channel: str | None,
    target: models.Model | None,
    target_type: str,
    target_id: str,
    outcome: str,
    detail: Mapping[str, Any] | None,
    duration_ms: int | None,
    event_id: uuid.UUID | None,
    ip: str | None = None,
    user_agent: str = "",
) -> AuditEvent:
    event = AuditEvent(
        id=event_id or uuid.uuid4(),
        workspace=workspace or (actor.workspace if actor else None),
        actor=user or (actor.user if actor else None),
        connection=actor.connection if actor else None,
        channel=channel or (actor.channel if actor else Channel.SYSTEM),
        action=action[:100],
        outcome=outcome,
        detail=dict(detail or {}),
        target_type=target_type[:60],
        target_id=target_id[:64],
        duration_ms=duration_ms,
        request_id=((actor.request_id if actor else "") or current_request_id())[:64],
    )
    if target is not None:
        event.target_type = target._meta.label_lower
        event.target_id = str(target.pk)
        event.target_repr = str(target)[:200]
    event.ip = (actor.ip if actor else None) or ip
    event.user_agent = ((actor.user_agent if actor else "") or user_agent)[:300]
    return event


def record(
    *,
    action: str,
    actor: Principal | None = None,
    user: User | None = None,
    workspace: Workspace | None = None,
    channel: str | None = None,
    target: models.Model | None = None,
    outcome: str = Outcome.OK,
    detail: Mapping[str, Any] | None = None,
    event_id: uuid.UUID | None = None,
) -> AuditEvent:
    """Write one AuditEvent in the caller's transaction (write services); on PostgreSQL it is sent
    with that transaction's COMMIT (``AuditEvent.insert_with_commit``).

    ``actor`` supplies the user, workspace, channel and request context; ``user``,
    ``workspace`` and ``channel`` are for events without a principal (login, workspace
    creation, system jobs).
    """
    event = _build(
        action=action,
        actor=actor,
        user=user,
        workspace=workspace,
        channel=channel,
        target=target,
        target_type="",
        target_id="",
        outcome=outcome,
        detail=detail,
        duration_ms=None,
        event_id=event_id,
    )
    event.save(force_insert=True)
    if actor is not None and actor.connection is not None:
        _touch_loaded(actor.connection, event.created_at)
    return event


def publish(
    *,
    action: str,
    actor: Principal | None = None,
    user: User | None = None,
    workspace: Workspace | None = None,
    channel: str | None = None,
    target: models.Model | None = None,
    target_type: str = "",
    target_id: str = "",
    outcome: str = Outcome.OK,
    detail: Mapping[str, Any] | None = None,
    duration_ms: int | None = None,
    ip: str | None = None,
    user_agent: str = "",
) -> uuid.UUID:
    """Hand one read or denial event to the audit queue; returns its id. Never raises."""
    try:
        event = _build(
            action=action,
            actor=actor,
            user=user,
            workspace=workspace,
            channel=channel,
            target=target,
            target_type=target_type,
            target_id=target_id,
            outcome=outcome,
            detail=detail,
            duration_ms=duration_ms,
            event_id=None,
            ip=ip,
            user_agent=user_agent,
        )
        payload = event_payload(event)
    except Exception:  # audit never fails the request; the log keeps what is known
        logger.exception("audit event could not be built", extra={"audit_action": action})
        return uuid.uuid4()
    if not audit_broker.by_broker() or not audit_broker.publish_to_broker(payload):
        store_now(payload)
    return event.id


def event_payload(event: AuditEvent) -> dict[str, Any]:
    """The event as JSON-safe data for the queue (and the dead-letter table)."""
    payload: dict[str, Any] = {name: getattr(event, name) for name in _EVENT_FIELDS}
    payload["id"] = str(event.id)
    payload["created_at"] = event.created_at.isoformat()
    return payload


def _event_from(payload: Mapping[str, Any]) -> AuditEvent:
    created_at = parse_datetime(str(payload["created_at"]))
    if created_at is None:
        raise ValueError(f"created_at is not a datetime: {payload['created_at']!r}")
    fields = {name: payload.get(name) for name in _EVENT_FIELDS}
    for name in ("target_type", "target_id", "target_repr", "user_agent", "request_id"):
        fields[name] = fields[name] or ""
    fields["detail"] = fields["detail"] or {}
    return AuditEvent(id=uuid.UUID(str(payload["id"])), created_at=created_at, **fields)


# --- storing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreFailure:
    payload: dict[str, Any]
    error: str


def store_events(payloads: Iterable[dict[str, Any]]) -> list[StoreFailure]:
    """Insert events idempotently (one batch; an id already stored is skipped) and record use.

    If the batch cannot be inserted, each event is tried alone so one bad event does not hold
    back the others; the ones that still fail are returned for retry or the dead-letter table.
    """
    payloads = list(payloads)
    try:
        events = [_event_from(p) for p in payloads]
        with transaction.atomic():
            AuditEvent.objects.bulk_create(events, ignore_conflicts=True)
            _check_constraints_now()
            _touch_connections(events)
        return []
    except (DatabaseError, ValueError, KeyError, TypeError) as exc:
        if len(payloads) == 1:
            return [StoreFailure(payloads[0], f"{type(exc).__name__}: {exc}")]
    failures: list[StoreFailure] = []
    for payload in payloads:
        failures.extend(store_events([payload]))
    return failures


def _check_constraints_now() -> None:
    """Foreign keys are checked at commit on PostgreSQL; check them here, where a failure is handled."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def store_now(payload: dict[str, Any]) -> None:
    """Store one event in this process; what cannot be stored goes to the dead-letter table."""
    for failure in store_events([payload]):
        dead_letter(failure, attempts=1)


def dead_letter(failure: StoreFailure, *, attempts: int) -> None:
    """Keep an event that could not be stored; if even that fails, the log line keeps it."""
    try:
        AuditDeadLetter.objects.create(
            event_id=uuid.UUID(str(failure.payload.get("id"))),
            payload=failure.payload,
            error=failure.error[:2000],
            attempts=attempts,
        )
    except Exception:
        logger.critical(
            "audit event lost to the database; payload kept in this log line",
            extra={"audit_payload": failure.payload, "audit_error": failure.error},
            exc_info=True,
        )
    else:
        logger.error(
            "audit event dead-lettered: %s", failure.error, extra={"audit_event_id": failure.payload.get("id")}
        )


def dead_letter_replay(*, letter: AuditDeadLetter, user: User) -> bool:
    """Try to store a dead-lettered event again; True when it is (now or already) stored."""
    failures = store_events([letter.payload])
    if failures:
        letter.error = failures[0].error[:2000]
        letter.attempts += 1
        letter.save(update_fields=["error", "attempts"])
        return False
    letter.replayed_at = timezone.now()
    letter.replayed_by = user
    letter.save(update_fields=["replayed_at", "replayed_by"])
    record(
        action="audit.dead_letter_replay",
        user=user,
        channel=Channel.ADMIN,
        target=letter,
        detail={"event_id": str(letter.event_id)},
    )
    return True


def _touch_connections(events: Iterable[AuditEvent]) -> None:
    """Set each connection's ``last_used_at`` to its newest event, if it is a minute stale."""
    newest: dict[int, datetime] = {}
    for event in events:
        if event.connection_id is not None:
            seen = newest.get(event.connection_id)
            newest[event.connection_id] = max(seen, event.created_at) if seen else event.created_at
    for connection_id, used_at in newest.items():
        Connection.objects.filter(pk=connection_id).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=used_at - LAST_USED_RESOLUTION)
        ).update(last_used_at=used_at)


# When this process last made sure of a connection's ``last_used_at``, after that write's
# transaction committed. A write within LAST_USED_RESOLUTION of it skips its UPDATE. A write's
# connection is usually thawed from the bearer cache, where ``last_used_at`` is as old as the
# cache entry, so without this every write under a cached credential sent that UPDATE (matching
# no row within the minute). A touch only moves ``last_used_at`` forward, and one that matched no
# row found it at most LAST_USED_RESOLUTION old; so the column is at most twice that behind the
# connection's last use.
_made_sure: dict[int, datetime] = {}
MADE_SURE_MAX = 10_000


def _touch_loaded(conn: Connection, used_at: datetime) -> None:
    """The same for a write's event, skipped without a query while the row is known to be fresh."""
    known = [value for value in (conn.last_used_at, _made_sure.get(conn.pk)) if value is not None]
    if known and used_at - max(known) < LAST_USED_RESOLUTION:
        return
    Connection.objects.filter(pk=conn.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=used_at - LAST_USED_RESOLUTION)
    ).update(last_used_at=used_at)
    conn.last_used_at = used_at
    transaction.on_commit(lambda: _remember_touch(conn.pk, used_at))


def _remember_touch(connection_id: int, used_at: datetime) -> None:
    if len(_made_sure) >= MADE_SURE_MAX:
        _made_sure.clear()
    seen = _made_sure.get(connection_id)
    _made_sure[connection_id] = max(seen, used_at) if seen else used_at


# --- retention ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionResult:
    deleted: int
    by_workspace: dict[str, int]


def retention_purge(*, now: datetime | None = None, batch_size: int = RETENTION_BATCH) -> RetentionResult:
    """Delete events older than each workspace's retention period, in batches; audited per workspace.

    Events without a workspace follow ``AUDIT_RETENTION_DAYS``. Each batch is its own short
    transaction, so a long purge never holds a lock on the whole table.
    """
    now = now or timezone.now()
    by_workspace: dict[str, int] = {}
    for workspace in Workspace.objects.order_by("pk"):
        cutoff = now - timedelta(days=workspace.audit_retention_days)
        deleted = _purge(Q(workspace=workspace, created_at__lt=cutoff), batch_size)
        if deleted:
            by_workspace[workspace.slug] = deleted
            record(
                action="audit.retention_purge",
                workspace=workspace,
                channel=Channel.SYSTEM,
                detail={"deleted": deleted, "older_than": cutoff.isoformat()},
            )
    cutoff = now - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    unscoped = _purge(Q(workspace__isnull=True, created_at__lt=cutoff), batch_size)
    if unscoped:
        record(
            action="audit.retention_purge",
            channel=Channel.SYSTEM,
            detail={"deleted": unscoped, "older_than": cutoff.isoformat(), "scope": "no workspace"},
        )
    return RetentionResult(deleted=sum(by_workspace.values()) + unscoped, by_workspace=by_workspace)


def _purge(condition: Q, batch_size: int) -> int:
    total = 0
    while True:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL timetracker.audit_retention = 'on'")
            ids = list(AuditEvent.objects.filter(condition).values_list("pk", flat=True)[:batch_size])
            if not ids:
                return total
            total += AuditEvent.objects.filter(pk__in=ids).purge_for_retention()
