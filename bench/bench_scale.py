"""Scale-out: the same remote-bound load on 1, 2 and 4 worker hosts that share no disk.

Starts, on loopback: PostgreSQL's database `bench_scale` (recreated by this script on the
server of SCALE_DATABASE_URL), Redis (a private embedded one, or db SCALE_REDIS_DB of
REDIS_URL when that is set, flushed first), the S3 server (moto's ThreadedMotoServer, as the
test suite starts it), the provider simulator (its own process, as bench_engine.py runs it)
and the API (one daphne). For each worker count it starts that many Celery workers of the
kind `make run` starts for vendor work (`--pool threads`, 16 threads), each with a var dir of
its own, empty (nothing on a shared disk: media on S3, the same SECRET_KEY from the
environment), and one beat. Each worker consumes both queues, as one host of a small
deployment does (the text input runs on the main queue, the generation on `.remote`).

Then 400 simulated FLUX.2 generations (2 s each at the simulator, provider concurrency 200)
are created while the workers are paused (SIGSTOP), so the figure is the workers' drain and
not this script's enqueueing; the clock starts when they are resumed together and stops at
the last run's `finished_at`. Ideal: 400 / 200 × 2 s = 4 s. Every output is then fetched as
a client would: the run's poll answer from the API (Bearer key), and its `finalOutput.url`
(presigned by the worker that stored it) over HTTP from the S3 server; a file that is not an
image there counts as unreadable.

Prints a table (wall, generations/s, ratio to one worker; aim: 4 workers >= 3.5x one). Never
fails on time. A default run takes about 2 minutes. Environment: SCALE_GENERATIONS (400),
SCALE_CONCURRENCY (200), SCALE_LATENCY (2 s), SCALE_WORKERS ("1,2,4"), SCALE_THREADS (16),
SCALE_DB_POOL_SIZE (12 connections per worker, which its 16 threads wait for, up to
DB_POOL_TIMEOUT=60 s: 4 workers × 12 stay under PostgreSQL's default max_connections of 100
with room for others; with the default 3 s wait, threads failed their tasks and the runs waited
for the reaper), SCALE_DATABASE_URL
(postgres://postgres@127.0.0.1:5432/bench_scale).

SCALE_PROFILE=<dir>: sample each worker with py-spy (`record --nonblocking`, so the worker is
never paused) from its resume to the last generation, write the collapsed stacks there
(round-<workers>-host<n>.txt) and print where the CPU went as ms per generation
(bench/profile_stacks.py reads the files again). The sampler costs CPU of its own on a shared
machine: take the CPU figure from a run without it. py-spy samples the thread holding the GIL
(`--gil`): what runs without it (system calls, much of libpq, Pillow's codecs) is missed.
SCALE_PHASES=1: each worker adds up the CPU time of its threads inside each step of a
generation (bench/cpu_phases.py: claim, submit, polls, download, type check, thumbnails, S3
writes, queries, events...) and the table is printed per host, in ms per generation.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench import cpu_phases  # noqa: E402
from bench.profile_stacks import summary  # noqa: E402
from bench.support import free_port, wait_live  # noqa: E402

GENERATIONS = int(os.environ.get("SCALE_GENERATIONS", "400"))
CONCURRENCY = int(os.environ.get("SCALE_CONCURRENCY", "200"))
LATENCY = float(os.environ.get("SCALE_LATENCY", "2"))
WORKER_COUNTS = [int(n) for n in os.environ.get("SCALE_WORKERS", "1,2,4").split(",")]
THREADS = int(os.environ.get("SCALE_THREADS", "16"))
POOL_SIZE = os.environ.get("SCALE_DB_POOL_SIZE", "12")
DATABASE_URL = os.environ.get("SCALE_DATABASE_URL",
                              "postgres://postgres@127.0.0.1:5432/bench_scale")
PROFILE_DIR = os.environ.get("SCALE_PROFILE", "")
PROFILE_RATE = 250  # samples per second per worker
PHASES = os.environ.get("SCALE_PHASES", "") == "1"


def recreate_database(url: str) -> None:
    """Drop and create the benchmark's database, from the server's `postgres` database."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def with_redis_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


# Everything the processes share is set before Django is set up here: this process creates
# the runs (so it takes provider slots with the same limit) and signs nothing itself.
recreate_database(DATABASE_URL)
os.environ["DATABASE_URL"] = DATABASE_URL
os.environ["DJANGO_SETTINGS_MODULE"] = "wireflow_site.settings"
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))  # one key for every host
os.environ["WIREFLOW_VAR_DIR"] = tempfile.mkdtemp(prefix="bench-scale-script-")
os.environ["DB_POOL_SIZE"] = "4"
os.environ["DEBUG"] = "0"
os.environ["HTTPS"] = "0"
os.environ["RATE_LIMITS_ENABLED"] = "0"
os.environ["SIMULATE"] = "1"
SIMULATOR_PORT = free_port()
os.environ["SIMULATOR_URL"] = f"http://127.0.0.1:{SIMULATOR_PORT}"
os.environ["BFL_MAX_CONCURRENCY"] = str(CONCURRENCY)
# Paused workers beat no heart: the reaper must not send round again what waits for them
# while the runs are created (a few seconds).
os.environ["ENGINE_LOST_AFTER"] = "30"

embedded_redis = None
if os.environ.get("REDIS_URL"):
    os.environ["REDIS_URL"] = with_redis_db(os.environ["REDIS_URL"],
                                            int(os.environ.get("SCALE_REDIS_DB", "11")))
else:
    from wireflow_site.embedded_redis import EmbeddedRedis

    embedded_redis = EmbeddedRedis().start()
    os.environ["REDIS_URL"] = embedded_redis.url

import logging  # noqa: E402

from moto.server import ThreadedMotoServer  # noqa: E402

logging.getLogger("werkzeug").setLevel(logging.WARNING)
moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
moto.start()
_host, _port = moto.get_host_and_port()
S3_ENV = {"S3_BUCKET": "wireflow-bench-scale", "S3_ENDPOINT_URL": f"http://{_host}:{_port}",
          "S3_REGION": "us-east-1", "S3_ACCESS_KEY_ID": "bench",
          "S3_SECRET_ACCESS_KEY": "bench-secret"}
os.environ.update(S3_ENV)

import boto3  # noqa: E402
import httpx  # noqa: E402
import redis  # noqa: E402
from bench_engine import edge, node, simulator_process, wait_all  # noqa: E402  (sets up Django)
from django.core.management import call_command  # noqa: E402

from accounts.services import api_key_create, credits_set, team_create  # noqa: E402
from executions.models import ExecutionStatus, NodeRun  # noqa: E402
from executions.services import execution_start  # noqa: E402
from tests.live import LiveWorker  # noqa: E402

logging.getLogger("httpx").setLevel(logging.WARNING)


def start_api(port: int) -> subprocess.Popen:
    env = {**os.environ, "WIREFLOW_VAR_DIR": tempfile.mkdtemp(prefix="bench-scale-api-"),
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "wireflow_site.serve", "-b", "127.0.0.1", "-p", str(port),
         "wireflow_site.asgi:application"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    return wait_live(process, port)


def start_workers(count: int, round_id: str) -> list[LiveWorker]:
    workers = []
    for index in range(count):
        var_dir = tempfile.mkdtemp(prefix=f"bench-scale-host{index + 1}-")  # empty, its own
        phases = {"PYTHONPATH": str(ROOT / "bench" / "phases_site"),
                  "CPU_PHASES_OUT": f"{var_dir}/cpu-phases.json"} if PHASES else {}
        workers.append(LiveWorker(
            concurrency=THREADS, pool="threads", beat=index == 0,  # beat exactly once
            hostname=f"remote-{round_id}-{index + 1}@host{index + 1}",
            queues=["celery", "celery.remote"],
            extra_env={"DJANGO_SETTINGS_MODULE": "wireflow_site.settings",
                       "WIREFLOW_VAR_DIR": var_dir, "DB_POOL_SIZE": POOL_SIZE,
                       # More threads than pooled connections: a thread waits for one rather
                       # than failing its task after the default 3 s.
                       "DB_POOL_TIMEOUT": "60",
                       "WEBHOOK_ALLOW_PRIVATE": "0", "FETCH_ALLOW_PRIVATE": "0",
                       **phases}))
    with ThreadPoolExecutor(len(workers)) as pool:  # they start in parallel, as hosts would
        list(pool.map(LiveWorker.start, workers))
    return workers


def cpu_split(pid: int) -> tuple[float, float]:
    """User and system CPU seconds a process has used (a threads worker is one process)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_seconds(pid: int) -> float:
    return sum(cpu_split(pid))


def start_profiles(workers: list[LiveWorker], count: int) -> list[tuple[subprocess.Popen, Path]]:
    """py-spy on each worker (all its threads, never pausing it), until stop_profiles."""
    if not PROFILE_DIR:
        return []
    Path(PROFILE_DIR).mkdir(parents=True, exist_ok=True)
    py_spy = Path(sys.executable).with_name("py-spy")
    profiles = []
    for index, worker in enumerate(workers):
        out = Path(PROFILE_DIR) / f"round-{count}-host{index + 1}.txt"
        profiles.append((subprocess.Popen(
            [str(py_spy), "record", "--pid", str(worker.process.pid), "--nonblocking", "--gil",
             "--rate", str(PROFILE_RATE), "--format", "raw", "--output", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), out))
    return profiles


def stop_profiles(profiles: list[tuple[subprocess.Popen, Path]]) -> None:
    for process, _out in profiles:
        process.send_signal(signal.SIGINT)  # py-spy writes its file on an interrupt
    for process, _out in profiles:
        process.wait(timeout=60)
    for _process, out in profiles:
        print(summary(out, rate=PROFILE_RATE, generations=GENERATIONS / len(profiles)),
              flush=True)


def signal_workers(workers: list[LiveWorker], signum: int) -> None:
    for worker in workers:
        os.killpg(worker.process.pid, signum)


def fetch_image(s3: httpx.Client, url: str) -> str:
    """'' when `url` is presigned by the S3 server and answers an image there; else what is
    wrong."""
    if not url.startswith(S3_ENV["S3_ENDPOINT_URL"] + "/") or "Signature=" not in url:
        return f"not a presigned S3 URL: {url[:80]}"
    got = s3.get(url)  # no API key, no cookie: the signature alone opens it
    if got.status_code != 200:
        return f"S3 answered {got.status_code}"
    if not got.content.startswith((b"\x89PNG", b"\xff\xd8", b"RIFF")):
        return "not an image"
    return ""


def unreadable_outputs(api: str, headers: dict, ids: list, since: str) -> list[str]:
    """What is wrong with each run's output as a client reads it: its URL from the API's
    asset list (pages of 100: the gallery's path; a poll per run would also work, but under
    ASGI every request runs in a thread of its own, and django-storages makes a boto3
    connection per thread, ~60 ms of CPU per poll here), then the file from the S3 server."""
    urls: dict[str, str] = {}
    with httpx.Client(headers=headers, timeout=60) as client:
        offset = 0
        while True:
            page = client.get(f"{api}/assets", params={
                "kind": "output", "createdAfter": since, "limit": 100, "offset": offset})
            page.raise_for_status()
            body = page.json()
            for asset in body["assets"]:
                urls.setdefault(asset["executionId"], asset["url"])
            offset += len(body["assets"])
            if not body["assets"] or offset >= body["total"]:
                break
    problems = [f"run {pk}: no output listed" for pk in ids if str(pk) not in urls]
    with httpx.Client(timeout=30) as s3, ThreadPoolExecutor(8) as pool:
        problems += [p for p in pool.map(lambda pk: fetch_image(s3, urls[str(pk)]),
                                          [pk for pk in ids if str(pk) in urls]) if p]
    return problems


def one_round(count: int, team, headers, api: str) -> dict:
    workers = start_workers(count, secrets.token_hex(3))
    try:
        signal_workers(workers, signal.SIGSTOP)
        nodes = [node("text", "input:text", {"prompt": "scale"}),
                 node("flux", "generate:flux_2_pro", {"width": 256, "height": 256})]
        edges = [edge("text", "prompt", "flux", "prompt")]
        since = datetime.now(UTC).isoformat()
        enqueue_start = time.perf_counter()
        ids = []
        for i in range(GENERATIONS):
            nodes[0]["data"]["config"]["prompt"] = f"scale {count} generation {i}"
            ids.append(execution_start(team=team, nodes=nodes, edges=edges).pk)
        enqueued = time.perf_counter() - enqueue_start
        cpu_before = sum(cpu_seconds(w.process.pid) for w in workers)
        system_before = sum(cpu_split(w.process.pid)[1] for w in workers)
        start = time.time()
        signal_workers(workers, signal.SIGCONT)
        profiles = start_profiles(workers, count)
        runs = wait_all(ids, timeout=600)
        last = max(run.finished_at.timestamp() for run in runs)
        wall = last - start
        cpu = sum(cpu_seconds(w.process.pid) for w in workers) - cpu_before
        system = sum(cpu_split(w.process.pid)[1] for w in workers) - system_before
        stop_profiles(profiles)
        failed = runs.exclude(status=ExecutionStatus.COMPLETED).count()
        # Which host's worker last held each generation (finished it).
        by_host = dict(Counter(
            owner.split("@", 1)[-1].split("/", 1)[0] for owner in NodeRun.objects.filter(
                execution_id__in=ids, node_id="flux").values_list("owner", flat=True)))
    finally:
        signal_workers(workers, signal.SIGCONT)  # a stopped process ignores SIGTERM
        for worker in workers:
            worker.stop()
    if PHASES:
        for index, worker in enumerate(workers):
            out = worker.extra_env["CPU_PHASES_OUT"]
            print(cpu_phases.report(out, by_host.get(f"host{index + 1}", 0) or 1), flush=True)
    check_start = time.perf_counter()
    problems = unreadable_outputs(api, headers, ids, since)
    checked = time.perf_counter() - check_start
    return {"workers": count, "wall": wall, "rate": GENERATIONS / wall, "failed": failed,
            "unreadable": len(problems), "first_problem": problems[0] if problems else "",
            "enqueued": enqueued, "cpu_ms": cpu / GENERATIONS * 1000, "checked": checked,
            "system_ms": system / GENERATIONS * 1000,
            "by_host": by_host}


def main() -> int:
    started = time.perf_counter()
    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    boto3.client("s3", endpoint_url=S3_ENV["S3_ENDPOINT_URL"], region_name=S3_ENV["S3_REGION"],
                 aws_access_key_id=S3_ENV["S3_ACCESS_KEY_ID"],
                 aws_secret_access_key=S3_ENV["S3_SECRET_ACCESS_KEY"],
                 ).create_bucket(Bucket=S3_ENV["S3_BUCKET"])
    call_command("migrate", "--noinput", "-v", "0")
    team = team_create(name="Bench scale", slug="bench-scale", plan="enterprise")
    credits_set(team=team, balance=GENERATIONS * len(WORKER_COUNTS) * 10)
    headers = {"Authorization": f"Bearer {api_key_create(team=team, name='bench').raw_key}"}
    port = free_port()
    results = []
    with simulator_process(LATENCY, port=SIMULATOR_PORT):
        api_process = start_api(port)
        try:
            for count in WORKER_COUNTS:
                results.append(one_round(count, team, headers, f"http://127.0.0.1:{port}/api/v1"))
                row = results[-1]
                print(f"  {count} worker(s): wall {row['wall']:.1f} s (enqueued beforehand in "
                      f"{row['enqueued']:.1f} s; outputs checked in {row['checked']:.1f} s); "
                      f"worker CPU {row['cpu_ms']:.1f} ms per generation, of which system "
                      f"{row['system_ms']:.1f} ms; load average {os.getloadavg()[0]:.1f}",
                      flush=True)
        finally:
            os.killpg(api_process.pid, signal.SIGTERM)
            api_process.wait(timeout=20)
    ideal = GENERATIONS / CONCURRENCY * LATENCY
    base = results[0]["rate"] if results and results[0]["workers"] == 1 else None
    print(f"{GENERATIONS} simulated generations, {LATENCY:g} s each, provider concurrency "
          f"{CONCURRENCY}, {THREADS}-thread workers, PostgreSQL + Redis + S3 (moto); "
          f"ideal wall {ideal:.1f} s")
    print(f"{'workers':>7} | {'wall s':>7} | {'gen/s':>7} | {'vs 1':>6} | {'failed':>6} | "
          f"{'unreadable':>10} | {'worker CPU ms/gen':>17}")
    for row in results:
        ratio = f"{row['rate'] / base:.2f}x" if base else "—"
        print(f"{row['workers']:>7} | {row['wall']:>7.1f} | {row['rate']:>7.1f} | {ratio:>6} | "
              f"{row['failed']:>6} | {row['unreadable']:>10} | {row['cpu_ms']:>17.0f}")
        print(f"          generations finished per host: "
              f"{', '.join(f'{h} {n}' for h, n in sorted(row['by_host'].items()))}")
        if row["first_problem"]:
            print(f"          first unreadable output: {row['first_problem']}")
    print(f"aim: 4 workers >= 3.5x one; every output readable by its signed URL. "
          f"Whole run {time.perf_counter() - started:.0f} s on {os.cpu_count()} cores, load "
          f"average {os.getloadavg()[0]:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    # A SIGTERM (make, timeout) unwinds: the workers, daphne and the simulator are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        sys.exit(main())
    finally:
        moto.stop()
        if embedded_redis is not None:
            embedded_redis.stop()
