"""Idempotency records gain their caller. Records written before it cannot say whose they
were, so they are expired (deleted) rather than guessed: records live 24 hours anyway, and a
retry that misses its replay across the deploy is refused or run by the normal checks."""

from django.db import migrations, models


def expire_records_without_a_caller(apps, schema_editor):
    apps.get_model("accounts", "IdempotencyRecord").objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0003_team_webhook_secret"),
    ]

    operations = [
        migrations.RunPython(expire_records_without_a_caller, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="idempotencyrecord", name="one_record_per_key"),
        migrations.AddField(
            model_name="idempotencyrecord",
            name="caller",
            field=models.CharField(
                default="", max_length=80,
                help_text="key:<id>, user:<id>, or webhook:<workflow id> (key-less)."),
            preserve_default=False,
        ),
        migrations.AddConstraint(
            model_name="idempotencyrecord",
            constraint=models.UniqueConstraint(fields=("team", "caller", "key"),
                                               name="one_record_per_caller_key"),
        ),
    ]
