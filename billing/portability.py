"""Data portability: a whole workspace as JSON Lines per model, zipped, written row by row."""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.files import File
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from billing.models import Expense, ExportStatus, Invoice, InvoiceLine, WorkspaceExport
from billing.tasks import export_workspace
from timesheets.models import TimeEntry, Timesheet
from workspaces import audit, policies
from workspaces.errors import Forbidden
from workspaces.models import AuditEvent, Client, Connection, Membership, Project, Tag, Task, Workspace
from workspaces.policies import Perm
from workspaces.principals import Principal

MEMBER_FIELDS = (
    "id", "user_id", "user__username", "user__email", "role", "is_active", "weekly_capacity_hours",
    "billable_rate", "cost_rate", "created_at", "deactivated_at",
)  # fmt: skip
# No key hash: a secret's hash stays where it is.
CONNECTION_FIELDS = (
    "id", "kind", "user_id", "application_id", "label", "scopes", "allow_sensitive", "key_prefix",
    "created_at", "last_used_at", "revoked_at", "revoked_by_id",
)  # fmt: skip


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _tables(workspace: Workspace) -> dict[str, QuerySet[Any]]:
    """Every table of the workspace, as plain values (secrets such as API key hashes left out)."""
    return {
        "workspace": Workspace.objects.filter(pk=workspace.pk).values(),
        "members": Membership.objects.filter(workspace=workspace).values(*MEMBER_FIELDS),
        "clients": Client.objects.filter(workspace=workspace).values(),
        "projects": Project.objects.filter(workspace=workspace).values(),
        "project_team": Project.team.through.objects.filter(project__workspace=workspace).values(),
        "tasks": Task.objects.filter(project__workspace=workspace).values(),
        "tags": Tag.objects.filter(workspace=workspace).values(),
        "time_entries": TimeEntry.objects.filter(workspace=workspace).values().order_by("id"),
        "time_entry_tags": TimeEntry.tags.through.objects.filter(timeentry__workspace=workspace).values(),
        "timesheets": Timesheet.objects.filter(workspace=workspace).values(),
        "expenses": Expense.objects.filter(workspace=workspace).values(),
        "invoices": Invoice.objects.filter(workspace=workspace).values(),
        "invoice_lines": InvoiceLine.objects.filter(invoice__workspace=workspace).values(),
        "connections": Connection.objects.filter(workspace=workspace).values(*CONNECTION_FIELDS),
        "audit_events": AuditEvent.objects.filter(workspace=workspace).values().order_by("created_at"),
    }


def _lines(queryset: QuerySet[Any]) -> Iterator[bytes]:
    for row in queryset.iterator(chunk_size=2000):
        yield (json.dumps(row, default=_json_default, ensure_ascii=False) + "\n").encode()


@transaction.atomic
def workspace_export_request(*, actor: Principal) -> WorkspaceExport:
    """Admins (with sensitive access: the export holds cost rates and contact data) ask for an export;
    a task builds it and the record shows its progress."""
    policies.ensure(actor, Perm.WORKSPACE_MANAGE)
    if not policies.can_view_sensitive(actor):
        raise Forbidden("The export holds cost rates and contact data: it needs sensitive access.")
    export = WorkspaceExport.objects.create(workspace=actor.workspace, requested_by=actor.user)
    audit.record(action="workspace.export", actor=actor, target=export)
    transaction.on_commit(lambda: export_workspace.delay(export_id=export.pk))
    return export


def workspace_export_build(*, export_id: int) -> WorkspaceExport:
    """Write the zip (one JSON Lines file per table, plus a manifest). Safe to run again."""
    export = WorkspaceExport.objects.select_related("workspace").get(pk=export_id)
    if export.status == ExportStatus.DONE:
        return export
    WorkspaceExport.objects.filter(pk=export.pk).update(status=ExportStatus.RUNNING)
    try:
        counts: dict[str, int] = {}
        with tempfile.TemporaryFile() as handle:
            with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for name, queryset in _tables(export.workspace).items():
                    with archive.open(f"{name}.jsonl", "w") as member:
                        counts[name] = 0
                        for line in _lines(queryset):
                            member.write(line)
                            counts[name] += 1
                manifest = {"workspace": export.workspace.slug, "exported_at": timezone.now(), "counts": counts}
                archive.writestr("manifest.json", json.dumps(manifest, default=_json_default, indent=2))
            handle.seek(0)
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
            export.file.save(f"{export.workspace.slug}-{stamp}.zip", File(handle), save=False)
    except Exception as exc:
        WorkspaceExport.objects.filter(pk=export.pk).update(
            status=ExportStatus.FAILED, error=f"{exc.__class__.__name__}: {exc}"[:2000], finished_at=timezone.now()
        )
        raise
    export.status, export.counts, export.finished_at = ExportStatus.DONE, counts, timezone.now()
    export.save(update_fields=["file", "status", "counts", "finished_at"])
    return export
