"""The success responses of the API match the OpenAPI schema, key for key.

The fuzz test (test_schema_fuzz) sends generated requests, so its ids name nothing and most of
its answers are 404s. Here the objects are real: a run that finished with images and a video, a
batch with a failed item, an upload, a webhook-triggered run. Each response goes through
schemathesis's response_schema_conformance against the schema served at /api/v1/schema, with
one change: every object reachable from a 2xx response is closed (`additionalProperties:
false`), so a key the schema does not list fails as surely as a missing or mistyped one. (The
published schema stays open: clients must tolerate new keys. Error bodies stay open here too:
`{"error", "code", …extra fields}` is the contract.)
"""

from __future__ import annotations

import copy
import io
import secrets
import time
from typing import Any

import pytest
import schemathesis
from django.test import Client
from PIL import Image
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.samples import WIREFLOW_EXAMPLE, offline_chain
from wireflow_site.wsgi import application

pytestmark = pytest.mark.django_db(transaction=True)

SCHEMA_URL = "/api/v1/schema?format=json"


def closed_success_shapes(raw: dict[str, Any]) -> dict[str, Any]:
    """A copy of `raw` in which each object schema reachable from a 2xx response that declares
    properties, and says nothing about other keys, allows no other keys."""
    schema = copy.deepcopy(raw)
    components = schema.get("components", {}).get("schemas", {})
    closed: set[str] = set()

    def close(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                close(item)
            return
        if not isinstance(node, dict):
            return
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            if name not in closed:
                closed.add(name)
                close(components[name])
            return
        if "properties" in node:
            node.setdefault("additionalProperties", False)
            close(list(node["properties"].values()))
        for key in ("items", "additionalProperties", "allOf", "anyOf", "oneOf"):
            close(node.get(key))

    for path_item in schema["paths"].values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for code, response in operation.get("responses", {}).items():
                if code.startswith("2"):
                    close([media.get("schema") for media in response.get("content", {}).values()])
    return schema


strict = schemathesis.openapi.from_dict(
    closed_success_shapes(schemathesis.openapi.from_wsgi(SCHEMA_URL, application).raw_schema)
)
strict.app = application


def call(method: str, path: str, expect: int, *, key: str | None = None, **case: Any):
    """Send one request through the app and check its response against the strict schema."""
    headers = dict(case.pop("headers", {}))
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    if "body" in case:
        case.setdefault("media_type", "application/json")
    made = strict[path][method].Case(headers=headers, **case)
    response = made.call()
    assert response.status_code == expect, response.text
    made.validate_response(response, checks=[response_schema_conformance])
    return response.json()


def wait_until_done(api, execution_id: str, timeout: float = 90) -> None:
    """Poll with another key, outside the checked calls, so waiting spends no request quota."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = api.get(f"/api/v1/workflows/executions/{execution_id}/poll")
        if response.status_code == 429:  # a slow run outlasted this key's minute of polls
            time.sleep(1)
            continue
        body = response.json()
        if body["status"] in ("COMPLETED", "FAILED", "CANCELLED"):
            return
        time.sleep(0.5)
    raise AssertionError(f"run {execution_id} not done within {timeout} s")


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def owner(settings, make_team, make_key, key_client):
    """A team with credits, the key the checked calls use, and a client on another key."""
    settings.ALLOWED_HOSTS = ["*"]
    team = make_team(credits=100)
    return team, make_key(team).raw_key, key_client(team)


def create(api, graph) -> str:
    response = api.post("/api/v1/workflows", graph, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["data"]["id"]


def test_no_success_response_is_documented_as_any_object():
    """A `responses={200: dict}` documents nothing the conformance check could hold a
    response to: every JSON success body must be a component that declares its keys."""
    raw = strict.raw_schema
    components = raw["components"]["schemas"]
    vague = []
    for path, path_item in raw["paths"].items():
        for method, operation in path_item.items():
            if not isinstance(operation, dict):
                continue
            for code, response in operation.get("responses", {}).items():
                if not code.startswith("2"):
                    continue
                for media_type, media in response.get("content", {}).items():
                    if "json" not in media_type:  # a file (the assets zip) has no keys
                        continue
                    ref = media["schema"].get("$ref", "")
                    if not components.get(ref.rsplit("/", 1)[-1], {}).get("properties"):
                        vague.append(f"{method.upper()} {path} {code}")
    assert vague == []


def test_the_strict_schema_closes_success_shapes_only():
    components = strict.raw_schema["components"]["schemas"]
    assert components["PollOut"]["additionalProperties"] is False
    assert components["RunVideoOut"]["additionalProperties"] is False
    assert "additionalProperties" not in components["ErrorOut"]  # errors carry extra fields
    assert "type" not in components["WebhookTriggerInRequest"]  # any JSON value


def test_a_run_from_its_inputs_to_history_matches_the_schema(owner, live_worker):
    _, key, waiter = owner
    workflow = {"workflow_id": create(waiter, offline_chain())}

    catalog = call("GET", "/api/v1/nodes", 200, key=key)
    assert any(spec["inputs"] for spec in catalog["nodes"])
    inputs = call("GET", "/api/v1/workflows/{workflow_id}/run", 200, key=key,
                  path_parameters=workflow)
    assert [item["nodeId"] for item in inputs["inputs"]] == ["text-input-1"]
    estimate = call("POST", "/api/v1/workflows/{workflow_id}/estimate", 200, key=key,
                    path_parameters=workflow, body={})
    assert estimate["data"]["sufficient"] is True

    started = call("POST", "/api/v1/workflows/{workflow_id}/execute", 201, key=key,
                   path_parameters=workflow, body={})
    run = {"execution_id": started["executionId"]}
    call("GET", "/api/v1/workflows/executions/{execution_id}/poll", 200, key=key,
         path_parameters=run)  # in flight: no end time, nodes still pending
    wait_until_done(waiter, run["execution_id"])
    done = call("GET", "/api/v1/workflows/executions/{execution_id}/poll", 200, key=key,
                path_parameters=run)
    assert done["status"] == "COMPLETED", done
    outputs = [r["output"] for r in done["nodeResults"]["nodeRuns"]]
    assert any(o["images"] for o in outputs) and any(o["videos"] for o in outputs)
    assert done["finalOutput"] is not None

    second = call("POST", "/api/v1/workflows/{workflow_id}/run", 202, key=key,
                  path_parameters=workflow, body={"inputs": {"text-input-1": "a red kite"}})
    cancelled = call("POST", "/api/v1/workflows/executions/{execution_id}/cancel", 200,
                     key=key, path_parameters={"execution_id": second["data"]["executionId"]})
    assert cancelled["executionId"] == second["data"]["executionId"]

    history = call("GET", "/api/v1/workflows/executions", 200, key=key,
                   query={"workflowId": workflow["workflow_id"]})
    assert history["total"] == 2
    assert any(item["thumbnailUrl"] for item in history["executions"])


def test_a_batch_and_its_retry_match_the_schema(owner, live_worker):
    _, key, waiter = owner
    workflow_id = create(waiter, offline_chain())
    items = [{"text-input-1": "first"}, {"nope": "no such input node"}]
    started = call("POST", "/api/v1/workflows/{workflow_id}/execute", 201, key=key,
                   path_parameters={"workflow_id": workflow_id}, body={"batch": items})
    batch = {"batch_id": started["batchId"]}
    for run in started["executionRuns"]:
        wait_until_done(waiter, run["id"])
    detail = call("GET", "/api/v1/batches/{batch_id}", 200, key=key, path_parameters=batch)
    assert detail["data"]["counts"] == {"COMPLETED": 1, "FAILED": 1}
    retried = call("POST", "/api/v1/batches/{batch_id}/retry", 201, key=key,
                   path_parameters=batch)
    assert [run["runIndexInBatch"] for run in retried["data"]["retried"]] == [1]


def test_a_webhook_trigger_its_status_and_rotation_match_the_schema(owner):
    _, key, waiter = owner
    workflow_id = create(waiter, offline_chain())
    webhook_id = waiter.get(f"/api/v1/workflows/{workflow_id}").json()["webhookId"]
    hook = {"webhook_id": webhook_id}

    info = call("GET", "/api/v1/workflow/{webhook_id}/trigger", 200, path_parameters=hook)
    assert info["isActive"] is True
    triggered = call("POST", "/api/v1/workflow/{webhook_id}/trigger", 202,
                     path_parameters=hook, body={"text-input-1": "from a form", "n": 3})
    secret = triggered["statusUrl"].split("secret=", 1)[1]
    status = call("GET", "/api/v1/executions/{execution_id}/status", 200,
                  path_parameters={"execution_id": triggered["executionId"]},
                  query={"secret": secret})
    assert status["executionId"] == triggered["executionId"]

    rotated = call("POST", "/api/v1/workflows/{workflow_id}/webhook/rotate", 200, key=key,
                   path_parameters={"workflow_id": workflow_id})
    assert rotated["data"]["webhookId"] != webhook_id


def test_uploads_usage_and_the_webhook_secret_match_the_schema(owner, make_user):
    team, key, waiter = owner
    workflow_id = create(waiter, WIREFLOW_EXAMPLE)
    assert waiter.post(f"/api/v1/workflows/{workflow_id}/execute", {},
                       format="json").status_code == 201  # charges credits: a day of spend

    uploaded = call("POST", "/api/v1/media/upload", 201, key=key,
                    media_type="multipart/form-data", body={"file": png()},
                    multipart_content_types={"file": "image/png"})
    assert uploaded["data"]["type"] == "image"
    listed = call("GET", "/api/v1/media", 200, key=key)
    assert [item["id"] for item in listed["data"]] == [uploaded["data"]["id"]]
    usage = call("GET", "/api/v1/developer/usage", 200, key=key)
    assert usage["data"]["spendByDay"]

    browser = Client()
    browser.force_login(make_user(team=team, role="admin"))
    csrf = secrets.token_hex(16)  # a 32-character secret, sent as cookie and header
    session = {"sessionid": browser.cookies["sessionid"].value, "csrftoken": csrf}
    shown = call("GET", "/api/v1/developer/webhook-secret", 200, cookies=session)
    rotated = call("POST", "/api/v1/developer/webhook-secret", 200, cookies=session,
                   headers={"X-CSRFToken": csrf})
    assert rotated["data"]["secret"] != shown["data"]["secret"]
