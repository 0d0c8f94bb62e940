"""The one-command dev runner behind `make run`.

Starts an embedded Redis when REDIS_URL is unset, migrates, creates the demo data, then opens
the HTTP port and runs WEB_CONCURRENCY daphne processes on it (default: one per core), two
Celery workers (local rendering on processes; vendor calls, polls and housekeeping on
threads) and celery beat (the dispatcher) until Ctrl-C (or SIGTERM), and stops every child it
started, last started first. A child that exits meanwhile is logged and started again
after a backoff (1 s, doubling to 30 s; back to 1 s once it had stayed up a minute). Children die
with the runner even when it is SIGKILLed (wireflow_site.procs).

`--prod` (`make run-prod`) starts the production layout instead, on this machine: DEBUG off,
PostgreSQL (DATABASE_URL, default the database `wireflow` on 127.0.0.1, created if missing),
Redis, object storage (S3_BUCKET, else a moto S3 server on loopback), WORKERS (default 2)
worker hosts of both kinds, each with a var dir of its own, and one beat; no demo data.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from wireflow_site import procs
from wireflow_site.embedded_redis import EmbeddedRedis

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def web_concurrency(env: dict[str, str]) -> int:
    """How many daphne processes serve HTTP: WEB_CONCURRENCY, else one per core this process
    may run on."""
    value = env.get("WEB_CONCURRENCY", "").strip()
    if value:
        count = int(value)
        if count < 1:
            raise ValueError("WEB_CONCURRENCY must be at least 1")
        return count
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 1)


def listening_socket(host: str, port: int, backlog: int = 1024,
                     reuse_port: bool = False) -> socket.socket:
    """A TCP socket listening on host:port, inheritable by the daphne processes we start."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family, backlog=backlog,
                                    reuse_port=reuse_port)
    listener.set_inheritable(True)
    return listener


def listening_sockets(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` sockets listening on one host:port, one per daphne process. With several, each
    has SO_REUSEPORT and the kernel spreads new connections evenly across them by their
    addresses. On one shared socket whichever process wakes first accepts every waiting
    connection (twisted takes up to 100 per wake-up): 32 keep-alive clients connecting at once
    were seen split 32:0 as often as 16:16, one process doing all the work while the other
    idled. Where SO_REUSEPORT is missing, one shared socket."""
    if count == 1 or not hasattr(socket, "SO_REUSEPORT"):
        return [listening_socket(host, port)]
    first = listening_socket(host, port, reuse_port=True)
    port = first.getsockname()[1]  # port 0 picked one: the others join it
    return [first] + [listening_socket(host, port, reuse_port=True) for _ in range(count - 1)]


DEFAULT_PROD_DATABASE = "postgres://postgres@127.0.0.1:5432/wireflow"


def worker_hosts(env: dict[str, str]) -> int:
    """How many worker hosts `make run-prod` starts: WORKERS, default 2."""
    count = int(env.get("WORKERS", "2") or "2")
    if count < 1:
        raise ValueError("WORKERS must be at least 1")
    return count


def worker_layout(env: dict[str, str], *, var_dir: Path, hosts: int,
                  nodename: str) -> list[tuple[str, list[str], dict[str, str]]]:
    """The Celery processes to start, as (name, argv, environment added): local rendering on
    a process pool (CPU), vendor submits, polls and housekeeping on threads (waiting on other
    machines), so neither holds up the other; and exactly one beat.

    hosts=0 is `make run`: one worker of each kind. hosts=N is the production layout of
    `make run-prod`: N of each, each with a hostname and a var dir of its own (no process
    reads a file another one wrote: media are on object storage), as on N machines."""
    queue = env.get("CELERY_QUEUE", "celery")

    def workers(index: int) -> list[tuple[str, list[str], dict[str, str]]]:
        suffix = f"-{index}" if index else ""
        extra = {"WIREFLOW_VAR_DIR": str(var_dir / "hosts" / f"host{index}")} if index else {}
        celery = [PYTHON, "-m", "celery", "-A", "wireflow_site", "worker", "--loglevel", "INFO"]
        return [
            (f"celery{suffix}",
             [*celery, "--concurrency", env.get("CELERY_CONCURRENCY", "2"), "--queues", queue,
              "--hostname", f"wireflow{suffix}@{nodename}"], extra),
            (f"celery-remote{suffix}",
             [*celery, "--pool", "threads",
              "--concurrency", env.get("CELERY_REMOTE_CONCURRENCY", "16"),
              "--queues", f"{queue}.remote", "--hostname", f"remote{suffix}@{nodename}"], extra),
        ]

    layout = [entry for index in (range(1, hosts + 1) if hosts else [0])
              for entry in workers(index)]
    layout.append(("beat", [PYTHON, "-m", "celery", "-A", "wireflow_site", "beat", "--loglevel",
                            "WARNING", "--schedule", str(var_dir / "celerybeat-schedule")], {}))
    return layout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_create_if_missing(url: str) -> None:
    """CREATE DATABASE for the database of a postgres:// URL, unless it exists."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True,
                         connect_timeout=5) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def bucket_create(env: dict[str, str], timeout: float = 30) -> None:
    """Create the bucket on the S3 server just started, once it answers."""
    import boto3
    from botocore.exceptions import EndpointConnectionError

    client = boto3.client("s3", endpoint_url=env["S3_ENDPOINT_URL"],
                          region_name=env["S3_REGION"],
                          aws_access_key_id=env["S3_ACCESS_KEY_ID"],
                          aws_secret_access_key=env["S3_SECRET_ACCESS_KEY"])
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.create_bucket(Bucket=env["S3_BUCKET"])
            return
        except EndpointConnectionError:
            if time.monotonic() > deadline:
                raise RuntimeError("the S3 server did not start") from None
            time.sleep(0.2)


class Child:
    """One supervised process: started again with backoff whenever it exits."""

    FIRST_DELAY = 1.0
    MAX_DELAY = 30.0
    STABLE_AFTER = 60.0  # up this long, and its next exit starts the backoff from scratch

    def __init__(self, name: str, argv: list[str], **popen_kwargs) -> None:
        self.name = name
        self.argv = argv
        self.popen_kwargs = popen_kwargs
        self.process: subprocess.Popen | None = None
        self.started_at = 0.0
        self.delay = self.FIRST_DELAY
        self.restart_at: float | None = None
        self.restarts = 0

    def start(self) -> None:
        # A session of its own, so Ctrl-C reaches only the runner, which stops children in order.
        self.process = procs.popen(self.argv, start_new_session=True, **self.popen_kwargs)
        self.started_at = time.monotonic()
        self.restart_at = None

    def supervise(self, now: float) -> None:
        """Notice an exit and schedule the restart; restart when its time has come."""
        if self.restart_at is None:
            if self.process is None or self.process.poll() is None:
                return
            if now - self.started_at >= self.STABLE_AFTER:
                self.delay = self.FIRST_DELAY
            self.restart_at = now + self.delay
            print(f"{self.name} exited with code {self.process.returncode}; "
                  f"restarting in {self.delay:g} s", file=sys.stderr, flush=True)
            self.delay = min(self.MAX_DELAY, self.delay * 2)
        elif now >= self.restart_at:
            self.restarts += 1
            self.start()
            print(f"{self.name} restarted (pid {self.process.pid})", file=sys.stderr, flush=True)


class Runner:
    def __init__(self, *, prod: bool = False) -> None:
        self.prod = prod
        self.host = os.environ.get("HOST", "127.0.0.1")
        self.port = int(os.environ.get("PORT", "8000"))
        self.env = dict(os.environ)
        # A laptop serves plain HTTP: development mode unless the caller says otherwise. The
        # production layout runs with DEBUG off (TLS is the proxy's, in front of it).
        self.env.setdefault("DEBUG", "0" if prod else "1")
        self.env.setdefault("HTTPS", "0")
        # Production: several worker hosts (WORKERS of each kind, each with a var dir of its
        # own); otherwise one of each, sharing the runner's.
        self.hosts = worker_hosts(self.env) if prod else 0
        self.moto: Child | None = None
        self.env.setdefault("DJANGO_SETTINGS_MODULE", "wireflow_site.settings")
        self.env["PYTHONUNBUFFERED"] = "1"
        self.redis: EmbeddedRedis | None = None
        self.children: list[Child] = []
        self.stopping = False
        self.listeners: list[socket.socket] = []

    def base_url(self) -> str:
        """Where this server is reached from this machine."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    def manage(self, *args: str) -> None:
        subprocess.run([PYTHON, "manage.py", *args], cwd=BASE_DIR, env=self.env, check=True)

    def var_dir(self) -> Path:
        return Path(self.env.get("WIREFLOW_VAR_DIR", BASE_DIR / "var"))

    def spawn(self, name: str, argv: list[str], *, env: dict[str, str] | None = None,
              **popen_kwargs) -> None:
        child = Child(name, argv, cwd=BASE_DIR, env={**self.env, **(env or {})}, **popen_kwargs)
        child.start()
        self.children.append(child)

    def start(self) -> None:
        if not self.env.get("REDIS_URL"):
            var_dir = Path(self.env.get("WIREFLOW_VAR_DIR", BASE_DIR / "var"))
            self.redis = EmbeddedRedis(workdir=var_dir / "redis").start()
            self.env["REDIS_URL"] = self.redis.url
            self.redis_url_file = var_dir / "redis.url"
            self.redis_url_file.write_text(self.redis.url)
            print(f"Embedded Redis on {self.redis.url}", flush=True)
        var_dir = Path(self.env.get("WIREFLOW_VAR_DIR", BASE_DIR / "var"))
        var_dir.mkdir(parents=True, exist_ok=True)
        if self.prod:
            self.prepare_production()
        self.base_url_file = var_dir / "base.url"
        self.base_url_file.write_text(self.base_url())
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage("collectstatic", "--noinput", "-v", "0")
        if not self.prod:
            self.manage("seed_demo", "--host", f"http://{self.host}:{self.port}")
        if self.env.get("SIMULATE", "") in ("1", "true", "yes", "on"):
            simulator_port = self.env.setdefault("SIMULATOR_PORT", "8765")
            self.env.setdefault("SIMULATOR_URL", f"http://127.0.0.1:{simulator_port}")
            self.spawn("simulator", [PYTHON, "manage.py", "provider_simulator", "--port",
                                     simulator_port])
            print(f"Provider simulator on {self.env['SIMULATOR_URL']}: every remote node "
                  "runs offline and its results are marked simulated", flush=True)
        self.serve_http()
        for name, argv, env in worker_layout(self.env, var_dir=self.var_dir(), hosts=self.hosts,
                                             nodename=os.uname().nodename):
            self.spawn(name, argv, env=env)
        self.wait_until_up()
        print(
            f"\n  Wireflow is running at http://{self.host}:{self.port}/"
            f"\n  API docs: http://{self.host}:{self.port}/api/docs"
            f"\n  Admin:    http://{self.host}:{self.port}/admin/"
            + ("\n  No demo data: make a user with `python manage.py createsuperuser` (the "
               "same DATABASE_URL)" if self.prod else "")
            + "\n  Press Ctrl-C to stop.\n",
            flush=True,
        )

    def prepare_production(self) -> None:
        """What the processes of the production layout share instead of a disk: PostgreSQL
        (the database is created if missing), one SECRET_KEY (from the environment, else made
        for this run), and object storage (S3_BUCKET; unset, a moto S3 server on loopback,
        which keeps nothing once stopped)."""
        url = self.env.setdefault("DATABASE_URL", DEFAULT_PROD_DATABASE)
        if not url.startswith(("postgres://", "postgresql://")):
            raise ValueError("make run-prod needs PostgreSQL: DATABASE_URL=postgres://…")
        database_create_if_missing(url)
        self.env.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
        if not self.env.get("S3_BUCKET") and not self.env.get("STORAGE_BACKEND"):
            port = free_port()
            self.spawn("s3", [PYTHON, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)])
            endpoint = f"http://127.0.0.1:{port}"
            self.env.update(S3_BUCKET="wireflow-media", S3_ENDPOINT_URL=endpoint,
                            S3_REGION="us-east-1", S3_ACCESS_KEY_ID="local",
                            S3_SECRET_ACCESS_KEY="local-secret")
            bucket_create(self.env)
            print(f"S3 server (moto) on {endpoint}, bucket wireflow-media: its files are gone "
                  "when it stops; set S3_BUCKET and friends for a real store", flush=True)
        print(f"Production layout: {self.hosts} worker host(s), each a local worker and a "
              f"remote worker with a var dir of its own; one beat; DEBUG="
              f"{self.env['DEBUG']}", flush=True)

    def serve_http(self) -> None:
        """Open the listening sockets here and start WEB_CONCURRENCY daphne processes, one on
        each (daphne's --fd; see `listening_sockets`): HTTP and WebSockets use every core, and
        a daphne that restarts finds its socket still open, the connections that came to it
        meanwhile waiting in its backlog. Each process has its own database connections and
        Redis clients."""
        count = web_concurrency(self.env)
        self.listeners = listening_sockets(self.host, self.port, count)
        for index, listener in enumerate(self.listeners):
            fd = listener.fileno()
            endpoint = ["-e", f"fd:fileno={fd}:domain=INET6"] \
                if listener.family == socket.AF_INET6 else ["--fd", str(fd)]
            self.spawn(f"daphne-{index + 1}" if count > 1 else "daphne",
                       [PYTHON, "-m", "wireflow_site.serve", *endpoint,
                        "wireflow_site.asgi:application"], pass_fds=(fd,))
        print(f"{count} daphne process{'es' if count > 1 else ''} on "
              f"{self.host}:{self.port} (WEB_CONCURRENCY)", flush=True)

    def wait_until_up(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://{self.host}:{self.port}/livez"
        while time.monotonic() < deadline:
            self.check_children()
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"daphne did not answer on {url} within {timeout:.0f}s")

    def check_children(self) -> None:
        if self.stopping:
            return
        now = time.monotonic()
        for child in self.children:
            child.supervise(now)

    def stop(self) -> None:
        self.stopping = True
        running = [(child.name, child.process) for child in reversed(self.children)
                   if child.process is not None]
        for _, process in running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for name, process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop in time; killing it", flush=True)
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.children.clear()
        for listener in self.listeners:
            listener.close()
        self.listeners = []
        if getattr(self, "base_url_file", None):
            self.base_url_file.unlink(missing_ok=True)
        if self.redis:
            self.redis_url_file.unlink(missing_ok=True)
            self.redis.stop()
            self.redis = None


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    runner = Runner(prod="--prod" in args)

    def on_signal(signum, frame):
        raise KeyboardInterrupt

    # Installed explicitly: a shell that starts us in the background may have ignored SIGINT.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    try:
        runner.start()
        while True:
            runner.check_children()
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
        return 0
    except (RuntimeError, subprocess.CalledProcessError, OSError, ValueError) as error:
        print(f"make run{'-prod' if runner.prod else ''} failed: {error}", file=sys.stderr,
              flush=True)
        return 1
    finally:
        runner.stop()


if __name__ == "__main__":
    sys.exit(main())
