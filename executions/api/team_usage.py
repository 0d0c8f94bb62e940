"""/api/v1/teams/{teamId}/usage: credits and usage, the paged ledger and its CSV export.
Viewers and up, and keys with `usage:read`."""

from __future__ import annotations

import csv
import io

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.team_serializers import PageMeta
from accounts.api.teams import PAGE_PARAMS, _page, _team
from accounts.models import CreditLedgerEntry
from accounts.plans import Plan
from accounts.roles import Scope
from executions import usage

USAGE = Scope.USAGE_READ


class WorkflowSpendOut(serializers.Serializer):
    workflowId = serializers.UUIDField(allow_null=True)
    credits = serializers.IntegerField()


class TeamSpendDayOut(serializers.Serializer):
    date = serializers.DateField(help_text="A UTC day.")
    credits = serializers.IntegerField(help_text="Net credits spent (refunds deducted).")
    byWorkflow = WorkflowSpendOut(many=True)


class WorkflowTotalOut(serializers.Serializer):
    workflowId = serializers.UUIDField(allow_null=True)
    name = serializers.CharField()
    credits = serializers.IntegerField()
    runs = serializers.IntegerField()


class MemberTotalOut(serializers.Serializer):
    name = serializers.CharField(help_text="A username, `key <name>`, or the trigger "
                                           "(webhook, cli) of runs started by no one")
    userId = serializers.IntegerField(allow_null=True)
    credits = serializers.IntegerField()
    runs = serializers.IntegerField()


class TeamUsageResult(serializers.Serializer):
    teamId = serializers.IntegerField()
    plan = serializers.ChoiceField(Plan.values)
    planLabel = serializers.CharField()
    balance = serializers.IntegerField()
    executionsToday = serializers.IntegerField()
    executionsPerDay = serializers.IntegerField(allow_null=True, help_text="null: unlimited")
    executionsThisMinute = serializers.IntegerField()
    executionsPerMinute = serializers.IntegerField()
    requestsPerMinute = serializers.IntegerField()
    dayResetsAt = serializers.CharField()
    spendByDay = TeamSpendDayOut(many=True, help_text="The last 30 UTC days, oldest first.")
    byWorkflow = WorkflowTotalOut(many=True)
    byMember = MemberTotalOut(many=True)


class TeamUsageOut(serializers.Serializer):
    data = TeamUsageResult()


class LedgerLineOut(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.CharField()
    kind = serializers.ChoiceField(CreditLedgerEntry.Kind.values)
    delta = serializers.IntegerField()
    balanceAfter = serializers.IntegerField()
    reason = serializers.CharField(allow_blank=True)
    executionId = serializers.UUIDField(allow_null=True)
    workflowId = serializers.UUIDField(allow_null=True)
    workflowName = serializers.CharField(allow_blank=True)
    member = serializers.CharField(allow_blank=True)


class LedgerOut(serializers.Serializer):
    data = LedgerLineOut(many=True)
    meta = PageMeta()


class TeamUsageApi(APIView):
    required_scopes = {"GET": USAGE}

    @extend_schema(operation_id="teams_usage", responses={200: TeamUsageOut})
    def get(self, request: Request, team_id: int) -> Response:
        team = _team(request, team_id, USAGE)
        return Response({"data": usage.team_usage(team=team)})


class TeamLedgerApi(APIView):
    required_scopes = {"GET": USAGE}

    @extend_schema(operation_id="teams_ledger", parameters=PAGE_PARAMS,
                   responses={200: LedgerOut})
    def get(self, request: Request, team_id: int) -> Response:
        team = _team(request, team_id, USAGE)
        limit, offset = _page(request)
        entries = usage.team_ledger(team=team)
        return Response({"data": usage.ledger_rows(team, entries[offset:offset + limit]),
                         "meta": {"total": entries.count(), "limit": limit,
                                  "offset": offset}})


class AnyAccept(BaseContentNegotiation):
    """The export answers CSV (or an error as JSON) whatever the client accepts."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


CSV_COLUMNS = ["id", "at", "kind", "delta", "balanceAfter", "reason", "executionId",
               "workflowId", "workflowName", "member"]
EXPORT_BATCH = 2000


class TeamLedgerExportApi(APIView):
    """The whole ledger as CSV, newest first."""

    required_scopes = {"GET": USAGE}
    content_negotiation_class = AnyAccept

    @extend_schema(operation_id="teams_ledger_export",
                   responses={(200, "text/csv"): OpenApiResponse(
                       OpenApiTypes.STR, description="One line per ledger entry")})
    def get(self, request: Request, team_id: int) -> HttpResponse:
        team = _team(request, team_id, USAGE)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        entries = usage.team_ledger(team=team)
        for start in range(0, entries.count(), EXPORT_BATCH):
            for row in usage.ledger_rows(team, entries[start:start + EXPORT_BATCH]):
                writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{team.slug}-ledger.csv"'
        return response
