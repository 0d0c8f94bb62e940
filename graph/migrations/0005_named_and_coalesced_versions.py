"""Named versions (label) and coalesced autosaves (started_at, saves, superseded_at); then the
existing history is coalesced as graph.versions does it live: a run of autosaves by one author
(each within 5 minutes of the last, the run shorter than 15) keeps only its newest version. Kept
whatever: a workflow's latest version, every version a run was started from, every version the
activity log says was restored from, and every create/duplicate/restore/template version.
Deleted versions cannot come back, so going backwards only drops the columns."""

from datetime import timedelta

import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

IDLE_GAP = timedelta(minutes=5)
BURST_MAX = timedelta(minutes=15)
EDITS = {"update", "replace", "patch_node"}


def coalesce(apps, schema_editor):
    Version = apps.get_model("graph", "WorkflowVersion")
    Execution = apps.get_model("executions", "Execution")
    Activity = apps.get_model("accounts", "ActivityEvent")
    Version.objects.update(started_at=models.F("created_at"))
    ran = set(Execution.objects.exclude(workflow_version=None)
              .values_list("workflow_version_id", flat=True))
    restored = set()
    for workflow_id, details in Activity.objects.filter(kind="version.restored").values_list(
            "workflow_id", "details"):
        if isinstance(details, dict) and isinstance(details.get("number"), int):
            restored.add((str(workflow_id), details["number"]))
    workflow_ids = Version.objects.values_list("workflow_id", flat=True).distinct()
    for workflow_id in workflow_ids.iterator():
        rows = list(Version.objects.filter(workflow_id=workflow_id).order_by("number").values(
            "id", "number", "source", "label", "created_by_id", "api_key_id", "created_at"))
        gone, survivors, burst = [], {}, None
        for index, row in enumerate(rows):
            kept = (row["id"] in ran or row["label"] or index == len(rows) - 1
                    or (str(workflow_id), row["number"]) in restored)
            if (burst is not None and row["source"] in EDITS
                    and (row["created_by_id"], row["api_key_id"]) == burst["who"]
                    and row["created_at"] - burst["last_at"] < IDLE_GAP
                    and row["created_at"] - burst["started_at"] < BURST_MAX
                    and not burst["kept"]):
                gone.append(burst["id"])
                survivors.pop(burst["id"], None)
                burst.update(id=row["id"], last_at=row["created_at"], saves=burst["saves"] + 1,
                             kept=bool(kept))
            elif row["source"] in EDITS and not row["label"]:
                burst = {"id": row["id"], "who": (row["created_by_id"], row["api_key_id"]),
                         "started_at": row["created_at"], "last_at": row["created_at"],
                         "saves": 1, "kept": bool(kept)}
            else:
                burst = None
                continue
            survivors[burst["id"]] = (burst["started_at"], burst["saves"])
        for start in range(0, len(gone), 500):
            Version.objects.filter(pk__in=gone[start:start + 500]).delete()
        for version_id, (started_at, saves) in survivors.items():
            if saves > 1:
                Version.objects.filter(pk=version_id).update(started_at=started_at, saves=saves)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0005_invites_activity'),
        ('executions', '0001_initial'),
        ('graph', '0004_workflow_templates'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='workflowversion',
            name='label',
            field=models.CharField(blank=True, default='', max_length=120),
        ),
        migrations.AddField(
            model_name='workflowversion',
            name='saves',
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.AddField(
            model_name='workflowversion',
            name='started_at',
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name='workflowversion',
            name='superseded_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name='workflowversion',
            index=models.Index(fields=['workflow', 'superseded_at'], name='graph_workf_workflo_8626c2_idx'),
        ),
        migrations.RunPython(coalesce, migrations.RunPython.noop),
    ]
