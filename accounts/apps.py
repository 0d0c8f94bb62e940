from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Teams and accounts"

    def ready(self) -> None:
        from accounts import keycache

        keycache.connect()
