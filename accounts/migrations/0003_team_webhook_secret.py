import accounts.models
from django.db import migrations, models


def one_secret_per_team(apps, schema_editor):
    """AddField computes a callable default once for all rows: give every team its own."""
    Team = apps.get_model("accounts", "Team")
    for team in Team.objects.all():
        team.webhook_secret = accounts.models.new_webhook_secret()
        team.save(update_fields=["webhook_secret"])


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0002_idempotencyrecord"),
    ]

    operations = [
        migrations.AddField(
            model_name="team",
            name="webhook_secret",
            field=models.CharField(default=accounts.models.new_webhook_secret, max_length=80),
        ),
        migrations.RunPython(one_secret_per_team, migrations.RunPython.noop),
    ]
