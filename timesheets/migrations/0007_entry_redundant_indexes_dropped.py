"""Three indexes every entry insert maintained and no query needs (bench/README, fifteenth round):
the workspace's and the project's own foreign-key indexes, and (workspace, project, started_at).
The workspace leads the other composite indexes; the project leads ``entry_project_cover_idx``,
which PostgreSQL uses for the project filter in their place (``tests/timesheets/test_entry_indexes.py``)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('timesheets', '0006_entry_billable_cent_seconds'),
        ('workspaces', '0004_audit_workspace_no_own_index'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='timeentry',
            name='entry_ws_project_start_idx',
        ),
        migrations.AlterField(
            model_name='timeentry',
            name='project',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='time_entries', to='workspaces.project'),
        ),
        migrations.AlterField(
            model_name='timeentry',
            name='workspace',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='time_entries', to='workspaces.workspace'),
        ),
    ]
