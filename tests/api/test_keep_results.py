"""Keeping a good result (issue 16): every generate node reports the seed it used, a
random-seed run is cached under the seed it drew so locking that seed reproduces it for free,
and "Run to here" checks and prices only the target and what it needs."""

from __future__ import annotations

import pytest

from tests.api.test_executions import create, poll_until_done
from tests.graph.builders import edge, node


def create_draft(api, graph) -> str:
    """Saved as the editor saves work in progress: problems and all (?strict=false)."""
    response = api.post("/api/v1/workflows?strict=false", graph, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["data"]["id"]


pytestmark = pytest.mark.django_db(transaction=True)


def flux_graph(seed=None, *, extra_unwired=False):
    nodes = [node("prompt", "input:text", {"prompt": "a lighthouse at dusk"}),
             node("flux", "generate:flux_2_pro", {"width": 512, "height": 512, "seed": seed})]
    edges = [edge("e1", "prompt", "prompt", "flux", "prompt")]
    if extra_unwired:  # a video node with nothing wired into its required image
        nodes.append(node("video", "generate:kling_video", {}))
    return {"name": "Keep", "nodes": nodes, "edges": edges}


def _run(api, workflow_id, **body):
    response = api.post(f"/api/v1/workflows/{workflow_id}/execute", body, format="json")
    assert response.status_code == 201, response.json()
    return poll_until_done(api, response["Location"])


def test_a_random_seed_is_reported_and_locking_it_reproduces_the_result_for_free(
        make_team, key_client, live_worker):
    from accounts.models import CreditLedgerEntry

    team = make_team(credits=1_000)
    api = key_client(team)
    workflow_id = create(api, flux_graph(seed=None))

    first = _run(api, workflow_id)
    assert first["status"] == "COMPLETED", first["error"]
    flux = {r["nodeId"]: r for r in first["nodeResults"]["nodeRuns"]}["flux"]
    drawn = flux["seed"]
    assert isinstance(drawn, int) and flux["credits"] > 0
    state = {s["nodeId"]: s for s in first["nodeStates"]}["flux"]
    assert state["seed"] == drawn
    assert {r["nodeId"]: r for r in first["nodeResults"]["nodeRuns"]}["prompt"]["seed"] is None

    # Lock this seed (one click on the node: the seed setting takes the drawn value).
    patched = api.patch(f"/api/v1/workflows/{workflow_id}/nodes/flux",
                        {"config": {"seed": drawn}}, format="json")
    assert patched.status_code == 200, patched.json()
    team.refresh_from_db()
    balance_before = team.credit_balance
    again = _run(api, workflow_id)
    flux_again = {r["nodeId"]: r for r in again["nodeResults"]["nodeRuns"]}["flux"]
    assert flux_again["status"] == "CACHED" and flux_again["credits"] == 0
    assert flux_again["seed"] == drawn
    assert flux_again["output"]["images"][0]["url"] == flux["output"]["images"][0]["url"]
    assert again["credits"]["charged"] == 0
    # The ledger: what the run held at its start came back in full when it settled.
    moves = CreditLedgerEntry.objects.filter(team=team,
                                             reference=f"execution:{again['executionId']}")
    assert sum(moves.values_list("delta", flat=True)) == 0
    team.refresh_from_db()
    assert team.credit_balance == balance_before


def test_run_to_here_ignores_an_unwired_node_elsewhere_and_prices_only_what_it_needs(
        make_team, key_client):
    team = make_team(credits=1_000)
    api = key_client(team)
    workflow_id = create_draft(api, flux_graph(seed=5, extra_unwired=True))

    whole = api.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json")
    assert whole.status_code == 422, whole.json()  # the unwired video blocks a full run

    estimate = api.post(f"/api/v1/workflows/{workflow_id}/estimate",
                        {"targetNodeId": "flux"}, format="json").json()["data"]
    assert [item["nodeId"] for item in estimate["breakdown"]] == ["flux"]
    started = api.post(f"/api/v1/workflows/{workflow_id}/execute", {"targetNodeId": "flux"},
                       format="json")
    assert started.status_code == 201, started.json()
    run = started.json()["executionRuns"][0]
    assert sorted(r["nodeId"] for r in run["nodeRuns"]) == ["flux", "prompt"]

    missing = api.post(f"/api/v1/workflows/{workflow_id}/execute", {"targetNodeId": "nope"},
                       format="json")
    assert missing.status_code == 404 and missing.json()["code"] == "node_not_found"


def test_run_to_here_still_refuses_what_the_target_itself_needs(make_team, key_client):
    team = make_team(credits=1_000)
    api = key_client(team)
    workflow_id = create_draft(api, flux_graph(seed=5, extra_unwired=True))
    refused = api.post(f"/api/v1/workflows/{workflow_id}/execute", {"targetNodeId": "video"},
                       format="json")
    assert refused.status_code == 422, refused.json()
