"""GET /developer/usage: the balance, today's executions against the plan, spend per day."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import serializers as s
from accounts.models import CreditLedgerEntry
from accounts.permissions import require_scope
from accounts.plans import limits_for
from accounts.ratelimit import executions_today
from accounts.roles import Scope
from wireflow_site.errors import ApiError, ErrorOut


class UsageApi(APIView):
    required_scopes = {"GET": Scope.USAGE_READ}

    @extend_schema(operation_id="developer_usage", responses={200: s.UsageOut, 403: ErrorOut})
    def get(self, request: Request) -> Response:
        team = request.principal.default_team()
        if team is None:
            raise ApiError("You are not a member of any team", code="no_team", status=403)
        require_scope(request.principal, team.pk, Scope.USAGE_READ)
        team.refresh_from_db(fields=["credit_balance"])
        limits = limits_for(team.plan)
        since = timezone.now() - timedelta(days=30)
        spend = (
            CreditLedgerEntry.objects.filter(
                team=team, created_at__gte=since,
                kind__in=(CreditLedgerEntry.Kind.CHARGE, CreditLedgerEntry.Kind.REFUND))
            .annotate(day=TruncDate("created_at")).values("day")
            .annotate(net=Sum("delta")).order_by("day")
        )
        return Response({"data": {
            "teamId": team.pk,
            "plan": team.plan,
            "balance": team.credit_balance,
            "executionsToday": executions_today(team),
            "executionsPerDay": limits.executions_per_day,
            "executionsPerMinute": limits.executions_per_minute,
            "requestsPerMinute": limits.requests_per_minute,
            "retentionDays": limits.retention_days,
            "dayResetsAt": "00:00 UTC",
            "spendByDay": [{"date": row["day"].isoformat(), "credits": -row["net"]}
                           for row in spend],
        }})


class WebhookSecretApi(APIView):
    """The team's signing secret for completion webhooks: team admins only (never a key)."""

    required_scopes = {"GET": Scope.USAGE_READ, "POST": Scope.USAGE_READ}

    def _team(self, request: Request):
        from accounts.roles import MANAGE_KEYS

        team = request.principal.default_team()
        if team is None or request.principal.api_key is not None or not request.principal.can(
                team.pk, MANAGE_KEYS):
            raise ApiError("Only a team admin, signed in, can see the webhook secret",
                           code="forbidden", status=403)
        return team

    @extend_schema(operation_id="developer_webhook_secret",
                   responses={200: s.WebhookSecretOut, 403: ErrorOut})
    def get(self, request: Request) -> Response:
        team = self._team(request)
        return Response({"data": {"teamId": team.pk, "secret": team.webhook_secret,
                                  "scheme": "Standard Webhooks (HMAC-SHA256)"}})

    @extend_schema(operation_id="developer_webhook_secret_rotate", request=None,
                   responses={200: s.WebhookSecretOut, 403: ErrorOut})
    def post(self, request: Request) -> Response:
        from accounts.services import team_rotate_webhook_secret

        team = self._team(request)
        return Response({"data": {"teamId": team.pk,
                                  "secret": team_rotate_webhook_secret(team=team),
                                  "scheme": "Standard Webhooks (HMAC-SHA256)"}})
