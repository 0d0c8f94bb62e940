from django.apps import AppConfig


class ClientAppsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "clientapps"
    verbose_name = "Client apps"
