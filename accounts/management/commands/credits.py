"""python manage.py credits --team SLUG (--grant N | --set N) [--reason TEXT]"""

from django.core.management.base import BaseCommand, CommandError

from accounts.selectors import team_by_slug
from accounts.services import credits_grant, credits_set
from wireflow_site.errors import ApiError


class Command(BaseCommand):
    help = "Grant credits to a team or set its balance; every change is a ledger entry."

    def add_arguments(self, parser):
        parser.add_argument("--team", required=True)
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--grant", type=int)
        group.add_argument("--set", type=int, dest="set_to")
        parser.add_argument("--reason", default="")

    def handle(self, *args, team, grant, set_to, reason, **options):
        team_obj = team_by_slug(team)
        if team_obj is None:
            raise CommandError(f"No team with slug {team!r}")
        try:
            if grant is not None:
                credits_grant(team=team_obj, amount=grant, reason=reason or "Granted by operator")
            else:
                credits_set(team=team_obj, balance=set_to, reason=reason)
        except ApiError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"{team_obj.slug}: {team_obj.credit_balance} credits")
