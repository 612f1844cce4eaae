"""Script versions stored once (SPEC §15): a job references its version's row instead of
carrying a copy of the source. The data step writes a version row for every script's current
version and for every (script, version) jobs ran — or, for jobs whose script was deleted, per
distinct code — then points each job at its row."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def forwards(apps, schema_editor):
    Script = apps.get_model("agents", "Script")
    ScriptVersion = apps.get_model("agents", "ScriptVersion")
    Job = apps.get_model("agents", "Job")
    rows = {}
    for s in Script.objects.all().iterator():
        rows[(s.id, s.version)] = ScriptVersion.objects.create(
            organization_id=s.organization_id,
            script_id=s.id,
            version=s.version,
            runtime=s.runtime,
            source=s.source,
        )
    orphans = {}
    jobs = Job.objects.order_by("created_at").values_list(
        "id", "organization_id", "script_id", "script_version", "script_runtime", "script_source"
    )
    for job_id, org_id, script_id, version, runtime, source in jobs.iterator():
        if script_id is not None:
            key = (script_id, version)
            code = rows.get(key)
            if code is None:
                code = rows[key] = ScriptVersion.objects.create(
                    organization_id=org_id,
                    script_id=script_id,
                    version=version,
                    runtime=runtime,
                    source=source,
                )
        else:
            key = (org_id, version, runtime, source)
            code = orphans.get(key)
            if code is None:
                code = orphans[key] = ScriptVersion.objects.create(
                    organization_id=org_id, version=version, runtime=runtime, source=source
                )
        Job.objects.filter(id=job_id).update(code_id=code.id)


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0012_livelog"),
        ("billing", "0003_audit"),
    ]

    operations = [
        migrations.CreateModel(
            name="ScriptVersion",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("version", models.PositiveIntegerField()),
                (
                    "runtime",
                    models.CharField(
                        choices=[("python", "Python"), ("shell", "Shell")],
                        max_length=20,
                    ),
                ),
                ("source", models.TextField()),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="billing.organization",
                    ),
                ),
                (
                    "script",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="versions",
                        to="agents.script",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("script", "version"), name="script_version_unique"
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="job",
            name="code",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.RESTRICT,
                related_name="jobs",
                to="agents.scriptversion",
            ),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True),
    ]
