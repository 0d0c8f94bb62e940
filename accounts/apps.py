from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Teams and accounts"

    def ready(self) -> None:
        from accounts import keycache, member_sockets

        keycache.connect()
        member_sockets.connect()
