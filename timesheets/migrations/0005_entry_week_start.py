"""Each entry keeps the workspace week it counts in (``TimeEntry.week_start``), and the unbilled
index covers it: reports join approved weeks on the column instead of converting every entry's
start to the workspace's time zone (bench/README, tenth round)."""

import zoneinfo
from datetime import timedelta

from django.db import migrations, models

BATCH = 2000

# The same day as ``timesheets.models.workspace_week``: the local date, back to the week's first day
# (ISODOW: Monday 1 … Sunday 7; week_start: Monday 0 … Sunday 6).
POSTGRESQL_BACKFILL = """
UPDATE timesheets_timeentry AS e
SET week_start = (e.started_at AT TIME ZONE w.timezone)::date
    - ((EXTRACT(ISODOW FROM e.started_at AT TIME ZONE w.timezone)::int - 1 - w.week_start + 7) %% 7)
FROM workspaces_workspace AS w
WHERE w.id = e.workspace_id
"""


def backfill(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_BACKFILL)
        return
    TimeEntry = apps.get_model("timesheets", "TimeEntry")
    Workspace = apps.get_model("workspaces", "Workspace")
    for workspace in Workspace.objects.all():
        zone = zoneinfo.ZoneInfo(workspace.timezone)
        batch = []
        for entry in TimeEntry.objects.filter(workspace=workspace).only("id", "started_at").iterator(BATCH):
            day = entry.started_at.astimezone(zone).date()
            entry.week_start = day - timedelta(days=(day.weekday() - workspace.week_start) % 7)
            batch.append(entry)
            if len(batch) == BATCH:
                TimeEntry.objects.bulk_update(batch, ["week_start"])
                batch = []
        TimeEntry.objects.bulk_update(batch, ["week_start"])


class Migration(migrations.Migration):
    dependencies = [
        ("timesheets", "0004_entry_covering_indexes"),
        ("workspaces", "0003_idempotency"),
    ]

    operations = [
        migrations.AddField(
            model_name="timeentry",
            name="week_start",
            field=models.DateField(null=True, editable=False),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="timeentry",
            name="week_start",
            field=models.DateField(editable=False),
        ),
        migrations.RemoveIndex(model_name="timeentry", name="entry_ws_unbilled_idx"),
        migrations.AddIndex(
            model_name="timeentry",
            index=models.Index(
                condition=models.Q(("billable", True), ("invoice_line__isnull", True)),
                fields=["workspace", "started_at"],
                include=("project", "member", "week_start", "duration_seconds", "billable_rate", "state", "ended_at"),
                name="entry_ws_unbilled_week_idx",
            ),
        ),
    ]
