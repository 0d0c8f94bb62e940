"""Do hanging vendor submits slow down unrelated local work? Both worker layouts, in one run:

  before: one prefork worker (2 processes) consuming every queue, as `make run` started it;
  now:    the `make run` layout: a prefork worker (2 processes) for local rendering on the main
          queue, and a thread-pool worker (16 threads) for vendor calls on `<queue>.remote`.

For each layout: the wall time of 8 local runs (preview → upscale, 1024 px) alone, then the same
8 runs started just after 2 FLUX.2 submits that the vendor answers only after 10 s (the
simulator's `sim:hang`). Prints both and the slowdown. Uses its own database
(var/bench.sqlite3 unless DATABASE_URL is set) and the Redis of REDIS_URL; never fails on time.
"""

from __future__ import annotations

import os
import sys
import time
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
from bench.bench_engine import edge, node, simulator_process, wait_all  # noqa: E402
from executions.services import execution_start  # noqa: E402
from tests.live import LiveWorker  # noqa: E402

LOCAL_RUNS = 8
HANGING = 2


def local_run(team, n: int):
    nodes = [node("text", "input:text", {"prompt": f"isolation {n}"}),
             node("preview", "generate:local_preview", {"seed": n, "width": 1024,
                                                         "height": 1024}),
             node("up", "process:upscale_local", {"scale": 2})]
    edges = [edge("text", "prompt", "preview", "prompt"), edge("preview", "image", "up", "image")]
    # force: the same seeds every round, never served from the cache.
    return execution_start(team=team, nodes=nodes, edges=edges, force=True).pk


def hanging_submit(team, n: int):
    nodes = [node("text", "input:text", {"prompt": f"hang {n} {time.time()} sim:hang"}),
             node("flux", "generate:flux_2_pro", {"width": 256, "height": 256, "seed": n})]
    return execution_start(team=team, nodes=nodes,
                           edges=[edge("text", "prompt", "flux", "prompt")]).pk


def local_wall(team) -> float:
    start = time.perf_counter()
    wait_all([local_run(team, n) for n in range(LOCAL_RUNS)])
    return time.perf_counter() - start


def measure(team, workers: list[LiveWorker]) -> tuple[float, float]:
    for worker in workers:
        worker.start()
    try:
        local_wall(team)  # warm up: imports, first connections
        alone = local_wall(team)
        hung = [hanging_submit(team, n) for n in range(HANGING)]
        time.sleep(0.3)  # the submits are in flight
        beside = local_wall(team)
        wait_all(hung, timeout=120)
        return alone, beside
    finally:
        for worker in workers:
            worker.stop()


def main() -> int:
    from executions.simulator.keys import BFL_KEY

    call_command("migrate", "--noinput", "-v", "0")
    team = Team.objects.filter(slug="bench").first() or team_create(name="Bench", slug="bench",
                                                                     plan="enterprise")
    credits_set(team=team, balance=10_000)
    with simulator_process(1.0) as simulator_url:
        providers = {**settings.PROVIDERS}
        providers["bfl"] = {**providers["bfl"], "OPTIONS": {
            **providers["bfl"]["OPTIONS"], "base_url": simulator_url, "api_key": BFL_KEY,
            "simulated": True}}
        settings.PROVIDERS = providers  # this process sends the nodes to their queues
        env = {"DJANGO_SETTINGS_MODULE": "wireflow_site.settings", "BFL_BASE_URL": simulator_url,
               "BFL_API_KEY": BFL_KEY, "BFL_TIMEOUT": "60", "MEDIA_ROOT": os.environ["MEDIA_ROOT"]}
        layouts = {
            "before (one prefork worker, every queue)":
                [LiveWorker(concurrency=2, beat=False, extra_env=env)],
            "now (prefork for local work + threads for vendor calls)": [
                LiveWorker(concurrency=2, beat=False, extra_env=env,
                           queues=[settings.CELERY_TASK_DEFAULT_QUEUE]),
                LiveWorker(concurrency=16, pool="threads", beat=False, extra_env=env,
                           queues=[settings.CELERY_REMOTE_QUEUE])],
        }
        for name, workers in layouts.items():
            alone, beside = measure(team, workers)
            print(f"{name}: {LOCAL_RUNS} local runs {alone:.1f} s alone, {beside:.1f} s beside "
                  f"{HANGING} hanging vendor submits; slowdown {beside / alone:.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
