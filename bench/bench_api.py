"""API benchmarks against a real daphne and Celery worker, in one run:

  - requests per second of the poll endpoint against a bare Django JSON view (/livez) on the
    same server, same client, same concurrency (aim >= 0.5x);
  - execute latency (POST /workflows/{id}/execute) p50 / p99.

Rate limits are switched off for the server under test (RATE_LIMITS_ENABLED=0) so the figures
measure the code, not the plan. Prints figures; never fails on time.
"""

from __future__ import annotations

import logging
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench.sqlite3'}")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wireflow_site.settings")
os.environ.setdefault("MEDIA_ROOT", str(ROOT / "var" / "bench-media"))
os.environ["RATE_LIMITS_ENABLED"] = "0"

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402

# A log line per request would spend the client's CPU, which this 2-core machine shares with
# the server under test.
logging.getLogger("httpx").setLevel(logging.WARNING)
from django.core.management import call_command  # noqa: E402

from accounts.models import Team  # noqa: E402
from accounts.services import api_key_create, credits_set, team_create  # noqa: E402
from bench.support import free_port, wait_live  # noqa: E402
from tests.live import LiveWorker  # noqa: E402

SECONDS = 5
CLIENTS = 8
EXECUTES = 60


def start_daphne(port: int) -> subprocess.Popen:
    env = {**os.environ, "DEBUG": "0", "HTTPS": "0", "PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
         "wireflow_site.asgi:application"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    return wait_live(process, port)


def hammer(url: str, headers: dict[str, str]) -> float:
    """Requests per second with CLIENTS keep-alive clients for SECONDS."""
    counts = [0] * CLIENTS
    stop = time.monotonic() + SECONDS

    def run(index: int) -> None:
        with httpx.Client(headers=headers, timeout=30) as client:
            while time.monotonic() < stop:
                if client.get(url).status_code == 200:
                    counts[index] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / SECONDS


def main() -> int:
    call_command("migrate", "--noinput", "-v", "0")
    team = Team.objects.filter(slug="bench-api").first() or team_create(
        name="Bench API", slug="bench-api", plan="enterprise")
    credits_set(team=team, balance=100_000)
    key = api_key_create(team=team, name="bench").raw_key
    headers = {"Authorization": f"Bearer {key}"}
    port = free_port()
    worker = LiveWorker(concurrency=2, beat=False, extra_env={
        "DJANGO_SETTINGS_MODULE": "wireflow_site.settings", "MEDIA_ROOT": os.environ["MEDIA_ROOT"],
        "RATE_LIMITS_ENABLED": "0"}).start()
    server = start_daphne(port)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        graph = {"name": "bench", "nodes": [
            {"id": "t", "type": "basedNode", "position": {"x": 0, "y": 0},
             "data": {"nodeType": "input:text", "config": {"prompt": "bench"}}},
            {"id": "p", "type": "basedNode", "position": {"x": 300, "y": 0},
             "data": {"nodeType": "generate:local_preview",
                      "config": {"seed": 1, "width": 256, "height": 256}}}],
            "edges": [{"id": "e", "source": "t", "sourceHandle": "out-prompt", "target": "p",
                       "targetHandle": "in-prompt"}]}
        with httpx.Client(headers=headers, timeout=30) as client:
            workflow_id = client.post(f"{base}/workflows", json=graph).json()["data"]["id"]
            latencies = []
            for _ in range(EXECUTES):
                start = time.perf_counter()
                response = client.post(f"{base}/workflows/{workflow_id}/execute", json={})
                latencies.append(time.perf_counter() - start)
                assert response.status_code == 201, response.text
            poll = response.headers["location"]
            while client.get(poll).json()["status"] not in ("COMPLETED", "FAILED"):
                time.sleep(0.2)
        poll_rps = hammer(poll, headers)
        bare_rps = hammer(f"http://127.0.0.1:{port}/livez", {})
        latencies.sort()
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(f"poll endpoint: {poll_rps:.0f} req/s; bare Django JSON view: {bare_rps:.0f} "
              f"req/s; ratio {poll_rps / bare_rps:.2f}x (aim >= 0.5x); {CLIENTS} clients, "
              f"one daphne", flush=True)
        print(f"execute latency: p50 {statistics.median(latencies) * 1000:.1f} ms, "
              f"p99 {p99 * 1000:.1f} ms ({EXECUTES} sequential calls)", flush=True)
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=20)
        worker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
