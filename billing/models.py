"""Money-side data: budget alerts already sent, and in-app notifications. Data and constraints only."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
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


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ISSUED = "issued", "Issued"
    PAID = "paid", "Paid"
    VOID = "void", "Void"


class Invoice(models.Model):
    """An invoice to one client for one period. Numbers are gapless per workspace and never reused."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invoices")
    client = models.ForeignKey("workspaces.Client", on_delete=models.PROTECT, related_name="invoices")
    number = models.PositiveIntegerField(null=True, blank=True, help_text="Assigned when issued.")
    period_start = models.DateField()
    period_end = models.DateField()
    status = models.CharField(max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT)
    currency = models.CharField(max_length=3)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))
    subtotal = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    tax = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    notes = models.TextField(blank=True)
    pdf = models.FileField(upload_to="invoices/%Y/", blank=True, help_text="Rendered after issuing.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=now)
    issued_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "number"], condition=Q(number__isnull=False), name="invoice_number_unique"
            ),
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")), name="invoice_period_order"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(number__isnull=False), name="invoice_issued_has_number"
            ),
            models.CheckConstraint(condition=Q(total=F("subtotal") + F("tax")), name="invoice_total_is_sum"),
        ]
        indexes = [models.Index(fields=["workspace", "status", "-created_at"], name="invoice_ws_status_idx")]

    def __str__(self) -> str:
        return f"Invoice {self.number}" if self.number else f"Draft invoice for {self.client}"


class InvoiceLineKind(models.TextChoices):
    TIME = "time", "Time"
    EXPENSE = "expense", "Expense"
    MANUAL = "manual", "Manual"


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=10, choices=InvoiceLineKind.choices)
    position = models.PositiveIntegerField(default=0)
    description = models.CharField(max_length=300)
    project = models.ForeignKey(Project, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    task = models.ForeignKey("workspaces.Task", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(max_digits=12, decimal_places=2, help_text="Hours for time, 1 for expenses.")
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    seconds = models.PositiveIntegerField(null=True, blank=True, help_text="Exact time behind a time line.")

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.description


class Expense(models.Model):
    """Money spent on a project; the same approval and lock rules as time."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="expenses")
    member = models.ForeignKey("workspaces.Membership", on_delete=models.PROTECT, related_name="expenses")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="expenses")
    date = models.DateField(help_text="The day it was spent, in the workspace's time zone.")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    category = models.CharField(max_length=60)
    billable = models.BooleanField(default=True)
    description = models.CharField(max_length=300, blank=True)
    receipt = models.FileField(upload_to="receipts/%Y/%m/", blank=True)
    state = models.CharField(max_length=10, choices=[("active", "Active"), ("draft", "Draft")], default="active")
    invoice_line = models.ForeignKey(
        InvoiceLine, null=True, blank=True, on_delete=models.SET_NULL, related_name="expenses"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["-date", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="expense_amount_positive")]
        indexes = [
            models.Index(fields=["workspace", "member", "date"], name="expense_ws_member_date_idx"),
            models.Index(fields=["workspace", "project", "date"], name="expense_ws_project_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.category} {self.amount} {self.currency} ({self.date})"


class ExportStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class WorkspaceExport(models.Model):
    """A data-portability export of a whole workspace (JSON per model, zipped), made by a task."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="exports")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    counts = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Export of {self.workspace} ({self.status})"
