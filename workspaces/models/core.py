"""Workspaces, people and the things time is logged against. Data and constraints only."""

import zoneinfo
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.timezone import now


class User(AbstractUser):
    """The login. Kept as our own model so it can grow without a painful swap later."""

    class Meta:
        db_table = "workspaces_user"
        verbose_name = "user"
        verbose_name_plural = "users"


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone name, e.g. 'Europe/Berlin'.")


currency_validator = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, e.g. 'EUR'.")


NON_NEGATIVE = [MinValueValidator(Decimal("0"))]


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    MEMBER = "member", "Member"


class OverlapPolicy(models.TextChoices):
    ALLOW = "allow", "Allow overlapping entries"
    FORBID = "forbid", "Forbid overlapping entries"


class AgentNonBillablePolicy(models.TextChoices):
    DIRECT = "direct", "Saved directly"
    DRAFT = "draft", "Saved as a draft for review"
    FORBID = "forbid", "Refused"


class AgentBillablePolicy(models.TextChoices):
    DRAFT = "draft", "Saved as a draft for review"
    FORBID = "forbid", "Refused"


class Workspace(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    currency = models.CharField(max_length=3, default="EUR", validators=[currency_validator])
    week_start = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(6)], help_text="0 = Monday … 6 = Sunday"
    )
    lock_date = models.DateField(null=True, blank=True, help_text="Entries on or before this date are locked.")
    default_billable = models.BooleanField(default=True)
    default_billable_rate = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, validators=NON_NEGATIVE
    )
    overlap_policy = models.CharField(max_length=10, choices=OverlapPolicy.choices, default=OverlapPolicy.ALLOW)
    agent_nonbillable_policy = models.CharField(
        max_length=10, choices=AgentNonBillablePolicy.choices, default=AgentNonBillablePolicy.DIRECT
    )
    agent_billable_policy = models.CharField(
        max_length=10, choices=AgentBillablePolicy.choices, default=AgentBillablePolicy.DRAFT
    )
    # Entitlements: switch every connection's REST or MCP access off at once.
    api_enabled = models.BooleanField(default=True, help_text="Connections may use the REST API.")
    mcp_enabled = models.BooleanField(default=True, help_text="AI agents may use the MCP endpoint.")
    audit_retention_days = models.PositiveIntegerField(
        default=400,
        validators=[MinValueValidator(30), MaxValueValidator(3650)],
        help_text="Audit events older than this many days are deleted (30 to 3650).",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(week_start__gte=0, week_start__lte=6), name="workspace_week_start_0_6"),
            models.CheckConstraint(
                condition=Q(audit_retention_days__gte=30, audit_retention_days__lte=3650),
                name="workspace_audit_retention_30_3650",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    is_active = models.BooleanField(default=True)
    weekly_capacity_hours = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("40"), validators=[MinValueValidator(Decimal("0"))]
    )
    billable_rate = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True, validators=NON_NEGATIVE)
    cost_rate = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=NON_NEGATIVE,
        help_text="Sensitive: shown to admins and owners only.",
    )
    created_at = models.DateTimeField(default=now)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["workspace_id", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace"], name="membership_unique_user_workspace"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"


class Client(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="clients")
    name = models.CharField(max_length=200)
    # Contact data is sensitive (DESIGN §5).
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=50, blank=True)
    vat_id = models.CharField(max_length=50, blank=True)
    address = models.TextField(blank=True)
    is_archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="client_unique_name_per_workspace"),
        ]

    def __str__(self) -> str:
        return self.name


class BudgetPeriod(models.TextChoices):
    TOTAL = "total", "Total"
    MONTHLY = "monthly", "Monthly"


class ProjectStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived"


def default_alert_thresholds() -> list[int]:
    return [80, 100]


class Project(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="projects")
    client = models.ForeignKey(Client, null=True, blank=True, on_delete=models.PROTECT, related_name="projects")
    name = models.CharField(max_length=200)
    code = models.CharField(max_length=30, blank=True)
    color = models.CharField(
        max_length=7, default="#4f6bed", validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use #RRGGBB.")]
    )
    billable_by_default = models.BooleanField(null=True, blank=True, help_text="Empty: the workspace default.")
    billable_rate = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True, validators=NON_NEGATIVE)
    budget_hours = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(Decimal("0"))]
    )
    budget_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True, validators=NON_NEGATIVE)
    budget_period = models.CharField(max_length=10, choices=BudgetPeriod.choices, default=BudgetPeriod.TOTAL)
    alert_thresholds = models.JSONField(default=default_alert_thresholds, blank=True)
    status = models.CharField(max_length=10, choices=ProjectStatus.choices, default=ProjectStatus.ACTIVE)
    team = models.ManyToManyField(Membership, blank=True, related_name="assigned_projects")
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="project_unique_name_per_workspace"),
            models.UniqueConstraint(
                fields=["workspace", "code"], condition=~Q(code=""), name="project_unique_code_per_workspace"
            ),
        ]
        indexes = [models.Index(fields=["workspace", "status"], name="project_ws_status_idx")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}".strip() if self.code else self.name


class Task(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks")
    name = models.CharField(max_length=200)
    billable = models.BooleanField(null=True, blank=True, help_text="Empty: the project's default.")
    billable_rate = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True, validators=NON_NEGATIVE)
    is_archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="task_unique_name_per_project")]

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=60)
    is_archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="tag_unique_name_per_workspace")]

    def __str__(self) -> str:
        return self.name


class Channel(models.TextChoices):
    WEB = "web", "Web"
    API = "api", "REST API"
    MCP = "mcp", "MCP"
    ADMIN = "admin", "Django admin"
    SYSTEM = "system", "System"


class Outcome(models.TextChoices):
    OK = "ok", "OK"
    DENIED = "denied", "Denied"
    INVALID = "invalid", "Invalid"
    ERROR = "error", "Error"
