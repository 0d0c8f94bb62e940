"""Plan limits counted in Redis: headers on every response, 429s with the documented bodies,
and no over-admission when requests arrive at once."""

from __future__ import annotations

import time

import pytest

from accounts.ratelimit import execution_windows
from executions.models import Execution
from tests.concurrency import at_once, keyed_client
from tests.samples import offline_chain
from tests.timing import away_from_the_minute_edge
from wireflow_site.redis_client import client as redis_client

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_key_response_carries_the_headers_and_remaining_falls(team, make_key):
    away_from_the_minute_edge()
    api = keyed_client(make_key(team).raw_key)
    first = api.get("/api/v1/workflows")
    second = api.get("/api/v1/nodes")
    assert first["X-RateLimit-Limit"] == "60"  # Pro
    assert int(second["X-RateLimit-Remaining"]) == int(first["X-RateLimit-Remaining"]) - 1
    assert int(first["X-RateLimit-Reset"]) > time.time()
    missing = api.get("/api/v1/workflows/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and "X-RateLimit-Remaining" in missing


def test_the_request_limit_answers_429_with_retry_after(make_team, make_key):
    away_from_the_minute_edge()
    api = keyed_client(make_key(make_team(plan="free")).raw_key)
    for _ in range(10):
        assert api.get("/api/v1/nodes").status_code == 200
    refused = api.get("/api/v1/nodes")
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"] == "Too many requests. Please try again later."
    assert body["retryAfter"] > time.time() and 0 < int(refused["Retry-After"]) <= 60
    assert refused["X-RateLimit-Remaining"] == "0"


def test_concurrent_requests_are_never_over_admitted(make_team, make_key):
    away_from_the_minute_edge()
    raw = make_key(make_team(plan="free")).raw_key
    statuses = at_once(30, lambda: keyed_client(raw).get("/api/v1/nodes").status_code)
    assert statuses.count(200) == 10 and statuses.count(429) == 20


def test_executions_per_minute_and_per_day(make_team, make_key):
    away_from_the_minute_edge()
    team = make_team(plan="free")
    api = keyed_client(make_key(team).raw_key)
    workflow_id = api.post("/api/v1/workflows", offline_chain(),
                           format="json").json()["data"]["id"]
    for _ in range(5):
        assert api.post(f"/api/v1/workflows/{workflow_id}/execute", {},
                        format="json").status_code == 201
    # Someone used up the minute's executions elsewhere: the next run is refused, none created.
    minute, day = execution_windows(team)
    redis_client().set(minute.key, 10, ex=70)
    refused = api.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json")
    assert refused.status_code == 429
    assert refused.json()["error"] == "Too many workflow executions. Please try again later."
    assert refused.json()["retryAfter"] == minute.reset
    assert Execution.objects.count() == 5
    # The day's quota (Free: 50) is a separate window that resets at 00:00 UTC.
    redis_client().delete(minute.key)
    redis_client().set(day.key, 50, ex=90000)
    refused = api.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json")
    assert refused.status_code == 429 and refused.json()["retryAfter"] == day.reset
    assert day.reset % 86400 == 0


def test_a_refused_run_gives_its_count_back(make_team, make_key):
    away_from_the_minute_edge()
    team = make_team(plan="free")
    api = keyed_client(make_key(team).raw_key)
    draft = {**offline_chain(), "edges": []}  # saved as a draft: required inputs missing
    workflow_id = api.post("/api/v1/workflows?strict=false", draft,
                           format="json").json()["data"]["id"]
    minute, day = execution_windows(team)
    response = api.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json")
    assert response.status_code == 422 and response.json()["code"] == "invalid_graph"
    assert int(redis_client().get(day.key) or 0) == 0
    assert int(redis_client().get(minute.key) or 0) == 0
