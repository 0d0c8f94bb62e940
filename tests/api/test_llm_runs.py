"""LLM nodes in whole runs through the public API, against the simulator: text → llm:chat →
FLUX.2 completes with the LLM's answer as FLUX's prompt and is charged the reported tokens at
the model's price; a refused key fails the node with the vendor's reason and costs nothing."""

from __future__ import annotations

import copy
import math

import httpx
import pytest

from accounts.models import Team
from executions import dispatch, worker
from executions.providers import get_provider
from tests.api.test_executions import create, poll_until_done
from tests.executions.conftest import sim_requests
from tests.graph.builders import edge, node

pytestmark = pytest.mark.django_db(transaction=True)

GPT_4O = (2.50, 10.00)  # OpenAI's published dollars per million input / output tokens


@pytest.fixture
def team(make_team):
    return make_team(credits=1_000)


@pytest.fixture
def simulator(simulator_server):
    """The session's simulator (the live worker's too), reset before and after."""
    httpx.post(f"{simulator_server.url}/__sim/reset").raise_for_status()
    yield simulator_server
    httpx.post(f"{simulator_server.url}/__sim/reset").raise_for_status()


def enhance_then_flux(model="gpt-4o", **llm):
    nodes = [node("brief", "input:text", {"prompt": "a lighthouse at dusk"}),
             node("llm", "llm:chat", {"prompt": "Enhance this prompt for FLUX: {input}",
                                      "model": model, "max_tokens": 2000, "seed": 11, **llm}),
             node("flux", "generate:flux_2_pro", {"width": 512, "height": 512, "seed": 3})]
    edges = [edge("e1", "brief", "text", "llm", "input"),
             edge("e2", "llm", "text", "flux", "prompt")]
    return {"name": "Enhance then FLUX", "nodes": nodes, "edges": edges}


def test_text_llm_flux_completes_with_the_llm_text_as_the_flux_prompt(api, team, live_worker,
                                                                      simulator):
    workflow_id = create(api, enhance_then_flux())
    quoted = api.post(f"/api/v1/workflows/{workflow_id}/estimate", {}, format="json").json()
    quote = {line["nodeId"]: line["credits"] for line in quoted["data"]["breakdown"]}
    response = api.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json")
    assert response.status_code == 201, response.json()
    result = poll_until_done(api, response["Location"], timeout=120)
    assert result["status"] == "COMPLETED", result["error"]
    runs = {run["nodeId"]: run for run in result["nodeResults"]["nodeRuns"]}
    answer = runs["llm"]["output"]["text"]
    assert answer.startswith("A lighthouse at dusk, ")

    [chat] = [entry for entry in sim_requests(simulator, "openai")
              if entry["path"] == "/openai/v1/chat/completions"]
    assert chat["body"]["messages"] == [
        {"role": "user", "content": "Enhance this prompt for FLUX: a lighthouse at dusk"}]
    [flux] = [entry for entry in sim_requests(simulator, "bfl")
              if entry["path"] == "/v1/flux-2-pro"]
    assert flux["body"]["prompt"] == answer

    # What the vendor reported for that request (the simulator answers a request the same way
    # every time), at OpenAI's price: the charge, in whole credits, rounded up.
    usage = httpx.post(f"{simulator.url}/openai/v1/chat/completions", json=chat["body"],
                       headers={"Authorization": "Bearer " + live_key()}).json()["usage"]
    price = (usage["prompt_tokens"] * GPT_4O[0] + usage["completion_tokens"] * GPT_4O[1]) / 1e4
    assert runs["llm"]["credits"] == math.ceil(price)
    assert runs["llm"]["credits"] <= quote["llm"]  # the quote is a ceiling (max_tokens)
    assert result["credits"]["charged"] == runs["llm"]["credits"] + runs["flux"]["credits"]
    team.refresh_from_db()
    assert team.credit_balance == 1_000 - result["credits"]["charged"]


def live_key() -> str:
    from django.conf import settings

    return settings.SIMULATOR_KEYS["OPENAI_API_KEY"]


def test_a_refused_key_fails_the_llm_node_clearly_and_charges_nothing(
        api, team, simulator, settings, monkeypatch, tmp_path):
    """Run in this process, with the provider given a key OpenAI refuses."""
    settings.MEDIA_ROOT = tmp_path
    get_provider("llm").close()
    providers = copy.deepcopy(settings.PROVIDERS)
    providers["llm"]["OPTIONS"]["endpoints"]["openai"] = {
        "base_url": f"{simulator.url}/openai/v1", "api_key": "sk-revoked"}
    settings.PROVIDERS = providers
    ready: list = []
    monkeypatch.setattr(dispatch, "node_runs_enqueue", ready.extend)

    workflow_id = create(api, enhance_then_flux())
    response = api.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json")
    assert response.status_code == 201
    while ready:
        step = ready.pop(0)
        worker.task_run(worker.node_run_execute, step.node_run_id, step.lease)
    result = api.get(response["Location"]).json()
    assert result["status"] == "FAILED"
    runs = {run["nodeId"]: run for run in result["nodeResults"]["nodeRuns"]}
    assert runs["llm"]["status"] == "FAILED" and runs["flux"]["status"] == "SKIPPED"
    assert "OpenAI answered 401: Incorrect API key provided" in runs["llm"]["error"]
    assert runs["llm"]["credits"] == 0 and result["credits"]["charged"] == 0
    assert Team.objects.get(pk=team.pk).credit_balance == 1_000  # the reservation came back
    get_provider("llm").close()


def _run_here(api, monkeypatch, graph) -> dict:
    ready: list = []
    monkeypatch.setattr(dispatch, "node_runs_enqueue", ready.extend)
    response = api.post(f"/api/v1/workflows/{create(api, graph)}/execute", {}, format="json")
    assert response.status_code == 201, response.json()
    while ready:
        step = ready.pop(0)
        worker.task_run(worker.node_run_execute, step.node_run_id, step.lease)
    return api.get(response["Location"]).json()


def test_template_and_json_extract_run_free_and_fail_clearly_on_bad_json(
        api, team, monkeypatch, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    nodes = [node("style", "input:text", {"prompt": "ukiyo-e woodblock"}),
             node("joined", "utility:prompt_concat", {"template": '{"prompt": "{a}, {b}"}',
                                                     "a": "a fox in snow"}),
             node("pick", "utility:json_extract", {"path": "prompt"}),
             node("missing", "utility:json_extract", {"path": "prompts[2]"})]
    edges = [edge("e1", "style", "text", "joined", "b"),
             edge("e2", "joined", "text", "pick", "json"),
             edge("e3", "joined", "text", "missing", "json")]
    result = _run_here(api, monkeypatch, {"name": "Text tools", "nodes": nodes,
                                          "edges": edges})
    runs = {run["nodeId"]: run for run in result["nodeResults"]["nodeRuns"]}
    assert runs["joined"]["output"]["text"] == '{"prompt": "a fox in snow, ukiyo-e woodblock"}'
    assert runs["pick"]["output"]["text"] == "a fox in snow, ukiyo-e woodblock"
    assert runs["missing"]["status"] == "FAILED"
    assert runs["missing"]["error"] == "JSON Extract: $ has no key 'prompts' (it has 'prompt')"
    assert result["status"] == "FAILED" and result["credits"]["charged"] == 0
