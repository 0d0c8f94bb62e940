"""Execute, run, poll, cancel and history through the public API, with a real worker."""

from __future__ import annotations

import time

import pytest

from tests.graph.builders import edge, node
from tests.media_files import fetched
from tests.samples import offline_chain

pytestmark = pytest.mark.django_db(transaction=True)


def quick_graph(prompt="api run", seed=21):
    nodes = [node("prompt", "input:text", {"prompt": prompt}),
             node("preview", "generate:local_preview", {"seed": seed, "width": 256,
                                                         "height": 256}),
             node("up", "process:upscale_local", {"scale": 2})]
    edges = [edge("e1", "prompt", "prompt", "preview", "prompt"),
             edge("e2", "preview", "image", "up", "image")]
    return {"name": "Quick", "nodes": nodes, "edges": edges}


def create(api, graph) -> str:
    response = api.post("/api/v1/workflows", graph, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["data"]["id"]


def poll_until_done(api, url, timeout=90):
    deadline = time.monotonic() + timeout
    delay = 0.1
    while time.monotonic() < deadline:
        body = api.get(url).json()
        if body["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
            return body
        time.sleep(delay)
        delay = min(1.0, delay * 1.5)
    raise AssertionError(f"not done: {body}")


def test_execute_then_poll_to_completed_and_download_the_image(api, live_worker, client):
    workflow_id = create(api, quick_graph())
    response = api.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json")
    assert response.status_code == 201
    body = response.json()
    # Wireflow's keys, and staleDependencies as Wireflow's execute response carries it.
    assert set(body) == {"executionId", "status", "workflowId", "batchId", "executionRuns",
                         "staleDependencies"}
    assert body["staleDependencies"] == []
    assert body["workflowId"] == workflow_id and body["status"] == "QUEUED"
    run = body["executionRuns"][0]
    assert run["id"] == body["executionId"] and run["runIndexInBatch"] is None
    location = response["Location"]
    assert location.endswith(f"/api/v1/workflows/executions/{body['executionId']}/poll")

    result = poll_until_done(api, location)
    assert result["status"] == "COMPLETED" and result["progress"] == 1
    runs = {r["nodeId"]: r for r in result["nodeResults"]["nodeRuns"]}
    assert runs["up"]["output"]["images"][0]["width"] == 512
    assert runs["prompt"]["output"]["text"] == "api run"
    states = {s["nodeId"]: s for s in result["nodeStates"]}
    assert states["up"]["outputUrl"] == runs["up"]["output"]["images"][0]["url"]
    assert result["finalOutput"]["url"] == states["up"]["outputUrl"]
    assert fetched(client, result["finalOutput"]["url"])[:8] == b"\x89PNG\r\n\x1a\n"

    history = api.get(f"/api/v1/workflows/executions?workflowId={workflow_id}").json()
    assert history["total"] == 1 and history["executions"][0]["status"] == "COMPLETED"
    assert history["executions"][0]["thumbnailUrl"]


def test_run_takes_inputs_by_node_id_and_answers_202(api, live_worker):
    workflow_id = create(api, quick_graph())
    schema = api.get(f"/api/v1/workflows/{workflow_id}/run").json()
    assert schema["inputs"] == [{"nodeId": "prompt", "label": "prompt", "type": "text",
                                 "required": False, "description": schema["inputs"][0][
                                     "description"], "default": "api run"}]
    response = api.post(f"/api/v1/workflows/{workflow_id}/run",
                        {"inputs": {"prompt": "from inputs"}}, format="json")
    assert response.status_code == 202
    execution_id = response.json()["data"]["executionId"]
    result = poll_until_done(api, f"/api/v1/workflows/executions/{execution_id}/poll")
    texts = {s["nodeId"]: s["text"] for s in result["nodeStates"]}
    assert texts["prompt"] == "from inputs"
    bad = api.post(f"/api/v1/workflows/{workflow_id}/run", {"inputs": {"nope": "x"}},
                   format="json")
    assert bad.status_code == 400 and bad.json()["error"] == "Unknown input node: nope"


def test_polls_and_runs_of_another_team_are_not_found(api, other_team, key_client):
    workflow_id = create(api, quick_graph())
    execution_id = api.post(f"/api/v1/workflows/{workflow_id}/execute", {},
                            format="json").json()["executionId"]
    stranger = key_client(other_team)
    response = stranger.get(f"/api/v1/workflows/executions/{execution_id}/poll")
    assert response.status_code == 404 and response.json()["error"] == "Execution not found"
    assert stranger.post(f"/api/v1/workflows/{workflow_id}/execute", {},
                         format="json").status_code == 404
    assert stranger.get("/api/v1/workflows/executions").json()["total"] == 0
    assert api.get("/api/v1/workflows/executions/not-a-uuid/poll").status_code == 404


def test_execute_needs_the_execute_scope(team, key_client):
    writer = key_client(team, scopes=["workflows:read", "workflows:write"])
    workflow_id = create(writer, offline_chain())
    response = writer.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "Missing required scope: workflows:execute"


def test_an_inactive_workflow_is_not_executed(api):
    graph = {**quick_graph(), "isActive": False}
    workflow_id = create(api, graph)
    response = api.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json")
    assert response.status_code == 400 and response.json()["error"] == "Workflow is not active"


def test_cancel_through_the_api(api, live_worker):
    graph = quick_graph(prompt="long", seed=3)
    graph["nodes"].append(node("video", "generate:image_to_video_local",
                               {"duration": 10, "fps": 30}))
    graph["edges"].append(edge("e3", "up", "image", "video", "image"))
    workflow_id = create(api, graph)
    execution_id = api.post(f"/api/v1/workflows/{workflow_id}/execute", {},
                            format="json").json()["executionId"]
    poll = f"/api/v1/workflows/executions/{execution_id}/poll"
    deadline = time.monotonic() + 60
    while {s["nodeId"]: s["status"] for s in api.get(poll).json()["nodeStates"]}[
            "video"] != "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    response = api.post(f"/api/v1/workflows/executions/{execution_id}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "CANCELLED"
    states = {s["nodeId"]: s["status"] for s in response.json()["nodeStates"]}
    assert states["video"] == "CANCELLED" and states["prompt"] == "COMPLETED"
