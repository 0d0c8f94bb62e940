"""Outages of Redis, the broker and PostgreSQL: a request that committed nothing says 503 and
when to come back; a run that was committed is answered as created, and is sent once the broker
is back. (PostgreSQL really stopped and started: tests/reliability/test_postgres_restart.py.)"""

from __future__ import annotations

import socket
import sqlite3

import psycopg
import pytest
import redis
from django.db import utils as db_utils
from kombu.exceptions import OperationalError
from psycopg_pool import PoolTimeout

from executions import dispatch, services, tasks
from executions.models import Execution, NodeRun, NodeStatus
from tests.samples import offline_chain
from wireflow_site.errors import database_unreachable

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

    def redis_down(*args, **kwargs):  # the request's own publish (executions.dispatch)
        raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.run_node, "apply_async", broker_down)
    monkeypatch.setattr(dispatch, "broker_publish", redis_down)
    headers = {"HTTP_IDEMPOTENCY_KEY": "broker-outage-1"}
    first = api.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json", **headers)
    again = api.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json", **headers)
    assert first.status_code == 201 and again.status_code == 201
    assert again.json()["executionId"] == first.json()["executionId"]  # a replay, not a run
    assert Execution.objects.count() == 1
    waiting = NodeRun.objects.filter(status=NodeStatus.QUEUED)
    assert waiting.count() >= 1  # in the database, not in the broker

    sent = []  # the broker is back, by either path (the reaper's resend is a light publish)
    monkeypatch.setattr(tasks.run_node, "apply_async",
                        lambda args, **options: sent.append(tuple(args)))
    monkeypatch.setattr(dispatch, "broker_publish",
                        lambda name, args, queue, **options: sent.append(tuple(args)))
    assert services.node_runs_reap(lost_after=0) == waiting.count()  # the broker is back
    assert {node_run_id for node_run_id, _ in sent} == {str(pk) for pk in
                                                        waiting.values_list("pk", flat=True)}


def _wrapped(cause: Exception) -> db_utils.OperationalError:
    """The error as Django raises it: its own class, the driver's error as the cause."""
    error = db_utils.OperationalError(str(cause))
    error.__cause__ = cause
    return error


@pytest.mark.parametrize("cause, unreachable", [
    (PoolTimeout("couldn't get a connection after 3.00 sec"), True),
    (psycopg.OperationalError("connection failed: Connection refused"), True),
    (psycopg.OperationalError("consuming input failed: server closed the connection"), True),
    (psycopg.errors.AdminShutdown("terminating connection due to administrator command"),
     True),
    (psycopg.errors.CannotConnectNow("the database system is starting up"), True),
    (psycopg.errors.QueryCanceled("canceling statement due to statement timeout"), False),
    (psycopg.errors.DeadlockDetected("deadlock detected"), False),
    (sqlite3.OperationalError("no such table: accounts_team"), False),
])
def test_only_a_database_that_cannot_be_reached_counts_as_unavailable(cause, unreachable):
    assert database_unreachable(_wrapped(cause)) is unreachable


def test_with_the_database_unreachable_a_keyed_request_answers_503_with_retry_after(
        api, monkeypatch):
    def unreachable(**kwargs):
        raise _wrapped(PoolTimeout("couldn't get a connection after 3.00 sec"))

    monkeypatch.setattr("accounts.authentication.api_key_for_request", unreachable)
    response = api.get("/api/v1/workflows")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response.json()["code"] == "service_unavailable" and response.json()["error"]
    assert "X-Request-Id" in response


def test_a_database_error_that_is_not_an_outage_stays_a_500(api, monkeypatch):
    def cancelled(**kwargs):
        raise _wrapped(psycopg.errors.QueryCanceled("canceling statement due to user request"))

    monkeypatch.setattr("accounts.authentication.api_key_for_request", cancelled)
    response = api.get("/api/v1/workflows")
    assert response.status_code == 500 and response.json()["code"] == "server_error"


def test_a_page_that_needs_the_unreachable_database_answers_a_plain_503(
        client, make_team, make_user, monkeypatch):
    client.force_login(make_user(team=make_team()))

    def unreachable(*args, **kwargs):
        raise _wrapped(psycopg.OperationalError("connection failed: Connection refused"))

    monkeypatch.setattr("frontend.views.membership_list", unreachable)
    response = client.get("/")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response["Content-Type"].startswith("text/plain")
    assert b"try again" in response.content


@pytest.mark.parametrize("headers", [{"HTTP_IDEMPOTENCY_KEY": "lost-answer-1"}, {}])
def test_a_run_whose_answer_cannot_be_read_back_is_not_made_and_the_key_is_free(
        api, monkeypatch, headers):
    workflow_id = api.post("/api/v1/workflows", offline_chain(),
                           format="json").json()["data"]["id"]
    def connection_lost(*args, **kwargs):  # the run is written; then PostgreSQL goes away
        raise _wrapped(psycopg.OperationalError("consuming input failed: server closed the "
                                                "connection unexpectedly"))

    monkeypatch.setattr("executions.selectors.execution_run_summary", connection_lost)
    response = api.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json",
                        **headers)
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert Execution.objects.count() == 0  # answered 503: nothing made

    monkeypatch.undo()
    again = api.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json", **headers)
    assert again.status_code == 201 and Execution.objects.count() == 1
