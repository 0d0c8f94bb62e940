"""Several daphne processes on one listening socket, as the runner starts them (WEB_CONCURRENCY,
daphne --fd): each of them answers HTTP on its own, and a WebSocket works through the socket."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from django.conf import settings
from websockets.sync.client import connect

from tests.live import ROOT, database_url
from tests.samples import offline_chain
from wireflow_site.runner import listening_socket, web_concurrency

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def two_daphnes():
    listener = listening_socket("127.0.0.1", 0)
    port = listener.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "wireflow_site.test_settings",
           "DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL, "DEBUG": "1",
           "PUBLIC_BASE_URL": url, "PYTHONUNBUFFERED": "1"}
    fd = listener.fileno()
    processes = [subprocess.Popen(
        [sys.executable, "-m", "wireflow_site.serve", "--fd", str(fd),
         "wireflow_site.asgi:application"], cwd=ROOT, env=env, pass_fds=(fd,),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        for _ in range(2)]
    listener.close()  # the processes hold it now
    try:
        yield url, processes
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGCONT)
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def alone(processes, chosen):
    """Only `chosen` runs (the others SIGSTOPped): whatever answers now, it answered."""
    for process in processes:
        os.killpg(process.pid, signal.SIGCONT if process is chosen else signal.SIGSTOP)


def answers(url: str, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:  # a new connection each time: the one running process must accept it
            with httpx.Client(timeout=3) as client:
                if client.get(f"{url}/livez").status_code == 200:
                    return True
        except httpx.HTTPError:
            time.sleep(0.2)
    return False


def test_two_daphne_processes_on_one_socket_each_answer_and_a_websocket_works(
        two_daphnes, team, session_client, key_client):
    url, processes = two_daphnes
    for process in processes:
        alone(processes, process)
        assert answers(url), f"daphne {process.pid} did not answer on the shared socket"
    for process in processes:
        os.killpg(process.pid, signal.SIGCONT)

    api = key_client(team)
    created = api.post("/api/v1/workflows", offline_chain(), format="json").json()["data"]
    client, _ = session_client(team, role="editor")
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    with connect(f"ws{url[4:]}/ws/workflows/{created['id']}/", open_timeout=20,
                 additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}",
                                     "Origin": url}) as socket:
        webhook = created["webhookUrl"].split("/api/v1/", 1)[1]
        started = httpx.post(f"{url}/api/v1/{webhook}", json={}, timeout=20)
        assert started.status_code == 202, started.text
        execution_id = started.json()["executionId"]
        deadline = time.monotonic() + 20
        seen = None
        while seen is None and time.monotonic() < deadline:
            message = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            events = message.get("events", [message])
            seen = next((e for e in events if e.get("executionId") == execution_id), None)
        assert seen is not None and seen["type"] in ("execution.status", "node.status")


def test_web_concurrency_defaults_to_the_cores_and_refuses_nonsense():
    assert web_concurrency({}) == len(os.sched_getaffinity(0))
    assert web_concurrency({"WEB_CONCURRENCY": "3"}) == 3
    with pytest.raises(ValueError):
        web_concurrency({"WEB_CONCURRENCY": "0"})
