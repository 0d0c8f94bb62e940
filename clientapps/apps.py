from django.apps import AppConfig


class ClientAppsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "clientapps"
    verbose_name = "Client apps"

    def ready(self) -> None:
        from executions.retention import asset_field_keep

        asset_field_keep("clientapps.App", "cover_asset")  # an app's cover outlives retention
