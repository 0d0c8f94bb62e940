"""Webhook triggers: no key, CORS, triggerData into input nodes, statusUrl, rotation, limits."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from executions.models import Execution
from graph.models import Workflow
from tests.samples import offline_chain
from tests.timing import away_from_the_minute_edge

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hook(api):
    data = api.post("/api/v1/workflows", offline_chain(), format="json").json()["data"]
    return Workflow.objects.get(pk=data["id"]), data["webhookUrl"]


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_get_describes_the_workflow_and_preflight_allows_any_origin(hook):
    workflow, url = hook
    anonymous = APIClient()
    info = anonymous.get(path_of(url))
    assert info.status_code == 200
    assert info.json()["workflowId"] == str(workflow.pk) and info.json()["isActive"] is True
    preflight = anonymous.options(path_of(url), HTTP_ORIGIN="https://example.com",
                                  HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    assert "Content-Type" in preflight["Access-Control-Allow-Headers"]


def test_post_runs_it_with_the_body_as_trigger_data_and_a_status_url(hook):
    workflow, url = hook
    anonymous = APIClient()
    body = {"text-input-1": "from a webhook", "source": "crm"}
    response = anonymous.post(path_of(url), body, format="json",
                              HTTP_ORIGIN="https://example.com")
    assert response.status_code == 202
    assert response["Access-Control-Allow-Origin"] == "*"
    data = response.json()
    assert data["status"] == "queued" and data["message"]
    execution = Execution.objects.get(pk=data["executionId"])
    assert execution.trigger == "webhook" and execution.trigger_data == body
    assert execution.inputs == {"text-input-1": "from a webhook"}
    status = anonymous.get(path_of(data["statusUrl"]))
    assert status.status_code == 200 and status.json()["executionId"] == str(execution.pk)
    wrong = anonymous.get(f"/api/v1/executions/{execution.pk}/status?secret=guess")
    assert wrong.status_code == 404


def test_unknown_inactive_and_oversized(hook, api):
    workflow, url = hook
    anonymous = APIClient()
    assert anonymous.post("/api/v1/workflow/nope/trigger", {}, format="json").status_code == 404
    big = json.dumps({"x": "y" * (1024 * 1024)})
    too_big = anonymous.post(path_of(url), big, content_type="application/json")
    assert too_big.status_code == 413 and too_big.json()["code"] == "payload_too_large"
    api.post("/api/v1/workflows", {"id": str(workflow.pk), "isActive": False}, format="json")
    inactive = anonymous.post(path_of(url), {}, format="json")
    assert inactive.status_code == 400 and inactive.json()["error"] == "Workflow is not active"
    assert Execution.objects.count() == 0


def test_rotation_retires_the_old_url(hook, api):
    workflow, url = hook
    rotated = api.post(f"/api/v1/workflows/{workflow.pk}/webhook/rotate")
    assert rotated.status_code == 200
    new_url = rotated.json()["data"]["webhookUrl"]
    assert new_url != url
    anonymous = APIClient()
    assert anonymous.get(path_of(url)).status_code == 404
    assert anonymous.get(path_of(new_url)).status_code == 200


def test_triggers_count_against_the_teams_request_limit(make_team, key_client):
    away_from_the_minute_edge()
    team = make_team(plan="free")
    api = key_client(team)
    url = api.post("/api/v1/workflows", {**offline_chain(), "isActive": False},
                   format="json").json()["data"]["webhookUrl"]
    anonymous = APIClient()
    statuses = [anonymous.post(path_of(url), {}, format="json").status_code for _ in range(11)]
    assert statuses[:10] == [400] * 10 and statuses[10] == 429


def test_the_trigger_is_shown_only_to_those_who_may_run_the_workflow(
        hook, team, session_client, key_client):
    """A viewer or a read-only key given the key-less URL could run the workflow and spend the
    team's credits: they get null, in the API and on the workflows page."""
    workflow, _ = hook
    viewer, _ = session_client(team, role="viewer")
    readonly = key_client(team, scopes=["workflows:read", "workflows:write"])
    for client in (viewer, readonly):
        one = client.get(f"/api/v1/workflows/{workflow.pk}").json()
        assert one["webhookId"] is None and one["webhookUrl"] is None
        listed = client.get("/api/v1/workflows").json()["workflows"]
        assert [(w["webhookId"], w["webhookUrl"]) for w in listed] == [(None, None)]
    page = viewer.get("/")
    assert page.status_code == 200 and workflow.webhook_id not in page.content.decode()
    # Rotating hands out the new URL, so it asks for the right to run as well as to edit.
    refused = readonly.post(f"/api/v1/workflows/{workflow.pk}/webhook/rotate")
    assert refused.status_code == 403
    workflow.refresh_from_db()
    assert workflow.webhook_id == hook[0].webhook_id
    editor, _ = session_client(team, role="editor")
    shown = editor.get(f"/api/v1/workflows/{workflow.pk}").json()
    assert shown["webhookId"] == workflow.webhook_id
    assert shown["webhookUrl"].endswith(f"/api/v1/workflow/{workflow.webhook_id}/trigger")


def test_a_rotation_does_not_reset_the_workflows_trigger_window(make_team, key_client):
    away_from_the_minute_edge()
    api = key_client(make_team(plan="free"))  # 10 requests a minute
    created = api.post("/api/v1/workflows", {**offline_chain(), "isActive": False},
                       format="json").json()["data"]
    anonymous = APIClient()
    first = [anonymous.post(path_of(created["webhookUrl"]), {}, format="json").status_code
             for _ in range(6)]
    rotated = api.post(f"/api/v1/workflows/{created['id']}/webhook/rotate").json()["data"]
    then = [anonymous.post(path_of(rotated["webhookUrl"]), {}, format="json").status_code
            for _ in range(5)]
    assert first == [400] * 6 and then == [400] * 4 + [429]
