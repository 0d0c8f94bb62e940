"""Outages of Redis and the broker: a request that committed nothing says 503 and when to come
back; a run that was committed is answered as created, and is sent once the broker is back."""

from __future__ import annotations

import socket

import pytest
import redis
from kombu.exceptions import OperationalError

from executions import services, tasks
from executions.models import Execution, NodeRun, NodeStatus
from tests.samples import offline_chain

pytestmark = pytest.mark.django_db(transaction=True)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the probe is closed


def test_with_redis_unreachable_execute_answers_503_with_retry_after_and_starts_nothing(
        api, monkeypatch):
    workflow_id = api.post("/api/v1/workflows", offline_chain(),
                           format="json").json()["data"]["id"]
    dead = redis.Redis(host="127.0.0.1", port=_closed_port(), socket_connect_timeout=0.5)
    monkeypatch.setattr("accounts.ratelimit.client", lambda: dead)  # the limits' Redis is gone
    response = api.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json")
    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable" and response["Retry-After"] == "5"
    assert "X-Request-Id" in response
    assert Execution.objects.count() == 0


def test_a_run_committed_while_the_broker_is_down_is_answered_201_and_sent_later(
        api, monkeypatch):
    workflow_id = api.post("/api/v1/workflows", offline_chain(),
                           format="json").json()["data"]["id"]

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to the broker. Connection refused.")

    monkeypatch.setattr(tasks.run_node, "apply_async", broker_down)
    headers = {"HTTP_IDEMPOTENCY_KEY": "broker-outage-1"}
    first = api.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json", **headers)
    again = api.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json", **headers)
    assert first.status_code == 201 and again.status_code == 201
    assert again.json()["executionId"] == first.json()["executionId"]  # a replay, not a run
    assert Execution.objects.count() == 1
    waiting = NodeRun.objects.filter(status=NodeStatus.QUEUED)
    assert waiting.count() >= 1  # in the database, not in the broker

    sent = []
    monkeypatch.setattr(tasks.run_node, "apply_async",
                        lambda args, **options: sent.append(tuple(args)))
    assert services.node_runs_reap(lost_after=0) == waiting.count()  # the broker is back
    assert {node_run_id for node_run_id, _ in sent} == {str(pk) for pk in
                                                        waiting.values_list("pk", flat=True)}
