from django.db import migrations, models

import graph.models


def give_each_a_token(apps, schema_editor):
    Workflow = apps.get_model("graph", "Workflow")
    for workflow in Workflow.objects.filter(share_token__isnull=True):
        workflow.share_token = graph.models.new_webhook_id()
        workflow.save(update_fields=["share_token"])


class Migration(migrations.Migration):

    dependencies = [
        ("graph", "0002_workflow_completion_webhook_url"),
    ]

    operations = [
        migrations.AddField(
            model_name="workflow",
            name="link_permission",
            field=models.CharField(
                choices=[("private", "Private"), ("view", "Anyone with the link")],
                default="private", max_length=10),
        ),
        # Nullable first, one token per row, then unique: a callable default on AddField would
        # give every existing workflow the same token.
        migrations.AddField(
            model_name="workflow",
            name="share_token",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.RunPython(give_each_a_token, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="workflow",
            name="share_token",
            field=models.CharField(default=graph.models.new_webhook_id, max_length=64,
                                   unique=True),
        ),
    ]
