"""Money-side data: budget alerts already sent, and in-app notifications. Data and constraints only."""

from django.conf import settings
from django.db import models
from django.utils.timezone import now

from workspaces.models import Project, Workspace


class BudgetAlert(models.Model):
    """One threshold crossing of one project's budget in one period — recorded so it fires once."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="budget_alerts")
    # The first day of the budget period (a month for monthly budgets; the project's start for total ones).
    period_start = models.DateField()
    threshold = models.PositiveSmallIntegerField()
    percent = models.DecimalField(max_digits=7, decimal_places=1)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "period_start", "threshold"], name="budget_alert_once_per_period_threshold"
            )
        ]

    def __str__(self) -> str:
        return f"{self.project} {self.threshold}% ({self.period_start})"


class Notification(models.Model):
    """An in-app message for one person in one workspace."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="notifications")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40)
    message = models.CharField(max_length=500)
    url = models.CharField(max_length=300, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at", "-created_at"], name="notification_inbox_idx")]

    def __str__(self) -> str:
        return self.message
