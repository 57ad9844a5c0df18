"""The audit trail: append-only events, and the events the pipeline could not store."""

import uuid
from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils.timezone import now

from timetracker.compiled_writes import CompiledInsert
from workspaces.models.core import Channel, Outcome, Workspace


class AuditImmutableError(Exception):
    """Audit events are never changed, and deleted only by retention."""


def _refuse(what: str) -> NoReturn:
    raise AuditImmutableError(f"Audit events are append-only: {what} is refused (only retention deletes them).")


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        _refuse("update")

    def delete(self) -> NoReturn:
        _refuse("delete")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse("update")

    def purge_for_retention(self) -> int:
        """Delete these rows; only :func:`workspaces.audit.retention_purge` may call it.

        The database trigger refuses it too unless that service has set
        ``timetracker.audit_retention`` for its transaction.
        """
        return self._raw_delete(self.db)


class AuditEvent(CompiledInsert, models.Model):
    """Append-only record of who did what. Never updated or deleted (retention aside).

    The guard is threefold: this model and its queryset refuse updates and deletes, the admin
    and every face are read-only, and on PostgreSQL a trigger refuses any UPDATE and any DELETE
    outside the retention service's transaction (migration 0002).
    """

    # The id is made where the event happens, so a re-delivered write can be made idempotent.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: the workspace leads every index in Meta.
    workspace = models.ForeignKey(
        Workspace, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    connection = models.ForeignKey(
        "workspaces.Connection", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    action = models.CharField(max_length=100)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.OK)
    detail = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)

    objects = AuditEventQuerySet.as_manager()

    # Written with the change it records, in its transaction: sent with that transaction's COMMIT.
    insert_with_commit = True

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["workspace", "-created_at"], name="audit_ws_created_idx"),
            models.Index(fields=["workspace", "action", "-created_at"], name="audit_ws_action_idx"),
            models.Index(fields=["workspace", "actor", "-created_at"], name="audit_ws_actor_idx"),
            models.Index(fields=["workspace", "connection", "-created_at"], name="audit_ws_connection_idx"),
            # Retention scans by age across workspaces.
            models.Index(fields=["created_at"], name="audit_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} {self.outcome}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            _refuse("update")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse("delete")


class AuditDeadLetter(models.Model):
    """An event the pipeline failed to store after its retries; an admin sees and replays it."""

    event_id = models.UUIDField(db_index=True)
    payload = models.JSONField()
    error = models.TextField()
    attempts = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=now)
    replayed_at = models.DateTimeField(null=True, blank=True)
    replayed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "audit dead letter"

    def __str__(self) -> str:
        action = self.payload.get("action", "?") if isinstance(self.payload, dict) else "?"
        return f"{action} {self.event_id}"
