"""Idempotency-Key on creating POSTs: replay, a different body, in flight, and a race."""

from __future__ import annotations

import pytest

from executions.models import Execution
from graph.models import Workflow
from tests.concurrency import at_once, keyed_client
from tests.samples import offline_chain

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_repeated_create_returns_the_first_response_and_creates_nothing(api):
    graph = offline_chain()
    first = api.post("/api/v1/workflows", graph, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = api.post("/api/v1/workflows", graph, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Workflow.objects.count() == 1


def test_the_same_key_with_another_body_is_refused(api):
    api.post("/api/v1/workflows", offline_chain(), format="json", HTTP_IDEMPOTENCY_KEY="k2")
    other = {**offline_chain(), "name": "Something else"}
    response = api.post("/api/v1/workflows", other, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    assert response.status_code == 422
    assert response.json() == {
        "error": "Idempotency-Key was already used with a different request body",
        "code": "idempotency_key_reused"}
    assert Workflow.objects.count() == 1


def test_keys_are_scoped_to_the_team(api, other_team, key_client):
    api.post("/api/v1/workflows", offline_chain(), format="json", HTTP_IDEMPOTENCY_KEY="same")
    theirs = key_client(other_team).post("/api/v1/workflows", offline_chain(), format="json",
                                         HTTP_IDEMPOTENCY_KEY="same")
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs
    assert Workflow.objects.count() == 2


def test_a_replayed_execute_keeps_status_body_and_location(api):
    workflow_id = api.post("/api/v1/workflows", offline_chain(), format="json").json()["data"][
        "id"]
    url = f"/api/v1/workflows/{workflow_id}/execute"
    first = api.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="run-1")
    again = api.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="run-1")
    assert first.status_code == again.status_code == 201
    assert again.json()["executionId"] == first.json()["executionId"]
    assert again["Location"] == first["Location"]
    assert Execution.objects.count() == 1


def test_twenty_identical_requests_at_once_create_exactly_one_execution(team, make_key):
    raw = make_key(team).raw_key
    workflow_id = keyed_client(raw).post("/api/v1/workflows", offline_chain(),
                                         format="json").json()["data"]["id"]
    statuses = at_once(20, lambda: keyed_client(raw).post(
        f"/api/v1/workflows/{workflow_id}/execute", {}, format="json",
        HTTP_IDEMPOTENCY_KEY="burst").status_code)
    assert Execution.objects.count() == 1
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}
