"""PostgreSQL restarts under load: a real daphne and a real Celery worker on a PostgreSQL cluster
of the test's own (the shared one is never stopped), which is stopped (`-m fast`, then
`-m immediate`) for a few seconds and started again while runs are submitted."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass

import httpx
import psycopg
import pytest

from tests.graph.builders import edge, node
from tests.reliability.procs_support import PrivatePostgres, RestartableRedis

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PrivatePostgres.available(),
                       reason=f"no PostgreSQL server binaries in {PrivatePostgres.BIN}"),
]

OUTAGE_SECONDS = float(os.environ.get("PG_OUTAGE_SECONDS", "5"))
FINAL = ("COMPLETED", "FAILED", "CANCELLED")
# What a team and key on the private database are made with (the test's own ORM is on the
# shared test database, so this runs in a process of the app's).
MAKE_KEY = """
from accounts.services import api_key_create, credits_grant, team_create
team = team_create(name="Outage", slug="outage", plan="pro")
credits_grant(team=team, amount=10_000)
print(api_key_create(team=team, name="outage").raw_key)
"""


@dataclass
class Answer:
    path: str
    started: float
    answered: float
    status: int
    body: dict | None
    retry_after: str | None


def _graph(n: int) -> dict:
    """Big enough that some runs are still going when PostgreSQL goes away."""
    nodes = [node("prompt", "input:text", {"prompt": f"outage {n}"}),
             node("preview", "generate:local_preview", {"seed": n, "width": 1024,
                                                         "height": 1024}),
             node("up", "process:upscale_local", {"scale": 2})]
    edges = [edge("e1", "prompt", "prompt", "preview", "prompt"),
             edge("e2", "preview", "image", "up", "image")]
    return {"name": f"Outage {n}", "nodes": nodes, "edges": edges}


def _served_since(answers: list[Answer], lock: threading.Lock, since: float) -> list[float]:
    """When database-backed reads answered 200 after `since`."""
    with lock:
        return [a.answered for a in answers
                if a.path == "/api/v1/workflows" and a.status == 200 and a.answered > since]


def _manage(env: dict[str, str], *argv: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", *argv], env=env, capture_output=True,
                          text=True, timeout=60, cwd=os.path.dirname(os.path.dirname(
                              os.path.dirname(os.path.abspath(__file__)))))
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture
def stack():
    from django.conf import settings

    from tests.conftest import _free_port
    from tests.live import LiveServer, LiveWorker

    postgres = PrivatePostgres()
    redis_server = server = worker = None
    try:
        postgres.init()
        redis_server = RestartableRedis().start()  # nothing shared with the rest of the suite
        # Rate limits off: the probes below send far more than a plan's requests a minute.
        env = {"DATABASE_URL": postgres.url, "REDIS_URL": redis_server.url,
               "CELERY_QUEUE": f"wireflow-pg-{uuid.uuid4().hex[:8]}",
               "RATE_LIMITS_ENABLED": "0"}
        app_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "wireflow_site.test_settings", **env}
        _manage(app_env, "migrate", "--verbosity", "0")
        raw_key = _manage(app_env, "shell", "-c", MAKE_KEY).strip().splitlines()[-1]
        worker = LiveWorker(extra_env=env)
        worker.log = settings.VAR_DIR / f"test-pg-worker-{os.getpid()}.log"
        worker.start()
        server = LiveServer(url=f"http://127.0.0.1:{_free_port()}", extra_env=env)
        server.log = settings.VAR_DIR / f"test-pg-daphne-{os.getpid()}.log"
        server.start()
        yield postgres, server, worker, raw_key
    finally:
        for part in (server, worker):
            if part is not None:
                part.stop()
        if redis_server is not None:
            redis_server.crash()
        postgres.destroy()


def test_postgres_stopped_twice_requests_answer_503_and_the_pool_is_back_within_two_seconds(
        stack):
    postgres, server, worker, raw_key = stack
    http = httpx.Client(base_url=server.url, timeout=15,
                        headers={"Authorization": f"Bearer {raw_key}"})
    answers: list[Answer] = []
    lock = threading.Lock()
    stop = threading.Event()

    def call(method: str, path: str, **kwargs) -> Answer:
        started = time.monotonic()
        try:
            response = http.request(method, path, **kwargs)
        except httpx.TimeoutException:  # a hang: recorded as status 0
            answer = Answer(path, started, time.monotonic(), 0, None, None)
            with lock:
                answers.append(answer)
            return answer
        try:
            body = response.json()
        except ValueError:
            body = None
        answer = Answer(path, started, time.monotonic(), response.status_code, body,
                        response.headers.get("Retry-After"))
        with lock:
            answers.append(answer)
        return answer

    workflow_ids = []
    for n in range(3):
        created = call("POST", "/api/v1/workflows", json=_graph(n))
        assert created.status == 201, created.body
        workflow_ids.append(created.body["data"]["id"])
    worker_pid = worker.process.pid
    accepted: list[str] = []  # runs answered 201

    def submit() -> None:
        n = 0
        while not stop.is_set():
            answer = call("POST", f"/api/v1/workflows/{workflow_ids[n % 3]}/execute", json={},
                          headers={"Idempotency-Key": f"pg-{uuid.uuid4().hex}"})
            if answer.status == 201:
                accepted.append(answer.body["executionId"])
            n += 1
            time.sleep(0.3)

    def probe() -> None:  # a database-backed read, over and over
        while not stop.is_set():
            call("GET", "/api/v1/workflows")
            time.sleep(0.05)

    threads = [threading.Thread(target=submit), *(threading.Thread(target=probe)
                                                  for _ in range(3))]
    for thread in threads:
        thread.start()
    outages: list[tuple[str, float, float]] = []  # mode, down from, accepting again at
    health: list[Answer] = []
    try:
        for mode in ("fast", "immediate"):
            time.sleep(1.5)
            postgres.stop(mode)
            down = time.monotonic()
            while time.monotonic() - down < OUTAGE_SECONDS:
                health.append(call("GET", "/healthz"))
                time.sleep(0.5)
            postgres.start(wait=False)
            while not postgres.accepts_connections():
                time.sleep(0.01)
            up = time.monotonic()
            outages.append((mode, down, up))
            while time.monotonic() - up < 30 and not _served_since(answers, lock, up):
                time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

    recovered = []
    for mode, _down, up in outages:
        recovered.append((mode, min(_served_since(answers, lock, up), default=math.inf) - up))
    refused = [a for a in answers if a.status == 503]
    print(f"\nPostgreSQL stopped for {OUTAGE_SECONDS:g} s: first 200 after it accepted "
          f"connections again: " + ", ".join(f"-m {m} {s:.2f} s" for m, s in recovered)
          + f"; {len(refused)} answers 503 (slowest "
          f"{max((a.answered - a.started for a in refused), default=0):.2f} s), "
          f"statuses {sorted({a.status for a in answers})}")

    # Nothing but success or 503 in the documented error shape, with Retry-After, and soon.
    assert {a.status for a in answers} <= {200, 201, 503}, sorted({a.status for a in answers})
    for answer in refused:
        assert answer.retry_after, answer
        if answer.path != "/healthz":
            assert answer.body["code"] == "service_unavailable" and answer.body["error"], answer
    slowest = max(answers, key=lambda a: a.answered - a.started)
    assert slowest.answered - slowest.started < 5, slowest
    # Requests were refused in each outage, and the health check said the database was down.
    for _mode, down, up in outages:
        assert any(down <= a.answered <= up and a.path != "/healthz" for a in refused)
        assert any(down + 2 < a.answered <= up and a.status == 503
                   and a.body["database"] is False for a in health)
    for mode, seconds in recovered:
        assert seconds < 2, f"-m {mode}: first 200 {seconds:.2f} s after PostgreSQL was back"

    # Every run answered 201 ends final; no run exists that a request answered 5xx created.
    deadline = time.monotonic() + 30
    pending = set(accepted)
    while pending and time.monotonic() < deadline:
        for execution_id in list(pending):
            poll = call("GET", f"/api/v1/workflows/executions/{execution_id}/poll")
            if poll.status == 200 and poll.body["status"] in FINAL:
                pending.discard(execution_id)
        time.sleep(0.5)
    with psycopg.connect(postgres.url) as conn:
        rows = dict(conn.execute("SELECT id::text, status FROM executions_execution"))
        nodes = conn.execute("SELECT execution_id::text, node_id, status, error "
                             "FROM executions_noderun WHERE execution_id::text = ANY(%s)",
                             [list(pending)]).fetchall()
    assert not pending, f"not final: {pending}, {[rows.get(p) for p in pending]}, {nodes}"
    assert set(rows) == set(accepted)
    assert set(rows.values()) <= set(FINAL)
    # The worker rode out both outages in the same process.
    assert worker.process.poll() is None and worker.process.pid == worker_pid
