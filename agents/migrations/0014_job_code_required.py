"""Every job now references its script version (0013 wrote them): the reference is required and
the job's own copy of the runtime and source goes. Its own migration: PostgreSQL refuses to
alter a table in the transaction that just updated its rows under deferred constraints."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0013_script_versions"),
    ]

    operations = [
        migrations.AlterField(
            model_name="job",
            name="code",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.RESTRICT,
                related_name="jobs",
                to="agents.scriptversion",
            ),
        ),
        migrations.RemoveField(model_name="job", name="script_runtime"),
        migrations.RemoveField(model_name="job", name="script_source"),
    ]
