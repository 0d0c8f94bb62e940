"""/api/v1/teams/{teamId}/usage: balance and plan, today's executions against the plan, spend
per day for 30 days by workflow and by member, the paged ledger with its runs, and its CSV.
Spend comes from real ledger lines (a run's reservation and its refund)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import CreditLedgerEntry
from accounts.selectors import principal_for_user
from accounts.services import credits_release, credits_reserve
from executions.models import Execution
from graph.services import workflow_create
from tests.graph.builders import text_to_image

pytestmark = pytest.mark.django_db


def T(team) -> str:
    return f"/api/v1/teams/{team.pk}"


def spend(team, workflow, *, user=None, api_key=None, reserved, spent, days_ago=0):
    """A run that reserved `reserved` credits and gave back what it did not spend."""
    run = Execution.objects.create(team=team, workflow=workflow, created_by=user,
                                   api_key=api_key, trigger="editor" if user else "api")
    reference = f"execution:{run.pk}"  # as the planner and the scheduler write it
    credits_reserve(team=team, amount=reserved, reference=reference)
    credits_release(team=team, amount=reserved - spent, reference=reference)
    if days_ago:
        CreditLedgerEntry.objects.filter(reference=reference).update(
            created_at=timezone.now() - timedelta(days=days_ago))
    return run


@pytest.fixture
def spent(make_team, make_user, make_key):
    team = make_team(plan="starter", credits=1000)
    alice = make_user(team=team, role="editor", username="alice")
    bob = make_user(team=team, role="viewer", username="bob")
    key = make_key(team, name="ci").api_key
    nodes, edges = text_to_image()
    posters, _ = workflow_create(team=team, actor=principal_for_user(alice), name="Posters",
                                 nodes=nodes, edges=edges)
    videos, _ = workflow_create(team=team, actor=principal_for_user(alice), name="Videos",
                                nodes=nodes, edges=edges)
    runs = [spend(team, posters, user=alice, reserved=10, spent=7),
            spend(team, posters, user=alice, reserved=5, spent=5, days_ago=3),
            spend(team, videos, api_key=key, reserved=30, spent=25),
            spend(team, videos, user=alice, reserved=9, spent=9, days_ago=45)]  # too old
    return team, alice, bob, posters, videos, runs


def test_usage_shows_balance_plan_limits_and_30_days_of_spend(spent):
    team, alice, bob, posters, videos, runs = spent
    client = APIClient()
    client.force_login(bob)  # a viewer reads usage
    data = client.get(f"{T(team)}/usage").json()["data"]
    assert (data["plan"], data["planLabel"], data["balance"]) == ("starter", "Starter",
                                                                  1000 - 7 - 5 - 25 - 9)
    assert (data["executionsPerDay"], data["executionsPerMinute"]) == (200, 10)
    assert data["executionsToday"] == 0
    days = data["spendByDay"]
    assert len(days) == 30 and days[-1]["date"] == timezone.now().date().isoformat()
    assert days[-1]["credits"] == 7 + 25 and days[-4]["credits"] == 5
    assert sum(d["credits"] for d in days) == 37
    assert sorted(days[-1]["byWorkflow"], key=lambda w: w["credits"]) == [
        {"workflowId": str(posters.pk), "credits": 7},
        {"workflowId": str(videos.pk), "credits": 25}]
    assert data["byWorkflow"] == [
        {"workflowId": str(videos.pk), "name": "Videos", "credits": 25, "runs": 1},
        {"workflowId": str(posters.pk), "name": "Posters", "credits": 12, "runs": 2}]
    assert data["byMember"] == [
        {"name": "key ci", "userId": None, "credits": 25, "runs": 1},
        {"name": "alice", "userId": alice.pk, "credits": 12, "runs": 2}]


def test_the_ledger_pages_newest_first_with_each_lines_run(spent):
    team, alice, bob, posters, videos, runs = spent
    client = APIClient()
    client.force_login(bob)
    page = client.get(f"{T(team)}/usage/ledger?limit=3").json()
    # A grant, then per run its reservation and (when it spent less) the refund.
    assert page["meta"] == {"total": 7, "limit": 3, "offset": 0}
    first = page["data"][0]
    assert first["executionId"] == str(runs[2].pk) and first["workflowName"] == "Videos"
    assert first["member"] == "key ci" and first["kind"] == "refund" and first["delta"] == 5
    rest = client.get(f"{T(team)}/usage/ledger?limit=100&offset=3").json()["data"]
    assert [line["kind"] for line in rest] == ["charge", "grant", "charge", "charge"]
    assert rest[1]["executionId"] is None and rest[-1]["executionId"] == str(runs[3].pk)


def test_the_csv_export_has_every_line_with_its_run(spent):
    team, alice, bob, posters, videos, runs = spent
    client = APIClient()
    client.force_login(bob)
    response = client.get(f"{T(team)}/usage/ledger.csv", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f'{team.slug}-ledger.csv' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 7
    assert {r["executionId"] for r in rows} == {str(r.pk) for r in runs} | {""}
    assert sum(int(r["delta"]) for r in rows) == 1000 - 46


def test_another_teams_usage_is_a_404_and_keys_need_usage_read(spent, make_team, key_client):
    team, alice, *_ = spent
    other = make_team()
    client = APIClient()
    client.force_login(alice)
    for path in ("usage", "usage/ledger", "usage/ledger.csv"):
        assert client.get(f"{T(other)}/{path}").status_code == 404, path
        assert key_client(other).get(f"{T(team)}/{path}").status_code == 404, path
        response = key_client(team, scopes=["workflows:read"]).get(f"{T(team)}/{path}")
        assert response.status_code == 403, path
        assert response["Content-Type"] == "application/json"
        assert key_client(team, scopes=["usage:read"]).get(
            f"{T(team)}/{path}").status_code == 200


def test_another_teams_runs_never_name_a_line(spent, make_team):
    """A ledger reference naming another team's run shows no workflow of theirs."""
    team, alice, bob, posters, videos, runs = spent
    other = make_team(credits=50)
    nodes, edges = text_to_image()
    secret, _ = workflow_create(team=other, actor=principal_for_user(alice), name="Secret",
                                nodes=nodes, edges=edges)
    theirs = Execution.objects.create(team=other, workflow=secret)
    credits_reserve(team=team, amount=1, reference=f"execution:{theirs.pk}")
    client = APIClient()
    client.force_login(bob)
    assert "Secret" not in client.get(f"{T(team)}/usage").content.decode()
    assert "Secret" not in client.get(f"{T(team)}/usage/ledger").content.decode()
