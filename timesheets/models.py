"""Time entries (including the running timer) and weekly timesheets. Data and constraints only."""

from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Cast, Round
from django.utils.timezone import now

from timetracker.compiled_writes import CompiledInsert, LockedUpdate
from workspaces.models import Connection, Membership, Project, Tag, Task, Workspace

# The longest a single entry may last; the services and a CHECK constraint both hold it.
MAX_ENTRY_SECONDS = 24 * 60 * 60


class EntryState(models.TextChoices):
    ACTIVE = "active", "Active"
    DRAFT = "draft", "Draft (proposed by an agent, awaiting review)"


class EntrySource(models.TextChoices):
    WEB = "web", "Web"
    API = "api", "REST API"
    MCP = "mcp", "MCP agent"
    IMPORT = "import", "Import"


def week_start_for(workspace: Workspace, day: date) -> date:
    """The first day of the workspace week that contains ``day``."""
    return day - timedelta(days=(day.weekday() - workspace.week_start) % 7)


def workspace_week(workspace: Workspace, moment: datetime) -> date:
    """The first day of the workspace week holding ``moment`` (in the workspace's time zone)."""
    return week_start_for(workspace, moment.astimezone(workspace.tzinfo).date())


class TimeEntry(CompiledInsert, LockedUpdate, models.Model):
    # A new entry whose id was drawn with its member's lock (member_time.TimeContext) is inserted
    # with the transaction's COMMIT: nothing is read back from its INSERT.
    insert_with_commit = True

    # No index of their own: the workspace leads the composite indexes below and the project leads
    # the covering one, and every insert maintains each index (bench/README, fifteenth round).
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="time_entries", db_index=False)
    member = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="time_entries")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="time_entries", db_index=False)
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.PROTECT, related_name="time_entries")
    description = models.TextField(blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True, help_text="Empty while the timer runs.")
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    billable = models.BooleanField(default=False)
    tags = models.ManyToManyField(Tag, blank=True, related_name="time_entries")
    state = models.CharField(max_length=10, choices=EntryState.choices, default=EntryState.ACTIVE)
    source = models.CharField(max_length=10, choices=EntrySource.choices, default=EntrySource.WEB)
    # The connection (OAuth grant or API key) the entry was created through; empty for a person's session.
    connection = models.ForeignKey(Connection, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # Why the entry is a draft (the agent policy that held it back), shown in the review queue.
    draft_reason = models.CharField(max_length=200, blank=True)
    # Rates resolved when the entry was created, so a later rate change does not reprice history.
    billable_rate = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    cost_rate = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    # Set while the entry is on a (draft, issued or paid) invoice: it is then locked. Voiding releases it.
    invoice_line = models.ForeignKey(
        "billing.InvoiceLine", null=True, blank=True, on_delete=models.SET_NULL, related_name="time_entries"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=now)
    updated_at = models.DateTimeField(default=now)
    # The workspace week the entry counts in (its timesheet's week_start), kept by save() and, when
    # the workspace's time zone or first weekday changes, by timesheets.services.entry_weeks_recompute.
    # Reports join approved weeks on it: computing it per row in SQL was most of unbilled's time (bench/).
    week_start = models.DateField(editable=False)
    # The billable rate in cents × the seconds: the entry's billable money exactly, as an integer
    # (money = the sum / 360 000). Computed by the database on every write, so no write path keeps
    # it. Budgets, unbilled time and revenue sum it instead of multiplying a numeric rate per row:
    # a third of budget burn's query at one million entries (bench/README, eleventh round).
    billable_cent_seconds = models.GeneratedField(
        expression=Cast(Round(F("billable_rate") * 100), models.BigIntegerField()) * F("duration_seconds"),
        output_field=models.BigIntegerField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["-started_at"]
        verbose_name_plural = "time entries"
        constraints = [
            models.UniqueConstraint(
                fields=["member"], condition=Q(ended_at__isnull=True), name="time_entry_one_running_timer_per_member"
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gt=F("started_at")),
                name="time_entry_ends_after_start",
            ),
            models.CheckConstraint(
                # Spelled out with isnull on both sides: a CHECK that evaluates to NULL passes.
                condition=Q(ended_at__isnull=True, duration_seconds__isnull=True)
                | Q(
                    ended_at__isnull=False,
                    duration_seconds__isnull=False,
                    duration_seconds__gte=1,
                    duration_seconds__lte=MAX_ENTRY_SECONDS,
                ),
                name="time_entry_duration_1s_to_24h",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "member", "started_at"], name="entry_ws_member_start_idx"),
            models.Index(fields=["workspace", "started_at"], name="entry_ws_start_idx"),
            # The review queue: drafts are few, so a partial index keeps it cheap.
            models.Index(
                fields=["workspace", "member", "created_at"], condition=Q(state="draft"), name="entry_ws_drafts_idx"
            ),
            # A project's entries, by time: the project filter of lists and reports, and budget burn,
            # which sums every entry of a project: covered, it is an index-only scan (bench/: 323 →
            # 84 ms at 1M entries). PostgreSQL only; other databases build the plain index.
            models.Index(
                fields=["project", "started_at"],
                include=["duration_seconds", "state", "billable", "billable_cent_seconds", "ended_at"],
                name="entry_project_cover_idx",
            ),
            # Unbilled time: billable entries not on an invoice are a small, shrinking part of the table.
            models.Index(
                fields=["workspace", "started_at"],
                include=[
                    "project",
                    "member",
                    "week_start",
                    "duration_seconds",
                    "billable_cent_seconds",
                    "state",
                    "ended_at",
                ],
                condition=Q(billable=True, invoice_line__isnull=True),
                name="entry_ws_unbilled_week_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member.user} {self.started_at:%Y-%m-%d %H:%M} {self.project}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "started_at" in update_fields:
            self.week_start = workspace_week(self.workspace, self.started_at)
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "week_start"}
        super().save(*args, **kwargs)

    @property
    def is_running(self) -> bool:
        return self.ended_at is None

    @property
    def is_human_created(self) -> bool:
        """Logged by a person (a browser session, or the web face): agents never change such time."""
        return self.connection_id is None or self.source == EntrySource.WEB


class TimesheetStatus(models.TextChoices):
    OPEN = "open", "Open"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class Timesheet(models.Model):
    """One member's week. Rows exist once a week was submitted; a missing row means open."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="timesheets")
    member = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="timesheets")
    week_start = models.DateField()
    status = models.CharField(max_length=10, choices=TimesheetStatus.choices, default=TimesheetStatus.OPEN)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-week_start"]
        constraints = [
            models.UniqueConstraint(fields=["member", "week_start"], name="timesheet_unique_member_week"),
            models.CheckConstraint(
                condition=~Q(status="rejected") | ~Q(rejection_reason=""), name="timesheet_rejection_has_reason"
            ),
        ]
        indexes = [models.Index(fields=["workspace", "status", "week_start"], name="timesheet_ws_status_week_idx")]

    def __str__(self) -> str:
        return f"{self.member.user} week of {self.week_start} ({self.status})"
