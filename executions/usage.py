"""A team's credits and usage: the balance and plan, today's executions against the plan's
limits, spend per day for 30 days by workflow and by member, and the ledger with the run each
line belongs to. Reads only (the ledger is written by accounts.services).

Spend is net: a run reserves its estimate (a charge line) and gets back what it did not use
(a refund line), both with the run's id as their reference, so a day's spend is the sum of
those lines negated. Grants and adjustments are not spend."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import CreditLedgerEntry, Team
from accounts.plans import limits_for
from accounts.ratelimit import executions_this_minute, executions_today
from executions.models import Execution

SPEND_KINDS = (CreditLedgerEntry.Kind.CHARGE, CreditLedgerEntry.Kind.REFUND)
DAYS = 30


REFERENCE_PREFIX = "execution:"  # how the planner and the scheduler name a run's lines


def run_id_of(reference: str) -> str | None:
    """The run a ledger line's reference names (`execution:<id>`), or None."""
    if not reference or not reference.startswith(REFERENCE_PREFIX):
        return None
    try:
        return str(uuid.UUID(reference[len(REFERENCE_PREFIX):]))
    except ValueError:
        return None


def _run_ids(references) -> list[uuid.UUID]:
    return [uuid.UUID(run_id) for run_id in {run_id_of(r) for r in references} if run_id]


def runs_by_id(team: Team, references) -> dict[str, dict]:
    """The runs the ledger lines name (of this team only), by ledger reference, with who
    started them and where."""
    rows = Execution.objects.filter(team=team, id__in=_run_ids(set(references))).values(
        "id", "workflow_id", "workflow__name", "created_by_id", "created_by__username",
        "api_key__name", "trigger")
    runs = {}
    for row in rows:
        if row["created_by_id"] is not None:
            who, who_key = row["created_by__username"], f"user:{row['created_by_id']}"
        elif row["api_key__name"] is not None:
            who, who_key = f"key {row['api_key__name']}", f"key:{row['api_key__name']}"
        else:
            who, who_key = row["trigger"], f"trigger:{row['trigger']}"
        runs[REFERENCE_PREFIX + str(row["id"])] = {
            "workflowId": str(row["workflow_id"]) if row["workflow_id"] else None,
            "workflowName": row["workflow__name"] or "(deleted workflow)",
            "member": who, "memberKey": who_key, "userId": row["created_by_id"],
        }
    return runs


def team_usage(*, team: Team, today: date | None = None) -> dict:
    team.refresh_from_db(fields=["credit_balance", "plan"])
    limits = limits_for(team.plan)
    today = today or timezone.now().date()
    first = today - timedelta(days=DAYS - 1)
    since = datetime.combine(first, time.min, tzinfo=UTC)
    lines = (CreditLedgerEntry.objects
             .filter(team=team, created_at__gte=since, kind__in=SPEND_KINDS)
             .annotate(day=TruncDate("created_at", tzinfo=UTC))
             .values("day", "reference").annotate(net=Sum("delta")))
    lines = list(lines)
    runs = runs_by_id(team, (line["reference"] for line in lines))
    per_day: dict[date, int] = defaultdict(int)
    per_day_workflow: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    workflows: dict[str, dict] = {}
    members: dict[str, dict] = {}
    for line in lines:
        spent = -line["net"]
        per_day[line["day"]] += spent
        run = runs.get(line["reference"])
        workflow_key = run["workflowId"] if run and run["workflowId"] else "-"
        per_day_workflow[line["day"]][workflow_key] += spent
        workflow = workflows.setdefault(workflow_key, {
            "workflowId": run["workflowId"] if run else None,
            "name": run["workflowName"] if run else "(no run)", "credits": 0, "runs": set()})
        workflow["credits"] += spent
        workflow["runs"].add(line["reference"])
        member_key = run["memberKey"] if run else "-"
        member = members.setdefault(member_key, {
            "name": run["member"] if run else "(no run)",
            "userId": run["userId"] if run else None, "credits": 0, "runs": set()})
        member["credits"] += spent
        member["runs"].add(line["reference"])
    return {
        "teamId": team.pk, "plan": team.plan, "planLabel": team.get_plan_display(),
        "balance": team.credit_balance,
        "executionsToday": executions_today(team),
        "executionsPerDay": limits.executions_per_day,
        "executionsThisMinute": executions_this_minute(team),
        "executionsPerMinute": limits.executions_per_minute,
        "requestsPerMinute": limits.requests_per_minute,
        "dayResetsAt": "00:00 UTC",
        "spendByDay": [
            {"date": (first + timedelta(days=n)).isoformat(),
             "credits": per_day.get(first + timedelta(days=n), 0),
             "byWorkflow": [{"workflowId": None if key == "-" else key, "credits": credits}
                            for key, credits in sorted(
                                per_day_workflow.get(first + timedelta(days=n), {}).items())]}
            for n in range(DAYS)],
        "byWorkflow": sorted(({**w, "runs": len(w["runs"])} for w in workflows.values()),
                             key=lambda w: -w["credits"]),
        "byMember": sorted(({**m, "runs": len(m["runs"])} for m in members.values()),
                           key=lambda m: -m["credits"]),
    }


def team_ledger(*, team: Team):
    """The team's ledger, newest first (a queryset, for paging)."""
    return CreditLedgerEntry.objects.filter(team=team).select_related("created_by").order_by(
        "-created_at", "-id")


def ledger_rows(team: Team, entries) -> list[dict]:
    entries = list(entries)
    runs = runs_by_id(team, (e.reference for e in entries if e.reference))
    rows = []
    for entry in entries:
        run = runs.get(entry.reference)
        rows.append({
            "id": entry.pk,
            "at": entry.created_at.isoformat().replace("+00:00", "Z"),
            "kind": entry.kind, "delta": entry.delta, "balanceAfter": entry.balance_after,
            "reason": entry.reason,
            "executionId": run_id_of(entry.reference) if run else None,
            "workflowId": run["workflowId"] if run else None,
            "workflowName": run["workflowName"] if run else "",
            "member": run["member"] if run else (
                entry.created_by.get_username() if entry.created_by else ""),
        })
    return rows
