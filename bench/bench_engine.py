"""Engine benchmarks against a real Celery worker, on this machine, in one run:

  (a) orchestration overhead per node on a chain of trivial nodes, against a bare Celery round
      trip (`wireflow.ping`, sent and awaited) measured in the same run;
  (b) executions per second of a 3-node trivial workflow, against bare Celery tasks per second;
  (c) 500 simulated FLUX.2 generations (2 s latency each, provider concurrency 100) on
      `make run`'s workers (their submits and polls on the 16-thread remote worker): wall time
      against the ideal 10 s.

Uses its own database (var/bench.sqlite3 unless DATABASE_URL is set) and the Redis of REDIS_URL.
Prints figures; never fails on time. Run: make bench (or python bench/bench_engine.py).
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench.sqlite3'}")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wireflow_site.settings")
os.environ.setdefault("MEDIA_ROOT", str(ROOT / "var" / "bench-media"))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from accounts.models import Team  # noqa: E402
from accounts.services import credits_set, team_create  # noqa: E402
from executions.models import Execution, ExecutionStatus  # noqa: E402
from executions.services import execution_start  # noqa: E402
from executions.simulator.keys import BFL_KEY  # noqa: E402  (the simulator checks its format)
from tests.live import LiveWorker  # noqa: E402
from wireflow_site.celery import app  # noqa: E402

CHAIN = 20
TRIVIAL_RUNS = 40
GENERATIONS = 500
LATENCY = 2.0
CONCURRENCY = 100


def node(node_id, node_type, config=None):
    return {"id": node_id, "type": "basedNode", "position": {"x": 0, "y": 0},
            "data": {"label": node_id, "nodeType": node_type, "config": config or {}}}


def edge(source, out, target, port):
    return {"id": f"{source}-{target}", "source": source, "sourceHandle": f"out-{out}",
            "target": target, "targetHandle": f"in-{port}"}


def router_chain(length: int):
    nodes = [node("text", "input:text", {"prompt": "x"})]
    edges = []
    previous, out = "text", "text"
    for i in range(length - 1):
        nodes.append(node(f"r{i}", "logic:router"))
        edges.append(edge(previous, out, f"r{i}", "input"))
        previous, out = f"r{i}", "output"
    return nodes, edges


def wait_all(ids, timeout=600):
    deadline = time.monotonic() + timeout
    pending = set(ids)
    while pending and time.monotonic() < deadline:
        done = Execution.objects.filter(
            pk__in=pending,
            status__in=(ExecutionStatus.COMPLETED, ExecutionStatus.FAILED,
                        ExecutionStatus.CANCELLED),
        ).values_list("pk", flat=True)
        pending -= set(done)
        if pending:
            time.sleep(0.02)
    if pending:
        raise RuntimeError(f"{len(pending)} runs did not finish")
    return Execution.objects.filter(pk__in=ids)


def bare_round_trip(samples=50) -> float:
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        app.send_task("wireflow.ping").get(timeout=30)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bare_throughput(count=400) -> float:
    start = time.perf_counter()
    results = [app.send_task("wireflow.ping") for _ in range(count)]
    for result in results:
        result.get(timeout=60)
    return count / (time.perf_counter() - start)


def bench_overhead(team) -> None:
    round_trip = bare_round_trip()
    nodes, edges = router_chain(CHAIN)
    per_node = []
    for _ in range(5):
        # From the call to the run's own finished_at (same clock), so the time this script
        # takes to notice the end is not counted.
        start = time.time()
        execution = execution_start(team=team, nodes=nodes, edges=edges)
        finished = wait_all([execution.pk]).get().finished_at.timestamp()
        per_node.append((finished - start) / CHAIN)
    overhead = statistics.median(per_node)
    print(f"(a) bare Celery round trip: {round_trip * 1000:.1f} ms; "
          f"per node on a {CHAIN}-node chain: {overhead * 1000:.1f} ms; "
          f"ratio {overhead / round_trip:.2f}x (aim <= 3x)", flush=True)


def bench_throughput(team) -> None:
    tasks_per_second = bare_throughput()
    nodes, edges = router_chain(3)
    start = time.perf_counter()
    ids = [execution_start(team=team, nodes=nodes, edges=edges).pk for _ in range(TRIVIAL_RUNS)]
    wait_all(ids)
    runs_per_second = TRIVIAL_RUNS / (time.perf_counter() - start)
    print(f"(b) bare Celery: {tasks_per_second:.0f} tasks/s; 3-node workflow: "
          f"{runs_per_second:.1f} executions/s ({runs_per_second * 3:.0f} nodes/s); "
          f"ratio {runs_per_second / tasks_per_second:.3f} executions per bare task", flush=True)


def bench_generations(team, simulator_url: str) -> None:
    providers = {**settings.PROVIDERS}
    providers["bfl"] = {**providers["bfl"], "OPTIONS": {
        **providers["bfl"]["OPTIONS"], "base_url": simulator_url, "api_key": BFL_KEY,
        "max_concurrency": CONCURRENCY, "simulated": True}}
    settings.PROVIDERS = providers
    nodes = [node("text", "input:text", {"prompt": "bench"}),
             node("flux", "generate:flux_2_pro", {"width": 256, "height": 256})]
    edges = [edge("text", "prompt", "flux", "prompt")]
    start = time.perf_counter()
    ids = []
    for i in range(GENERATIONS):
        nodes[0]["data"]["config"]["prompt"] = f"bench generation {i}"
        ids.append(execution_start(team=team, nodes=nodes, edges=edges).pk)
    queued = time.perf_counter() - start
    runs = wait_all(ids, timeout=900)
    wall = time.perf_counter() - start
    ideal = GENERATIONS / CONCURRENCY * LATENCY
    failed = runs.exclude(status=ExecutionStatus.COMPLETED).count()
    print(f"(c) {GENERATIONS} generations, {LATENCY:.0f} s each, concurrency {CONCURRENCY}: "
          f"wall {wall:.1f} s (enqueueing {queued:.1f} s) vs ideal {ideal:.0f} s; "
          f"ratio {wall / ideal:.2f}x (aim <= 1.25x); failed {failed}", flush=True)


@contextmanager
def simulator_process(latency: float, port: int = 0):
    """The provider simulator in a process of its own, as a remote vendor would be: sharing
    this script's interpreter would slow its answers whenever the script itself is busy. On
    `port`, or a free one."""
    if not port:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "provider_simulator", "--port", str(port),
         "--latency", str(latency)], cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the provider simulator did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> int:
    call_command("migrate", "--noinput", "-v", "0")
    team = Team.objects.filter(slug="bench").first() or team_create(name="Bench", slug="bench",
                                                                     plan="enterprise")
    credits_set(team=team, balance=GENERATIONS * 10)
    with simulator_process(LATENCY) as simulator_url:
        worker_env = {
            "DJANGO_SETTINGS_MODULE": "wireflow_site.settings",
            "BFL_BASE_URL": simulator_url, "BFL_API_KEY": BFL_KEY,
            "BFL_MAX_CONCURRENCY": str(CONCURRENCY),
            "MEDIA_ROOT": os.environ["MEDIA_ROOT"],
        }
        # The workers `make run` starts: prefork, two processes, for local work (override to
        # compare pools), and 16 threads for vendor calls and polls.
        # BENCH_LAYOUT=single: one worker for every queue, as before the remote queue.
        single = os.environ.get("BENCH_LAYOUT") == "single"
        workers = [
            LiveWorker(concurrency=int(os.environ.get("BENCH_CONCURRENCY", "2")),
                       pool=os.environ.get("BENCH_POOL", "prefork"), beat=False,
                       extra_env=worker_env,
                       queues=[] if single else [settings.CELERY_TASK_DEFAULT_QUEUE]),
        ]
        if not single:
            workers.append(LiveWorker(concurrency=16, pool="threads", beat=False,
                                      extra_env=worker_env,
                                      queues=[settings.CELERY_REMOTE_QUEUE]))
        for worker in workers:
            worker.start()
        try:
            bench_overhead(team)
            bench_throughput(team)
            bench_generations(team, simulator_url)
        finally:
            for worker in workers:
                worker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
