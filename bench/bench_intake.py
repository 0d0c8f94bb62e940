"""Intake under concurrency: how many triggered runs the stack accepts per second.

Starts the app as `make run` does (wireflow_site.runner: its own var dir and embedded Redis, the
workers, beat) on SQLite and, when reachable, on PostgreSQL; then drives it from a separate load
process (wrk, from Debian's packages) with N keep-alive clients for a bounded time:

  - GET /healthz (the bare request the aims are measured against);
  - key-less POST /api/v1/workflow/{webhookId}/trigger of a 3-node workflow (input → router → local
    preview) with an input value in the body, at each client count;
  - keyed POST /workflows/{id}/execute of the same workflow, and a trigger of the offline demo;
  - the same trigger with the workers stopped (SIGSTOP: intake alone), then resumed;
  - with several daphne processes (WEB_CONCURRENCY, default one per core), GET /healthz and
    intake alone again on a stack started with WEB_CONCURRENCY=1: the one-process layout.

After each load the drain time is measured: until every accepted run is final (all must end
COMPLETED). Rate limits are off (RATE_LIMITS_ENABLED=0), DEBUG=0. Prints a table; never fails
on time. Environment:

  INTAKE_SECONDS    seconds per load (default 2)
  INTAKE_CLIENTS    client counts (default 8,32,128)
  INTAKE_DATABASES  sqlite,postgres (default both; postgres only if reachable)
  INTAKE_POSTGRES_URL  default postgres://postgres@127.0.0.1:5432/test_intake
  INTAKE_DRAIN_TIMEOUT seconds to wait for a drain (default 60)
  INTAKE_SCALING    0: skip the one-process rows
  INTAKE_BENCH_QUEUE_LIMIT  the server's INTAKE_QUEUE_LIMIT (1500: reached by the last load only)
  INTAKE_WS_CLIENTS, INTAKE_WS_SECONDS, INTAKE_WS_RATE  WebSocket watchers (1,200), seconds
                    (3) and runs started per second (10) of the event latency figures
  INTAKE_LOADS      http,ws (default both): `ws` alone skips the HTTP loads and measures only
                    the WebSocket event latency
  INTAKE_PROFILE    a directory: py-spy records each daphne process and this one (the
                    watchers' reader) during the largest WebSocket phase, and each daphne
                    during the first load of intake alone (32 clients), as collapsed stacks
  WEB_CONCURRENCY   daphne processes of the runner
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.support import TRIGGER_EDGES, TRIGGER_NODES, free_port  # noqa: E402

LUA = Path(__file__).resolve().parent / "intake.lua"
SECONDS = float(os.environ.get("INTAKE_SECONDS", "2"))
CLIENTS = [int(n) for n in os.environ.get("INTAKE_CLIENTS", "8,32,128").split(",") if n]
DATABASES = os.environ.get("INTAKE_DATABASES", "sqlite,postgres").split(",")
POSTGRES_URL = os.environ.get("INTAKE_POSTGRES_URL",
                              "postgres://postgres@127.0.0.1:5432/test_intake")
DRAIN_TIMEOUT = float(os.environ.get("INTAKE_DRAIN_TIMEOUT", "60"))
SCALING = os.environ.get("INTAKE_SCALING", "1") not in ("0", "")
# The server's back-pressure bound: low enough that the last load with the workers stopped
# reaches it (its rows then show 503s, and the p99 they keep).
QUEUE_LIMIT = os.environ.get("INTAKE_BENCH_QUEUE_LIMIT", "1500")
WS_CLIENTS = [int(n) for n in os.environ.get("INTAKE_WS_CLIENTS", "1,200").split(",") if n]
WS_SECONDS = float(os.environ.get("INTAKE_WS_SECONDS", "3"))
WS_RATE = float(os.environ.get("INTAKE_WS_RATE", "10"))
LOADS = set(os.environ.get("INTAKE_LOADS", "http,ws").split(","))
PROFILE = os.environ.get("INTAKE_PROFILE", "")


def postgres_reachable(url: str) -> bool:
    try:
        import psycopg

        base = url.rpartition("/")[0]
        with psycopg.connect(f"{base}/postgres".replace("postgres://", "postgresql://"),
                             connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001 - any failure means: skip PostgreSQL
        return False


def postgres_reset(url: str) -> None:
    """A fresh database per pass, so earlier runs' rows do not weigh on this one."""
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres".replace("postgres://", "postgresql://"),
                         autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


# --- one pass: one database, one server layout ------------------------------------------------

class Stack:
    """wireflow_site.runner in a var dir of its own."""

    def __init__(self, database_url: str) -> None:
        self.var = Path(tempfile.mkdtemp(prefix="bench-intake-", dir=ROOT / "var"))
        self.port = free_port()
        self.env = {**os.environ, "WIREFLOW_VAR_DIR": str(self.var), "PORT": str(self.port),
                    "HOST": "127.0.0.1", "DATABASE_URL": database_url, "DEBUG": "0",
                    "HTTPS": "0", "RATE_LIMITS_ENABLED": "0", "LOG_LEVEL": "WARNING",
                    "SECRET_KEY": "bench-intake-" + "x" * 40,
                    "MEDIA_ROOT": str(self.var / "media"),
                    "INTAKE_QUEUE_LIMIT": QUEUE_LIMIT}
        self.env.pop("REDIS_URL", None)  # the runner starts its own, as `make run` does
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.log = open(self.var / "runner.log", "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wireflow_site.runner"], cwd=ROOT, env=self.env,
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"runner exited; see {self.var / 'runner.log'}")
            try:
                with urllib.request.urlopen(f"{self.url}/livez", timeout=2) as response:
                    if response.status == 200 and (self.var / "redis.url").exists():
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("the runner did not come up")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def children(self, word: bytes) -> list[int]:
        """Process groups of the runner's children with `word` in their command line."""
        pids = []
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
                if word in cmdline:
                    pids.append(int(child))
        return sorted(pids)

    def workers(self) -> list[int]:
        return self.children(b"celery")  # the workers and beat

    def pause_workers(self) -> None:
        for pid in self.workers():
            os.killpg(pid, signal.SIGSTOP)

    def resume_workers(self) -> None:
        for pid in self.workers():
            os.killpg(pid, signal.SIGCONT)

    def daphnes(self) -> int:
        return len(self.children(b"wireflow_site.serve"))

    def stop(self) -> None:
        if self.process is not None:
            self.resume_workers()
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.var, ignore_errors=True)


def wrk(url: str, clients: int, *, body: str = "{}", auth: str = "", get: bool = False,
        seconds: float = SECONDS) -> dict:
    env = {**os.environ, "WRK_BODY": body, "WRK_AUTH": auth, "WRK_GET": "1" if get else "0"}
    threads = max(1, min(2, clients))
    result = subprocess.run(
        ["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{seconds:g}s", "--timeout", "10s",
         "-s", str(LUA), url], env=env, capture_output=True, text=True, timeout=seconds + 60)
    for line in result.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            figures = json.loads(line[len("WRK_JSON "):])
            seconds_run = figures["duration_us"] / 1e6
            ok = figures["requests"] - figures["refused"] - figures["failed"]
            return {"ok": ok, "per_s": ok / seconds_run, "p50": figures["p50_us"] / 1000,
                    "p99": figures["p99_us"] / 1000, "refused": figures["refused"],
                    "errors": figures["failed"] + figures["socket_errors"]}
    raise RuntimeError(f"wrk gave no figures: {result.stdout} {result.stderr}")


def one_pass(database: str, single: bool) -> list[dict]:
    """Run in a child process (Django is set up once per database and layout). `single`: the
    one-process layout (WEB_CONCURRENCY=1), GET /healthz and intake alone only."""
    if database == "postgres":
        postgres_reset(POSTGRES_URL)
        database_url = POSTGRES_URL
    else:
        (ROOT / "var").mkdir(exist_ok=True)
        database_url = ""  # set below, inside the stack's var dir
    stack = Stack(database_url)
    if single:
        stack.env["WEB_CONCURRENCY"] = "1"
    if database == "sqlite":
        stack.env["DATABASE_URL"] = f"sqlite:///{stack.var / 'db.sqlite3'}"
    stack.start()
    try:
        os.environ.update({"DATABASE_URL": stack.env["DATABASE_URL"],
                           "REDIS_URL": (stack.var / "redis.url").read_text().strip(),
                           "WIREFLOW_VAR_DIR": str(stack.var), "DEBUG": "0",
                           "SECRET_KEY": stack.env["SECRET_KEY"],
                           "DJANGO_SETTINGS_MODULE": "wireflow_site.settings"})
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        return measure(stack, database, single)
    finally:
        stack.stop()


def measure(stack: Stack, database: str, single: bool) -> list[dict]:
    from django.db.models import Count

    from accounts.selectors import Principal
    from accounts.services import api_key_create, credits_set, team_create
    from executions.models import Execution, ExecutionStatus
    from graph.demo import DEMO_WORKFLOWS
    from graph.services import workflow_create

    team = team_create(name="Bench intake", slug="bench-intake", plan="enterprise")
    credits_set(team=team, balance=10**12)
    key = api_key_create(team=team, name="bench").raw_key
    actor = Principal(user=None, api_key=None)
    trivial, _ = workflow_create(team=team, actor=actor, name="bench 3 nodes", nodes=TRIGGER_NODES,
        edges=TRIGGER_EDGES)
    offline = next(spec for spec in DEMO_WORKFLOWS if "offline" in spec["tags"])
    demo, _ = workflow_create(team=team, actor=actor, **offline)
    open_runs = Execution.objects.filter(
        team=team, status__in=(ExecutionStatus.QUEUED, ExecutionStatus.RUNNING))

    def drain() -> float | None:
        start = time.monotonic()
        while open_runs.exists():
            if time.monotonic() - start > DRAIN_TIMEOUT:
                return None
            time.sleep(0.1)
        return time.monotonic() - start

    trigger = f"{stack.url}/api/v1/workflow/{trivial.webhook_id}/trigger"
    body = json.dumps({"t": "a product photo of a red sneaker"})
    wrk(trigger, 4, body=body, seconds=1)  # warm: first requests import, connect, cache
    drain()
    rows: list[dict] = []
    layout = str(stack.daphnes())

    def row(name: str, clients: int, worker: str, figures: dict, drained) -> None:
        rows.append({"database": database, "layout": layout, "load": name,
                     "clients": clients, "worker": worker, **figures, "drain": drained})

    if single:  # what one process does, to compare the others' share with
        row("GET /healthz", 32, "on", wrk(f"{stack.url}/healthz", 32, get=True), 0.0)
        stack.pause_workers()
        try:
            figures = wrk(trigger, 32, body=body)
        finally:
            stack.resume_workers()
        row("trigger 3-node", 32, "off", figures, drain())
    elif "http" in LOADS:
        healthz = wrk(f"{stack.url}/healthz", 32, get=True)
        row("GET /healthz", 32, "on", healthz, 0.0)
        for clients in CLIENTS:
            figures = wrk(trigger, clients, body=body)
            row("trigger 3-node", clients, "on", figures, drain())
        figures = wrk(f"{stack.url}/api/v1/workflows/{trivial.pk}/execute", 32,
                      auth=f"Bearer {key}")
        row("execute 3-node", 32, "on", figures, drain())
        stack.pause_workers()  # intake alone (/healthz would report the workers down)
        off = []
        try:
            profilers = profile_start(stack, "trigger32") if PROFILE else []
            try:
                off.append(("trigger 3-node", 32, wrk(trigger, 32, body=body)))
            finally:
                profile_stop(profilers)
            off.append(("trigger demo", 32,
                        wrk(f"{stack.url}/api/v1/workflow/{demo.webhook_id}/trigger", 32)))
            # Last and twice as long: the backlog passes INTAKE_QUEUE_LIMIT and the rest is 503.
            off.append(("trigger 3-node", max(CLIENTS),
                        wrk(trigger, max(CLIENTS), body=body, seconds=2 * SECONDS)))
        finally:
            stack.resume_workers()
        drained = drain()  # the backlog of them all
        for name, clients, figures in off:
            row(name, clients, "off", figures, drained)
    for watchers in WS_CLIENTS if "ws" in LOADS and not single else ():
        rows.append({"database": database, "watchers": watchers,
                     **event_latency(stack, team, trivial, trigger, body, watchers)})
    drain()
    statuses = dict(Execution.objects.filter(team=team).values_list("status").annotate(
        n=Count("id")))
    rows.append({"database": database, "layout": layout, "statuses": statuses})
    return rows


def event_latency(stack: Stack, team, workflow, trigger: str, body: str, watchers: int) -> dict:
    """`watchers` WebSockets on the workflow while runs of it start (WS_RATE a second for
    WS_SECONDS) and the workers run them: for every node.status COMPLETED/CACHED event each
    client receives, receipt time minus the node run's finished_at (set in the transaction
    that commits the change: an upper bound of commit → receipt)."""
    import asyncio
    from datetime import datetime

    import httpx
    from django.test import Client
    from websockets.asyncio.client import connect

    from accounts.models import User
    from accounts.roles import Role
    from accounts.services import membership_set
    from executions.models import Execution, ExecutionStatus, NodeRun

    user = User.objects.filter(username="bench-watcher").first() or \
        User.objects.create_user(username="bench-watcher", password="bench-watcher-pw")
    membership_set(team=team, user=user, role=Role.EDITOR)
    browser = Client(HTTP_HOST="127.0.0.1")
    browser.force_login(user)
    from django.conf import settings

    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    url = f"ws://127.0.0.1:{stack.port}/ws/workflows/{workflow.pk}/"
    frames: list[tuple[float, str]] = []  # (receipt time, frame): decoded after the phase,
    started: list[str] = []  # so that reading 200 sockets in this one process stays light

    opening = asyncio.Semaphore(20)  # editors open their pages over time, not in one instant

    async def watch(ready: asyncio.Event, sockets: list) -> None:
        async with opening:
            ws = await connect(url, additional_headers={"Cookie": cookie, "Origin": stack.url},
                               open_timeout=60, max_queue=None)
        async with ws:
            sockets.append(ws)
            if len(sockets) == watchers:
                ready.set()
            async for frame in ws:
                frames.append((time.time(), frame))

    async def main() -> None:
        ready, sockets = asyncio.Event(), []
        tasks = [asyncio.create_task(watch(ready, sockets)) for _ in range(watchers)]
        await asyncio.wait_for(ready.wait(), 120)
        if PROFILE and watchers == max(WS_CLIENTS):
            profilers.extend(profile_start(stack, f"ws{watchers}"))
        async with httpx.AsyncClient(timeout=30) as http:
            end = time.monotonic() + WS_SECONDS
            while time.monotonic() < end:
                response = await http.post(trigger, content=body,
                                           headers={"Content-Type": "application/json"})
                if response.status_code == 202:
                    started.append(response.json()["executionId"])
                await asyncio.sleep(1 / WS_RATE)
        # Until the runs are done and nothing more arrives for a second (or for five).
        deadline, seen, quiet = time.monotonic() + DRAIN_TIMEOUT, -1, 0
        while time.monotonic() < deadline:
            await asyncio.sleep(1)
            quiet = quiet + 1 if len(frames) == seen else 0
            if quiet >= 5 or quiet and not await asyncio.to_thread(runs_open):
                break
            seen = len(frames)
        for ws in sockets:
            await ws.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def runs_open() -> bool:
        return Execution.objects.filter(pk__in=started, status__in=(
            ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)).exists()

    profilers: list[subprocess.Popen] = []
    try:
        asyncio.run(main())
    finally:
        profile_stop(profilers)
    received: list[tuple[str, str, float]] = []
    events = 0
    for at, frame in frames:
        message = json.loads(frame)
        # A burst of status events comes as one frame {"type": "events", "events": [...]}.
        batch = message["events"] if message.get("type") == "events" else [message]
        events += len(batch)
        received += [(event["executionId"], event["nodeId"], at) for event in batch
                     if event.get("type") == "node.status"
                     and event.get("status") in ("COMPLETED", "CACHED")]
    figures = {"frames": len(frames), "events_per_frame": events / max(1, len(frames))}
    finished = {(str(e), n): f for e, n, f in NodeRun.objects.filter(
        execution_id__in=started).values_list("execution_id", "node_id", "finished_at")}
    latencies = sorted(
        (at - finished[(execution, node)].timestamp()) * 1000
        for execution, node, at in received
        if finished.get((execution, node)) is not None
        and isinstance(finished[(execution, node)], datetime))
    if not latencies:
        return {"events": 0, "p50": float("nan"), "p99": float("nan"), "runs": len(started),
                **figures}
    return {"events": len(latencies), "runs": len(started), **figures,
            "p50": latencies[len(latencies) // 2],
            "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]}


def profile_start(stack: Stack, name: str) -> list[subprocess.Popen]:
    """py-spy on each daphne process and on this one (which reads every watcher's socket),
    collapsed stacks in INTAKE_PROFILE; stopped (and written) by profile_stop."""
    out = Path(PROFILE)
    out.mkdir(parents=True, exist_ok=True)
    targets = [(f"daphne{i}", pid) for i, pid in
               enumerate(stack.children(b"wireflow_site.serve"))] + [("client", os.getpid())]
    return [subprocess.Popen(
        [shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy"), "record",
         "--pid", str(pid), "--format", "raw", "--rate", "200", "--nonblocking",
         "--output", str(out / f"{name}-{label}.txt")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for label, pid in targets]


def profile_stop(profilers: list[subprocess.Popen]) -> None:
    for profiler in profilers:
        profiler.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
    for profiler in profilers:
        try:
            profiler.wait(timeout=30)
        except subprocess.TimeoutExpired:
            profiler.kill()


# --- the table ---------------------------------------------------------------------------------

def print_table(rows: list[dict]) -> None:
    print(f"{'database':9} {'daphnes':>7} {'load':16} {'clients':>7} {'worker':>6} {'ok/s':>8} "
          f"{'p50 ms':>8} {'p99 ms':>8} {'503':>6} {'errors':>6} {'drain s':>8}")
    for r in rows:
        if "statuses" in r:
            print(f"{r['database']:9} {r['layout']:>7} final states of every accepted run: "
                  f"{r['statuses']}")
            continue
        if "watchers" in r:
            continue
        drain = "n/a" if r["drain"] is None else f"{r['drain']:.1f}"
        print(f"{r['database']:9} {r['layout']:>7} {r['load']:16} {r['clients']:>7} "
              f"{r['worker']:>6} {r['per_s']:>8.0f} {r['p50']:>8.1f} {r['p99']:>8.1f} "
              f"{r['refused']:>6} {r['errors']:>6} {drain:>8}")
    print("WebSocket events, finished_at (committed with the change) → client receipt, while "
          f"runs start at {WS_RATE:g}/s and the workers run them (aim p50 < 20 ms, p99 < 100 ms)")
    print(f"{'database':9} {'watchers':>8} {'runs':>6} {'events':>7} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'frames':>7} {'ev/frame':>8}")
    for r in rows:
        if "watchers" in r:
            print(f"{r['database']:9} {r['watchers']:>8} {r['runs']:>6} {r['events']:>7} "
                  f"{r['p50']:>8.1f} {r['p99']:>8.1f} {r['frames']:>7} "
                  f"{r['events_per_frame']:>8.2f}")
    cells: dict[tuple, dict] = {}
    for r in rows:  # the first of a kind: the last load (to the bound) may repeat its key
        if "statuses" not in r and "watchers" not in r:
            cells.setdefault((r["database"], r["layout"], r["load"], r["clients"], r["worker"]), r)
    for (database, layout, load, _, _), bare in cells.items():
        if load != "GET /healthz":
            continue
        for worker in ("on", "off"):
            trig = cells.get((database, layout, "trigger 3-node", 32, worker))
            if trig:
                print(f"{database}, {layout} daphne(s), workers {worker}: triggers/s at 32 "
                      f"clients = {trig['per_s'] / bare['per_s']:.2f}x GET /healthz "
                      f"({trig['per_s']:.0f} vs {bare['per_s']:.0f}/s; aim >= 0.5x), p99 "
                      f"{trig['p99']:.0f} ms (aim < 250 ms)")
    one = {k[0]: v for k, v in cells.items()
           if k[1] == "1" and k[2] == "trigger 3-node" and k[3] == 32 and k[4] == "off"}
    for database, single in one.items():
        several = next((v for k, v in cells.items() if k[0] == database and k[1] != "1"
                        and k[2] == "trigger 3-node" and k[3] == 32 and k[4] == "off"), None)
        if several:
            print(f"{database}: intake with {several['layout']} daphne processes = "
                  f"{several['per_s'] / single['per_s']:.2f}x one process's "
                  f"({several['per_s']:.0f} vs {single['per_s']:.0f}/s; aim >= 1.7x)")


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--pass":
        print("ROWS " + json.dumps(one_pass(sys.argv[2], sys.argv[3] == "single")), flush=True)
        return 0
    if shutil.which("wrk") is None:
        print("bench_intake: wrk is not installed (apt-get install wrk); skipped")
        return 0
    from wireflow_site.runner import web_concurrency

    layouts = ["several"] + (["single"] if SCALING and "http" in LOADS
                             and web_concurrency(os.environ) > 1 else [])
    rows: list[dict] = []
    for database in DATABASES:
        if database == "postgres" and not postgres_reachable(POSTGRES_URL):
            print(f"bench_intake: PostgreSQL not reachable at {POSTGRES_URL}; skipped")
            continue
        for layout in layouts:
            started = time.monotonic()
            result = subprocess.run([sys.executable, __file__, "--pass", database, layout],
                                    cwd=ROOT, capture_output=True, text=True)
            found = [line for line in result.stdout.splitlines() if line.startswith("ROWS ")]
            if not found:
                print(f"bench_intake: the {database} pass failed:\n{result.stdout}\n"
                      f"{result.stderr}")
                continue
            rows += json.loads(found[-1][5:])
            processes = "1" if layout == "single" else os.environ.get("WEB_CONCURRENCY", "cores")
            print(f"({database} pass, WEB_CONCURRENCY={processes}: "
                  f"{time.monotonic() - started:.0f} s; {os.cpu_count()} cores)", flush=True)
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
