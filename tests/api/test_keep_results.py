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


# --- Run after Run to here; pinned outputs -----------------------------------------------------

def pipeline_graph():
    """prompt → FLUX (random seed) → ESRGAN upscale, and a Nano Banana branch on the same
    prompt (random seed): every generating node is paid."""
    nodes = [node("prompt", "input:text", {"prompt": "a lighthouse at dusk"}),
             node("flux", "generate:flux_2_pro", {"width": 512, "height": 512}),
             node("upscale", "process:upscale_esrgan", {}),
             node("nano", "generate:nano_banana_2", {})]
    edges = [edge("e1", "prompt", "prompt", "flux", "prompt"),
             edge("e2", "flux", "image", "upscale", "image"),
             edge("e3", "prompt", "prompt", "nano", "prompt")]
    return {"name": "Pipeline", "nodes": nodes, "edges": edges}


def _by_node(body):
    return {r["nodeId"]: r for r in body["nodeResults"]["nodeRuns"]}


def _net_charge(team, execution_id) -> int:
    """What the ledger took for one run, reservation and settlement together."""
    from accounts.models import CreditLedgerEntry

    moves = CreditLedgerEntry.objects.filter(team=team, reference=f"execution:{execution_id}")
    return -sum(moves.values_list("delta", flat=True))


def test_pin_lock_seed_and_run_after_run_to_here_spend_nothing_on_unchanged_nodes(
        make_team, key_client, live_worker):
    team = make_team(credits=5_000)
    api = key_client(team)
    workflow_id = create(api, pipeline_graph())

    # 1. Run to here on the upscaler: FLUX and the upscaler are generated and paid for.
    to_here = _run(api, workflow_id, targetNodeId="upscale")
    assert to_here["status"] == "COMPLETED", to_here["error"]
    runs = _by_node(to_here)
    assert sorted(runs) == ["flux", "prompt", "upscale"]
    paid_first = runs["flux"]["credits"] + runs["upscale"]["credits"]
    assert runs["flux"]["credits"] > 0 and runs["upscale"]["credits"] > 0
    assert _net_charge(team, to_here["executionId"]) == paid_first

    # 2. Run: what Run to here made is reused (same seed, same image, 0 credits); only the
    #    Nano Banana branch is new.
    whole = _run(api, workflow_id)
    assert whole["status"] == "COMPLETED", whole["error"]
    again = _by_node(whole)
    assert again["flux"]["status"] == "CACHED" and again["flux"]["credits"] == 0
    assert again["flux"]["seed"] == runs["flux"]["seed"]
    assert again["flux"]["output"]["images"][0]["url"] == runs["flux"]["output"]["images"][0][
        "url"]
    assert again["upscale"]["status"] == "CACHED" and again["upscale"]["credits"] == 0
    assert again["nano"]["status"] == "COMPLETED" and again["nano"]["credits"] > 0
    assert _net_charge(team, whole["executionId"]) == again["nano"]["credits"]

    # 3. Lock Nano Banana's seed and pin the upscaler: nothing is generated, nothing is paid,
    #    and FLUX, which only feeds the pinned upscaler, is not even in the run.
    api.patch(f"/api/v1/workflows/{workflow_id}/nodes/nano",
              {"config": {"seed": again["nano"]["seed"]}}, format="json")
    pinned = api.patch(f"/api/v1/workflows/{workflow_id}/nodes/upscale",
                       {"pinned": {"executionId": to_here["executionId"]}}, format="json")
    assert pinned.status_code == 200, pinned.json()
    assert pinned.json()["data"]["node"]["data"]["pinned"] == {
        "executionId": to_here["executionId"]}
    estimate = api.post(f"/api/v1/workflows/{workflow_id}/estimate", {},
                        format="json").json()["data"]
    assert sorted(item["nodeId"] for item in estimate["breakdown"]) == ["nano"]
    third = _run(api, workflow_id)
    assert third["status"] == "COMPLETED", third["error"]
    frozen = _by_node(third)
    assert "flux" not in frozen
    assert frozen["upscale"]["status"] == "CACHED" and frozen["upscale"]["pinned"] is True
    assert frozen["upscale"]["output"]["images"][0]["url"] == runs["upscale"]["output"][
        "images"][0]["url"]
    assert frozen["nano"]["status"] == "CACHED" and frozen["nano"]["credits"] == 0
    assert third["credits"]["charged"] == 0 and third["staleDependencies"] == []
    assert _net_charge(team, third["executionId"]) == 0


def test_a_pin_outlives_changes_upstream_and_reports_them_as_stale(
        make_team, key_client, live_worker):
    team = make_team(credits=5_000)
    api = key_client(team)
    workflow_id = create(api, pipeline_graph())
    first = _run(api, workflow_id)
    assert first["status"] == "COMPLETED", first["error"]
    flux_url = _by_node(first)["flux"]["output"]["images"][0]["url"]
    api.patch(f"/api/v1/workflows/{workflow_id}/nodes/flux",
              {"pinned": {"executionId": first["executionId"]}}, format="json")

    # A new prompt: FLUX keeps its pinned image (and says the image predates the change);
    # Nano Banana, not pinned, follows the new prompt.
    api.patch(f"/api/v1/workflows/{workflow_id}/nodes/prompt",
              {"config": {"prompt": "a lighthouse at dawn"}}, format="json")
    started = api.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json")
    assert started.status_code == 201, started.json()
    stale = started.json()["staleDependencies"]
    assert [(s["nodeId"], s["reason"], s["changedNodes"]) for s in stale] == [
        ("flux", "pinned_output_outdated", ["prompt"])]
    assert stale[0]["pinnedFrom"] == {"executionId": first["executionId"]}
    second = poll_until_done(api, started["Location"])
    runs = _by_node(second)
    assert runs["flux"]["pinned"] and runs["flux"]["credits"] == 0
    assert runs["flux"]["output"]["images"][0]["url"] == flux_url
    assert runs["nano"]["status"] == "COMPLETED" and runs["nano"]["credits"] > 0
    assert second["staleDependencies"] == stale

    # Unpinned, FLUX runs again on the new prompt and is paid for.
    unpinned = api.patch(f"/api/v1/workflows/{workflow_id}/nodes/flux", {"pinned": None},
                         format="json")
    assert "pinned" not in unpinned.json()["data"]["node"]["data"]
    third = _run(api, workflow_id)
    assert _by_node(third)["flux"]["status"] == "COMPLETED"
    assert _by_node(third)["flux"]["credits"] > 0 and third["staleDependencies"] == []


def test_after_a_whole_run_the_next_run_draws_new_seeds(make_team, key_client, live_worker):
    team = make_team(credits=5_000)
    api = key_client(team)
    workflow_id = create(api, flux_graph(seed=None))
    first = _by_node(_run(api, workflow_id))["flux"]
    second = _by_node(_run(api, workflow_id))["flux"]
    assert second["status"] == "COMPLETED" and second["credits"] > 0
    assert second["seed"] != first["seed"]


def test_a_pin_that_does_not_hold_is_refused_before_anything_runs(
        make_team, key_client, live_worker):
    team = make_team(credits=5_000)
    other = make_team(credits=5_000)
    api, other_api = key_client(team), key_client(other)
    workflow_id = create(api, pipeline_graph())
    theirs = _run(other_api, create(other_api, pipeline_graph()))

    # Another team's run, a run the node was not in, and malformed pins.
    api.patch(f"/api/v1/workflows/{workflow_id}/nodes/flux",
              {"pinned": {"executionId": theirs["executionId"]}}, format="json")
    refused = api.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json")
    assert refused.status_code == 422, refused.json()
    assert refused.json()["code"] == "pinned_output_missing"
    assert refused.json()["nodeId"] == "flux"
    estimate = api.post(f"/api/v1/workflows/{workflow_id}/estimate", {}, format="json")
    assert estimate.status_code == 422
    for bad in ({"executionId": "not-a-uuid"}, {"nodeRunId": theirs["executionId"]}, "x",
                {"executionId": theirs["executionId"], "more": 1}):
        response = api.patch(f"/api/v1/workflows/{workflow_id}/nodes/nano", {"pinned": bad},
                             format="json")
        assert response.status_code == 400, (bad, response.json())
    team.refresh_from_db()
    assert team.credit_balance == 5_000


def test_a_run_keeps_the_graph_it_ran_for_a_past_run_to_show_on(make_team, key_client):
    team, other = make_team(credits=1_000), make_team(credits=1_000)
    api = key_client(team)
    workflow_id = create(api, flux_graph(seed=5))
    started = api.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json").json()
    api.patch(f"/api/v1/workflows/{workflow_id}/nodes/prompt",
              {"config": {"prompt": "changed since"}}, format="json")
    graph = api.get(f"/api/v1/workflows/executions/{started['executionId']}/graph")
    assert graph.status_code == 200
    data = graph.json()["data"]
    assert data["workflowId"] == workflow_id
    prompt = next(n for n in data["nodes"] if n["id"] == "prompt")
    assert prompt["data"]["config"]["prompt"] == "a lighthouse at dusk"
    assert [e["id"] for e in data["edges"]] == ["e1"]
    hidden = key_client(other).get(f"/api/v1/workflows/executions/{started['executionId']}/graph")
    assert hidden.status_code == 404
