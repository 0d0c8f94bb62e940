"""Create the demo team, user, API key and workflows; safe to run again and again."""

import os
import secrets

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import services as accounts
from accounts.models import ApiKey, Team, User
from accounts.plans import Plan
from accounts.roles import Role
from accounts.selectors import principal_for_user
from graph.demo import DEMO_WORKFLOWS
from graph.models import Workflow
from graph.services import workflow_create

STARTING_CREDITS = 1_000


class Command(BaseCommand):
    help = "Create (or refresh) the demo team 'demo', its admin user 'demo', a key and workflows."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="http://127.0.0.1:8000")

    def handle(self, *args, host, **options):
        with transaction.atomic():
            team, created = Team.objects.get_or_create(
                slug="demo", defaults={"name": "Demo team", "plan": Plan.PRO}
            )
            if created:
                accounts.credits_grant(team=team, amount=STARTING_CREDITS, reason="Demo credits")
            user, password = self._user()
            accounts.membership_set(team=team, user=user, role=Role.OWNER)
            raw_key = None
            if not ApiKey.objects.filter(team=team, name="demo", revoked_at__isnull=True).exists():
                raw_key = accounts.api_key_create(team=team, name="demo", created_by=user).raw_key
            principal = principal_for_user(user)
            for spec in DEMO_WORKFLOWS:
                if not Workflow.objects.filter(team=team, name=spec["name"]).exists():
                    workflow_create(team=team, actor=principal, **spec)

        key_line = raw_key or (
            "created on an earlier run and shown only then; make another with\n"
            "               .venv/bin/python manage.py createapikey --team demo --name mine"
        )
        self.stdout.write(
            "\n  Demo team:   demo (Pro plan, "
            f"{Team.objects.get(pk=team.pk).credit_balance} credits)"
            f"\n  Login:       {host}/login/  user: demo  password: {password}"
            f"\n  API key:     {key_line}"
            f"\n  Try:         curl -H \"Authorization: Bearer {raw_key or '<key>'}\" "
            f"{host}/api/v1/workflows\n"
        )

    def _user(self) -> tuple[User, str]:
        """The demo superuser; its password from DEMO_PASSWORD, else one kept in var/."""
        password_file = settings.VAR_DIR / "demo_password"
        password = os.environ.get("DEMO_PASSWORD")
        if not password:
            if password_file.exists():
                password = password_file.read_text().strip()
            else:
                password = secrets.token_urlsafe(12)
                password_file.write_text(password)
                password_file.chmod(0o600)
        user, _ = User.objects.get_or_create(
            username="demo", defaults={"email": "demo@example.com"}
        )
        user.is_staff = user.is_superuser = True
        if not user.check_password(password):
            user.set_password(password)
        user.save()
        return user, password
