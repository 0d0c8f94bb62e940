"""The MCP server at /api/mcp, driven by the MCP SDK's own client against a live daphne with a
real Celery worker (the offline demo runs on local nodes)."""

from __future__ import annotations

import time

import anyio
import httpx
import httpx2
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.samples import lantern_workflow, offline_chain

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

TOOLS = {"whoami", "list_workflows", "get_workflow", "list_models", "run_workflow",
         "get_execution", "get_credit_balance", "list_templates", "clone_template", "run_app"}


@pytest.fixture
def server(daphne_server):
    return daphne_server


def call(url: str, key: str, steps):
    """Open an SDK session on /api/mcp with `key` and run `steps(session)` in it."""
    async def main():
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http, \
                streamable_http_client(f"{url}/api/mcp", http_client=http) as (read, write), \
                ClientSession(read, write) as session:
            await session.initialize()
            return await steps(session)

    return anyio.run(main)


def text(result) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


def test_an_agent_lists_the_tools_runs_the_offline_demo_and_reads_its_outputs(
        server, make_team, make_key):
    from django.core.files.storage import default_storage

    from accounts.selectors import principal_for_api_key
    from graph.services import workflow_create

    team = make_team(credits=1000)
    key = make_key(team)
    workflow, _ = workflow_create(team=team, actor=principal_for_api_key(key.api_key),
                                  description="the offline demo", **offline_chain())

    async def steps(session):
        listed = await session.list_tools()
        tools = {tool.name: tool for tool in listed.tools}
        me = await session.call_tool("whoami", {})
        workflows = await session.call_tool("list_workflows", {})
        detail = await session.call_tool("get_workflow", {"workflowId": str(workflow.pk)})
        arguments = {"workflowId": str(workflow.pk),
                     "inputs": {"text-input-1": "a lighthouse at dusk"},
                     "idempotencyKey": "agent-run-1"}
        started = await session.call_tool("run_workflow", arguments)
        assert not started.is_error, text(started)
        # A retry with the same key is the first answer, not a second run; with other
        # arguments the key is refused.
        again = await session.call_tool("run_workflow", arguments)
        reused = await session.call_tool("run_workflow", {**arguments, "inputs": {}})
        execution_id = started.structured_content["executionId"]
        deadline = time.monotonic() + 120
        while True:
            polled = await session.call_tool("get_execution", {"executionId": execution_id})
            assert not polled.is_error, text(polled)
            if polled.structured_content["status"] in {"COMPLETED", "FAILED", "CANCELLED"}:
                break
            assert time.monotonic() < deadline, polled.structured_content
            await anyio.sleep(0.5)
        balance = await session.call_tool("get_credit_balance", {})
        return tools, me, workflows, detail, started, again, reused, polled, balance

    tools, me, workflows, detail, started, again, reused, polled, balance = call(
        server.url, key.raw_key, steps)
    from executions.models import Execution

    assert again.structured_content == started.structured_content
    assert reused.is_error and text(reused) == ("Idempotency-Key was already used with a "
                                                "different request body")
    assert reused.structured_content["code"] == "idempotency_key_reused"
    run = Execution.objects.get(workflow=workflow)  # one run for the two calls
    assert run.trigger == "mcp"
    assert tools["run_workflow"].input_schema["properties"]["idempotencyKey"]

    assert set(tools) >= TOOLS
    for name in TOOLS:  # every tool declares what it returns
        assert tools[name].output_schema["type"] == "object", name
        assert tools[name].output_schema["properties"], name
    assert tools["run_workflow"].input_schema["required"] == ["workflowId"]

    assert me.structured_content["team"]["id"] == team.pk
    assert me.structured_content["apiKey"]["last4"] == key.api_key.last4
    assert [w["id"] for w in workflows.structured_content["workflows"]] == [str(workflow.pk)]
    assert detail.structured_content["description"] == "the offline demo"
    assert [i["nodeId"] for i in detail.structured_content["inputs"]] == ["text-input-1"]
    assert started.structured_content["status"] == "QUEUED"

    run = polled.structured_content
    assert run["status"] == "COMPLETED", run
    states = {state["nodeId"]: state for state in run["nodeStates"]}
    assert set(states) == {"text-input-1", "preview-1", "upscale-1", "video-1"}
    assert all(state["status"] == "COMPLETED" for state in states.values()), states
    # The same data as the REST poll, and the output URLs are served.
    rest = httpx.get(f"{server.url}/api/v1/workflows/executions/{run['executionId']}/poll",
                     headers={"Authorization": f"Bearer {key.raw_key}"}, timeout=10).json()
    assert rest["nodeStates"] == run["nodeStates"]
    assert rest["credits"]["charged"] == run["credits"]["charged"]
    # The history and the activity log say where it came from.
    listed = httpx.get(f"{server.url}/api/v1/workflows/executions",
                       headers={"Authorization": f"Bearer {key.raw_key}"}, timeout=10).json()
    assert [item["trigger"] for item in listed["executions"]] == ["mcp"]
    from accounts.models import ActivityEvent
    assert ActivityEvent.objects.get(kind="run.started", team=team).source == "mcp"
    # Served by us, or presigned by the object store (tests/s3_suite.py).
    served_by = getattr(default_storage, "endpoint_url", None) or server.url
    for node_id in ("upscale-1", "video-1"):
        url = states[node_id]["outputUrl"]
        assert url.startswith(served_by), url
        media = httpx.get(url, timeout=10)
        assert media.status_code == 200 and media.content, (node_id, media.status_code)
    assert httpx.get(states["video-1"]["outputUrl"], timeout=10).headers[
        "Content-Type"].startswith("video/")
    team.refresh_from_db()
    assert balance.structured_content["balance"] == team.credit_balance == \
        1000 - run["credits"]["charged"]


def test_a_key_without_workflows_execute_gets_an_mcp_error_from_run_workflow(
        server, make_team, make_key):
    from accounts.selectors import principal_for_api_key
    from executions.models import Execution
    from graph.services import workflow_create

    team = make_team(credits=1000)
    reader = make_key(team, scopes=["workflows:read", "executions:read"])
    workflow, _ = workflow_create(team=team, actor=principal_for_api_key(reader.api_key),
                                  **offline_chain())

    async def steps(session):
        refused = await session.call_tool("run_workflow", {"workflowId": str(workflow.pk)})
        allowed = await session.call_tool("get_workflow", {"workflowId": str(workflow.pk)})
        balance = await session.call_tool("get_credit_balance", {})
        return refused, allowed, balance

    refused, allowed, balance = call(server.url, reader.raw_key, steps)
    assert refused.is_error
    assert text(refused) == "Missing required scope: workflows:execute"
    assert not allowed.is_error
    assert balance.is_error and text(balance) == "Missing required scope: usage:read"
    assert not Execution.objects.filter(workflow=workflow).exists()


def test_another_teams_workflow_and_execution_are_not_found(server, make_team, make_key):
    from accounts.selectors import principal_for_api_key
    from executions.models import Execution
    from graph.services import workflow_create

    mine, theirs = make_team(credits=1000), make_team(credits=1000)
    key, their_key = make_key(mine), make_key(theirs)
    their_workflow, _ = workflow_create(team=theirs, actor=principal_for_api_key(their_key.api_key),
                                        **offline_chain())

    async def steps(session):
        return [await session.call_tool(name, args) for name, args in (
            ("get_workflow", {"workflowId": str(their_workflow.pk)}),
            ("run_workflow", {"workflowId": str(their_workflow.pk)}),
            ("get_execution", {"executionId": "00000000-0000-4000-8000-000000000000"}),
            ("get_workflow", {"workflowId": "not-a-uuid"}),
            ("list_workflows", {}),
        )]

    read, run, execution, malformed, listed = call(server.url, key.raw_key, steps)
    assert read.is_error and text(read) == "Workflow not found"
    assert run.is_error and text(run) == "Workflow not found"
    assert execution.is_error and text(execution) == "Execution not found"
    assert malformed.is_error and text(malformed) == "Workflow not found"
    assert listed.structured_content["workflows"] == []
    assert str(their_workflow.pk) not in text(listed)
    assert not Execution.objects.filter(workflow=their_workflow).exists()


def test_insufficient_credits_is_a_tool_error_with_the_apis_message(
        server, make_team, make_key):
    import copy

    from accounts.selectors import principal_for_api_key
    from executions.models import Execution
    from graph.demo import DEMO_WORKFLOWS
    from graph.services import workflow_create

    team = make_team(credits=3)
    key = make_key(team)
    priced = copy.deepcopy(DEMO_WORKFLOWS[0])  # FLUX.2 → upscale → Kling: priced nodes
    workflow, _ = workflow_create(team=team, actor=principal_for_api_key(key.api_key),
                                  name=priced["name"], nodes=priced["nodes"],
                                  edges=priced["edges"])
    rest = httpx.post(f"{server.url}/api/v1/workflows/{workflow.pk}/run", json={},
                      headers={"Authorization": f"Bearer {key.raw_key}"}, timeout=10)
    assert rest.status_code == 402, rest.text

    async def steps(session):
        return await session.call_tool("run_workflow", {"workflowId": str(workflow.pk)})

    refused = call(server.url, key.raw_key, steps)
    assert refused.is_error
    assert text(refused) == rest.json()["error"]
    assert text(refused).startswith("Insufficient credits. Required: ")
    assert text(refused).endswith("Available: 3")
    body = refused.structured_content
    assert body["insufficientCredits"] is True
    assert body["requiredCredits"] == rest.json()["requiredCredits"]
    assert not Execution.objects.filter(workflow=workflow).exists()
    team.refresh_from_db()
    assert team.credit_balance == 3


def test_templates_are_listed_and_cloned_into_the_keys_team(server, make_team, make_key):
    from graph.models import Workflow

    team = make_team()
    key = make_key(team)

    async def steps(session):
        listed = await session.call_tool("list_templates", {"source": "builtin"})
        first = listed.structured_content["templates"][0]
        arguments = {"templateId": first["id"], "name": "From MCP", "idempotencyKey": "clone-1"}
        cloned = await session.call_tool("clone_template", arguments)
        again = await session.call_tool("clone_template", arguments)
        unknown = await session.call_tool("clone_template", {"templateId": "no-such"})
        return listed, cloned, again, unknown

    listed, cloned, again, unknown = call(server.url, key.raw_key, steps)
    assert listed.structured_content["total"] >= 8
    assert not cloned.is_error, text(cloned)
    assert again.structured_content == cloned.structured_content
    workflow = Workflow.objects.get(team=team)  # one copy for the two calls
    assert str(workflow.pk) == cloned.structured_content["id"]
    assert workflow.team_id == team.pk and workflow.name == "From MCP"
    assert unknown.is_error and text(unknown) == "Template not found"


@pytest.mark.parametrize(("header", "message"), [
    (None, "Missing Authorization header"),
    ("Bearer nope", "Invalid API key format. Expected: Bearer sk-..."),
    ("Bearer sk-0123456789abcdefXYZ", "Invalid API key"),
])
def test_no_or_a_bad_key_is_a_401_before_any_mcp_message(server, header, message):
    headers = {"Accept": "application/json, text/event-stream"}
    if header:
        headers["Authorization"] = header
    response = httpx.post(f"{server.url}/api/mcp", headers=headers, timeout=10, json={
        "jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}})
    assert response.status_code == 401
    assert response.json() == {"error": message, "code": response.json()["code"]}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.headers["X-Request-Id"]


def test_a_revoked_key_is_refused_with_a_401_the_sdk_client_receives(
        server, make_team, make_key):
    from accounts.services import api_key_revoke

    key = make_key(make_team())
    statuses = []

    async def main():
        async def seen(response):
            statuses.append(response.status_code)

        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {key.raw_key}"},
                                      event_hooks={"response": [seen]}, timeout=30) as http, \
                streamable_http_client(f"{server.url}/api/mcp", http_client=http) as (r, w), \
                ClientSession(r, w) as session:
            await session.initialize()
            assert (await session.list_tools()).tools
            # The key cache forgets a revoked key at once.
            await anyio.to_thread.run_sync(lambda: api_key_revoke(api_key=key.api_key))
            await session.list_tools()

    with pytest.raises(Exception):  # noqa: B017 - the SDK raises its error in a task group
        anyio.run(main)
    assert statuses[-1] == 401
    assert set(statuses[:-1]) <= {200, 202}
    response = httpx.post(f"{server.url}/api/mcp", timeout=10,
                          headers={"Authorization": f"Bearer {key.raw_key}"},
                          json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert response.status_code == 401 and response.json()["error"] == "Invalid API key"


def test_mcp_requests_count_against_the_keys_requests_per_minute(server, make_team, make_key):
    from accounts.plans import limits_for

    team = make_team(plan="free")
    key = make_key(team).raw_key
    limit = limits_for("free").requests_per_minute
    headers = {"Authorization": f"Bearer {key}", "Accept": "application/json, text/event-stream"}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    if time.time() % 60 > 45:  # the window is a fixed minute: all of this within one
        time.sleep(61 - time.time() % 60)
    with httpx.Client(timeout=10, headers=headers) as http:
        answers = [http.post(f"{server.url}/api/mcp", json=body) for _ in range(limit)]
        assert [a.status_code for a in answers] == [200] * limit
        assert answers[-1].headers["X-RateLimit-Remaining"] == "0"
        assert {t["name"] for t in answers[0].json()["result"]["tools"]} >= TOOLS
        refused = http.post(f"{server.url}/api/mcp", json=body)
        rest = http.get(f"{server.url}/api/v1/workflows")  # the same window
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"] == "Too many requests. Please try again later."
    assert rest.status_code == 429


def test_run_app_takes_only_the_exposed_inputs_keeps_the_daily_cap_and_needs_its_scope(
        server, make_team, make_key):
    """Wireflow's run_app: the app's own service, so its exposed inputs, its daily credit cap
    and the apps:execute scope apply, with the same messages as POST /apps/{slug}/run."""
    from accounts.selectors import principal_for_api_key
    from clientapps.services import app_create
    from executions.models import Execution

    team = make_team(credits=1000)
    key = make_key(team)
    actor = principal_for_api_key(key.api_key)
    workflow = lantern_workflow(team, actor, "Poster app")
    app = app_create(workflow=workflow, actor=actor, title="Lanterns", access="link",
                     daily_credit_cap=10, exposed_inputs=[{"nodeId": "prompt"}])
    reader = make_key(team, scopes=["workflows:read"])

    async def steps(session):
        keyed = {"slug": app.slug, "inputs": {"prompt": "a paper lantern"},
                 "idempotencyKey": "app-run-1"}
        first = await session.call_tool("run_app", keyed)
        # The same key again: the first run's answer, not a refusal at the cap.
        retried = await session.call_tool("run_app", keyed)
        hidden = await session.call_tool("run_app", {"slug": app.slug,
                                                     "inputs": {"nano": {"num_images": 4}}})
        second = await session.call_tool("run_app", {"slug": app.slug})
        missing = await session.call_tool("run_app", {"slug": "no-such-app"})
        return first, retried, hidden, second, missing

    first, retried, hidden, second, missing = call(server.url, key.raw_key, steps)
    assert not first.is_error, text(first)
    assert retried.structured_content == first.structured_content
    run = Execution.objects.get(pk=first.structured_content["executionId"])
    assert run.app_id == app.pk and "a paper lantern" in str(run.inputs)
    assert run.trigger == "mcp" and run.app_name == "Lanterns"
    assert hidden.is_error  # not an exposed input: refused, nothing started
    # Nano Banana 2 at 1K is 7 credits: the first run holds 7 of the 10, a second would pass
    # the cap and is refused with the app's message before anything is charged.
    assert second.is_error and "daily limit" in text(second), text(second)
    assert missing.is_error and "not found" in text(missing).lower()
    assert Execution.objects.filter(app_id=app.pk).count() == 1

    async def as_reader(session):
        return await session.call_tool("run_app", {"slug": app.slug})

    refused = call(server.url, reader.raw_key, as_reader)
    assert refused.is_error and "apps:execute" in text(refused), text(refused)
