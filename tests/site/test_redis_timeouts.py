"""A Redis that accepts and never answers costs a request or a task a bounded wait, then an
error: our own client, the Celery broker and the result backend all have socket timeouts."""

from __future__ import annotations

import threading
import time

import pytest
import redis
from kombu.exceptions import OperationalError

from tests.samples import offline_chain
from tests.servers import SilentServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def hung_redis():
    server = SilentServer()
    yield server
    server.close()


def _bounded(call, limit: float):
    """Run `call` in a thread; what it returned or raised, and the seconds it took. Fails
    (without waiting for it) if it is still going after `limit` s: it hung."""
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = call()
        except Exception as error:  # noqa: BLE001 — what it raised is the answer
            outcome["error"] = error

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(limit)
    assert not thread.is_alive(), f"still waiting on the hung Redis after {limit} s"
    return outcome, time.monotonic() - started


def test_with_redis_hung_execute_answers_503_within_the_socket_timeout(
        api, hung_redis, settings):
    from wireflow_site.redis_client import client

    workflow_id = api.post("/api/v1/workflows", offline_chain(), format="json").json()["data"]["id"]
    settings.REDIS_URL = hung_redis.url
    settings.REDIS_SOCKET_TIMEOUT = 1
    client.cache_clear()
    try:
        outcome, took = _bounded(
            lambda: api.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json"), 10)
    finally:
        client.cache_clear()
    response = outcome["value"]
    assert response.status_code == 503 and response["Retry-After"], response.content
    assert took < 3, took  # 1 s to read, not redis-py's 5 s default or forever


def test_the_celery_broker_gives_up_on_a_hung_redis(hung_redis, settings):
    from wireflow_site.celery import app

    def ping():
        with app.connection_for_write(hung_redis.url) as conn:
            conn.ensure_connection(max_retries=1)
            return conn.default_channel.client.ping()

    outcome, took = _bounded(ping, 30)
    assert isinstance(outcome.get("error"), (redis.TimeoutError, OperationalError,
                                             redis.ConnectionError)), outcome


def test_the_result_backend_gives_up_on_a_hung_redis(hung_redis):
    from celery.backends.redis import RedisBackend

    from wireflow_site.celery import app

    backend = RedisBackend(url=hung_redis.url, app=app)
    outcome, took = _bounded(lambda: backend.client.ping(), 20)
    assert isinstance(outcome.get("error"), (redis.TimeoutError, redis.ConnectionError)), outcome
