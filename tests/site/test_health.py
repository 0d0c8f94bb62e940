"""/livez says the process is up; /healthz says whether it can work: database, Redis, workers."""

from __future__ import annotations

import socket

import pytest
import redis

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_checks():
    from wireflow_site import health

    health._cache.clear()
    yield
    health._cache.clear()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_healthz_is_503_when_no_worker_answers_the_ping(client):
    from tests.conftest import _LIVE

    if _LIVE:  # this file run alone reaches here first, before any live worker started
        pytest.skip("a live worker of this test session would answer")
    response = client.get("/healthz")  # a real ping over the real broker, which nobody hears
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response.json() == {"status": "unavailable", "database": True, "redis": True,
                               "workers": 0}


def test_healthz_is_200_with_database_redis_and_a_worker_answering(client, live_worker):
    response = client.get("/healthz")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "ok" and body["database"] is True and body["redis"] is True
    assert body["workers"] >= 1


def test_healthz_is_503_with_retry_after_and_what_is_down_when_redis_is_unreachable(
        client, monkeypatch):
    dead = redis.Redis(host="127.0.0.1", port=_closed_port(), socket_connect_timeout=0.5)
    monkeypatch.setattr("wireflow_site.health.client", lambda: dead)
    response = client.get("/healthz")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    body = response.json()
    assert body["status"] == "unavailable" and body["redis"] is False
    assert body["database"] is True
    assert client.get("/livez").status_code == 200  # the process itself is up


def test_healthz_checks_at_most_once_per_cache_interval(client, monkeypatch, settings):
    from wireflow_site import health

    calls = []
    monkeypatch.setattr(health, "_database", lambda: calls.append(1) or True)
    settings.HEALTH_CACHE_SECONDS = 60
    for _ in range(5):
        client.get("/healthz")
    assert len(calls) == 1
    settings.HEALTH_CACHE_SECONDS = 0
    client.get("/healthz")
    assert len(calls) == 2
