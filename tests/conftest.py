"""Shared fixtures: teams, members, API keys and an API client per principal."""

from __future__ import annotations

import itertools

import pytest

_counter = itertools.count(1)


@pytest.fixture
def make_team(db):
    from accounts.services import team_create

    def make(plan: str = "pro", credits: int = 0, **kwargs):
        from accounts.services import credits_grant

        n = next(_counter)
        team = team_create(name=kwargs.get("name", f"Team {n}"), slug=f"team-{n}", plan=plan)
        if credits:
            credits_grant(team=team, amount=credits)
        return team

    return make


@pytest.fixture
def make_user(db):
    from accounts.models import User
    from accounts.services import membership_set

    def make(team=None, role: str = "editor", **kwargs):
        n = next(_counter)
        user = User.objects.create_user(username=kwargs.get("username", f"user{n}"), password="pw")
        if team is not None:
            membership_set(team=team, user=user, role=role)
        return user

    return make


@pytest.fixture
def make_key(db):
    from accounts.services import api_key_create

    def make(team, scopes=None, **kwargs):
        return api_key_create(team=team, name=kwargs.pop("name", "test"), scopes=scopes, **kwargs)

    return make


@pytest.fixture
def team(make_team):
    return make_team()


@pytest.fixture
def other_team(make_team):
    return make_team()


@pytest.fixture
def key_client(make_key):
    """An APIClient authenticated with a new key of `team` (all scopes unless given)."""
    from rest_framework.test import APIClient

    def make(team, scopes=None):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(team, scopes=scopes).raw_key}")
        return client

    return make


@pytest.fixture
def api(team, key_client):
    return key_client(team)


@pytest.fixture
def session_client(make_user):
    """An APIClient logged in as a member with `role`, enforcing CSRF like a browser."""
    from rest_framework.test import APIClient

    def make(team, role: str = "editor"):
        user = make_user(team=team, role=role)
        client = APIClient(enforce_csrf_checks=True)
        client.force_login(user)
        return client, user

    return make


@pytest.fixture(scope="session")
def simulator_server():
    """The provider simulator on loopback, shared by the suite (reset per test by `simulator`)."""
    from executions.simulator import SimulatorServer

    with SimulatorServer(latency=0.3) as server:
        yield server


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Where browser tests' daphne listens; the worker builds output URLs from it.
LIVE_SERVER_URL = f"http://127.0.0.1:{_free_port()}"

# The worker's remote providers talk to the simulator, with the small BFL concurrency limit
# of wireflow_site.test_settings, so the limit itself is exercised.
WORKER_BFL_LIMIT = 3


@pytest.fixture(scope="session")
def live_worker(django_db_setup, django_db_blocker, simulator_server):
    """A real Celery worker process (prefork, 2 children) plus beat running the reaper."""
    from tests.live import LiveWorker

    url = simulator_server.url
    worker = LiveWorker(extra_env={
        "SIMULATE": "1", "SIMULATOR_URL": url, "PUBLIC_BASE_URL": LIVE_SERVER_URL,
        "BFL_MAX_CONCURRENCY": str(WORKER_BFL_LIMIT), "BFL_TIMEOUT": "5",
    }).start()
    _LIVE.append(worker)
    yield worker
    _LIVE.clear()
    worker.stop()


_LIVE: list = []


@pytest.fixture(autouse=True)
def _settle_runs_before_flush(request, django_db_blocker):
    """With a live worker about, a test that leaves runs going would race the table flush of
    transactional tests: cancel what is left and wait until the worker is idle."""
    yield
    if not _LIVE or "transactional_db" not in request.fixturenames and not any(
        m.kwargs.get("transaction") for m in request.node.iter_markers("django_db")
    ):
        return
    import time

    from executions.models import Execution, ExecutionStatus
    from executions.services import execution_cancel
    from wireflow_site.celery import app

    with django_db_blocker.unblock():
        for execution in Execution.objects.filter(
            status__in=(ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)
        ):
            execution_cancel(execution=execution)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        active = app.control.inspect(timeout=0.5,
                                     destination=[_LIVE[0].hostname]).active() or {}
        if not any(active.values()):
            return
        time.sleep(0.2)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Rate-limit counters live in Redis, outside the test transaction: start each test clean
    (row ids are reused between tests on SQLite)."""
    from wireflow_site.redis_client import client

    keys = list(client().scan_iter("wireflow:rl:*", count=1000))
    if keys:
        client().delete(*keys)
