"""The audit event's workspace has no index of its own: it leads every index of the table, and
each of the many inserts maintained it (bench/README, fifteenth round)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('workspaces', '0003_idempotency'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditevent',
            name='workspace',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='workspaces.workspace'),
        ),
    ]
