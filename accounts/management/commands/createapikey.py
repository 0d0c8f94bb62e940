"""python manage.py createapikey --team SLUG --name NAME [--scopes a,b] [--expires-in-days N]"""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.activity import Kind, activity_record
from accounts.roles import API_KEY_SCOPES
from accounts.selectors import team_by_slug
from accounts.services import api_key_create
from wireflow_site.errors import ApiError


class Command(BaseCommand):
    help = "Create an API key for a team and print it once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("--team", required=True, help="Team slug")
        parser.add_argument("--name", required=True, help="A name to recognise the key by")
        parser.add_argument(
            "--scopes",
            default=",".join(API_KEY_SCOPES),
            help=f"Comma-separated scopes (default: all of {', '.join(API_KEY_SCOPES)})",
        )
        parser.add_argument("--expires-in-days", type=int, default=None)

    def handle(self, *args, team, name, scopes, expires_in_days, **options):
        team_obj = team_by_slug(team)
        if team_obj is None:
            raise CommandError(f"No team with slug {team!r}")
        if expires_in_days is not None and expires_in_days <= 0:
            raise CommandError("--expires-in-days must be a positive number of days")
        expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
        try:
            with transaction.atomic():
                new = api_key_create(
                    team=team_obj,
                    name=name,
                    scopes=[s.strip() for s in scopes.split(",") if s.strip()],
                    expires_at=expires_at,
                )
                activity_record(team_id=team_obj.pk, kind=Kind.KEY_CREATED, source="cli",
                                subject=new.api_key.name,
                                details={"key": new.api_key.masked,
                                         "scopes": new.api_key.scopes})
        except ApiError as error:
            raise CommandError(error.message) from None
        self.stdout.write(new.raw_key)
        self.stderr.write(
            f"Created key {new.api_key.masked} for team {team_obj.slug} with scopes "
            f"{', '.join(new.api_key.scopes)}"
            + (f", expiring {expires_at:%Y-%m-%d %H:%M} UTC" if expires_at else "")
            + ". It is shown only now."
        )
