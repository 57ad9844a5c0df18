"""Idempotency of REST POSTs: the first response to a (principal, key) pair, replayed on retry."""

from django.db import models
from django.utils.timezone import now


class IdempotencyRecord(models.Model):
    """One ``Idempotency-Key`` of one principal; kept at least 24 hours (purged after 48)."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"

    principal_key = models.CharField(max_length=40, help_text="'connection:<id>' or 'user:<id>'")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    response_location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["principal_key", "key"], name="idempotency_principal_key")]

    def __str__(self) -> str:
        return f"{self.principal_key} {self.key} ({self.status})"
