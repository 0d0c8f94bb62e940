"""Several daphne processes on one port (WEB_CONCURRENCY, daphne --fd): on one shared socket (a
systemd socket unit's layout) each of them answers HTTP on its own and a WebSocket works through
it; on the runner's sockets, one per process with SO_REUSEPORT, new connections are spread over
all of them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from websockets.sync.client import connect

from tests.live import ROOT, database_url
from tests.samples import offline_chain
from wireflow_site.runner import listening_socket, listening_sockets, web_concurrency

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def daphnes_on(listeners):
    """A daphne on each of `listeners` (one shared socket may appear twice): its URL, the
    processes; stopped at the end."""
    port = listeners[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "wireflow_site.test_settings",
           "DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL, "DEBUG": "1",
           "PUBLIC_BASE_URL": url, "PYTHONUNBUFFERED": "1"}
    processes = [subprocess.Popen(
        [sys.executable, "-m", "wireflow_site.serve", "--fd", str(listener.fileno()),
         "wireflow_site.asgi:application"], cwd=ROOT, env=env, pass_fds=(listener.fileno(),),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        for listener in listeners]
    for listener in listeners:
        listener.close()  # the processes hold them now
    return url, processes


@pytest.fixture
def two_daphnes():
    shared = listening_socket("127.0.0.1", 0)
    yield from _stopped_after(*daphnes_on([shared, shared]))


@pytest.fixture
def runners_daphnes():
    yield from _stopped_after(*daphnes_on(listening_sockets("127.0.0.1", 0, 2)))


def _stopped_after(url, processes):
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


def _established_by_process(port: int, processes) -> dict[int, int]:
    """How many established connections to `port` each process holds, from /proc."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    held = {}
    for process in processes:
        fds = Path(f"/proc/{process.pid}/fd")
        links = [os.readlink(fd) for fd in fds.iterdir() if fd.name.isdigit()]
        held[process.pid] = sum(1 for link in links if link[8:-1] in inodes
                                and link.startswith("socket:["))
    return held


def test_the_runners_sockets_spread_new_connections_over_every_process(runners_daphnes):
    url, processes = runners_daphnes
    assert answers(url)
    port = int(url.rsplit(":", 1)[1])
    clients = [httpx.Client(timeout=10) for _ in range(40)]
    try:
        for client in clients:  # 40 keep-alive connections, each from a port of its own
            assert client.get(f"{url}/livez").status_code == 200
        held = _established_by_process(port, processes)
        # The kernel hashes each connection to one socket: all 40 on one has odds 2^-39. On
        # one shared socket, 40 connections made one after the other often all went to one.
        assert sum(held.values()) == 40, held
        assert all(count >= 5 for count in held.values()), held
    finally:
        for client in clients:
            client.close()


def test_web_concurrency_defaults_to_the_cores_and_refuses_nonsense():
    assert web_concurrency({}) == len(os.sched_getaffinity(0))
    assert web_concurrency({"WEB_CONCURRENCY": "3"}) == 3
    with pytest.raises(ValueError):
        web_concurrency({"WEB_CONCURRENCY": "0"})
