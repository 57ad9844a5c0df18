"""Celery tasks of the workspaces app. They hold no logic: they call a service and retry."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from celery_batches import Batches, SimpleRequest

from workspaces import audit, notifications

logger = logging.getLogger(__name__)

# An event that fails to store is retried alone with growing pauses (30 s … 10 min, about
# 40 minutes in all), then kept in the dead-letter table for an admin to replay.
AUDIT_RETRIES = 8


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invitation_email(self: object, *, user_id: int, workspace_id: int) -> None:
    notifications.invitation_email_send(user_id=user_id, workspace_id=workspace_id)


@shared_task(base=Batches, name="audit.store_events", flush_every=200, flush_interval=1, acks_late=True)
def store_audit_events(requests: list[SimpleRequest]) -> None:
    """Store the queued events in one insert; each message is acknowledged after the insert.

    A worker that dies before the acknowledgement leaves the messages to be redelivered, and
    the insert skips ids already stored, so every event ends up stored exactly once.
    """
    failures = audit.store_events([request.args[0] for request in requests])
    for failure in failures:
        retry_audit_event.apply_async((failure.payload,), countdown=30)
    if failures:
        logger.warning("%d of %d audit events failed to store; retrying them alone", len(failures), len(requests))
    logger.info(
        "stored a batch of audit events",
        extra={"audit_batch_size": len(requests) - len(failures), "audit_failures": len(failures)},
    )


@shared_task(bind=True, name="audit.retry_event", acks_late=True, max_retries=AUDIT_RETRIES)
def retry_audit_event(self: Task[Any, Any], payload: dict[str, Any]) -> None:
    failures = audit.store_events([payload])
    if not failures:
        logger.info("stored an audit event on retry", extra={"audit_event_id": payload.get("id")})
        return
    if self.request.retries >= AUDIT_RETRIES:
        audit.dead_letter(failures[0], attempts=self.request.retries + 2)
        return
    raise self.retry(countdown=min(30 * 2**self.request.retries, 600))


@shared_task(name="workspaces.tasks.purge_expired_audit_events")
def purge_expired_audit_events() -> int:
    result = audit.retention_purge()
    logger.info("audit retention deleted %d events", result.deleted, extra={"by_workspace": result.by_workspace})
    return result.deleted


@shared_task(name="workspaces.tasks.purge_idempotency_records")
def purge_idempotency_records() -> int:
    from workspaces.api_base import idempotency_purge

    return idempotency_purge()
