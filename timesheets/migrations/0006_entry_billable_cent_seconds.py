"""Each entry's billable money as an exact integer, computed by the database
(``TimeEntry.billable_cent_seconds``: the rate in cents × the seconds), and the two covering
indexes carry it instead of the rate: budgets, unbilled time and revenue sum it instead of
multiplying a numeric rate per row (bench/README, eleventh round).

PostgreSQL adds a stored generated column by rewriting the table: on a large table, run this in a
maintenance window.
"""

from django.db import migrations, models
from django.db.models import F
from django.db.models.functions import Cast, Round


class Migration(migrations.Migration):
    dependencies = [
        ("timesheets", "0005_entry_week_start"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="timeentry", name="entry_project_cover_idx"),
        migrations.RemoveIndex(model_name="timeentry", name="entry_ws_unbilled_week_idx"),
        migrations.AddField(
            model_name="timeentry",
            name="billable_cent_seconds",
            field=models.GeneratedField(
                db_persist=True,
                expression=Cast(Round(F("billable_rate") * 100), models.BigIntegerField()) * F("duration_seconds"),
                output_field=models.BigIntegerField(),
            ),
        ),
        migrations.AddIndex(
            model_name="timeentry",
            index=models.Index(
                fields=["project", "started_at"],
                include=("duration_seconds", "state", "billable", "billable_cent_seconds", "ended_at"),
                name="entry_project_cover_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="timeentry",
            index=models.Index(
                condition=models.Q(("billable", True), ("invoice_line__isnull", True)),
                fields=["workspace", "started_at"],
                include=(
                    "project",
                    "member",
                    "week_start",
                    "duration_seconds",
                    "billable_cent_seconds",
                    "state",
                    "ended_at",
                ),
                name="entry_ws_unbilled_week_idx",
            ),
        ),
    ]
