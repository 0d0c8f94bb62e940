"""A real Celery worker (and beat) in its own process, on the test database and Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"  # a zombie is gone
    except (FileNotFoundError, IndexError):
        return False


class LiveWorker:
    """`celery worker -B` as a child process; `kill_child()` SIGKILLs one pool process."""

    def __init__(self, *, concurrency: int = 2, pool: str = "prefork", beat: bool = True,
                 extra_env: dict[str, str] | None = None, hostname: str = "",
                 queues: list[str] | None = None) -> None:
        self.queues = queues or []  # none: every queue, as one worker of a small deployment
        self.concurrency = concurrency
        self.pool = pool
        self.beat = beat
        self.extra_env = extra_env or {}
        self.hostname = hostname or f"test-{os.getpid()}-{time.monotonic_ns()}@localhost"
        self.process: subprocess.Popen | None = None
        self.beat_process: subprocess.Popen | None = None
        self.log = Path(settings.VAR_DIR) / f"test-worker-{self.hostname.split('@')[0]}.log"

    def start(self) -> LiveWorker:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "wireflow_site.test_settings",
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "PYTHONUNBUFFERED": "1",
            "WEBHOOK_ALLOW_PRIVATE": "1",  # tests receive webhooks on loopback
            "FETCH_ALLOW_PRIVATE": "1",
            **self.extra_env,
        }
        argv = [sys.executable, "-m", "celery", "-A", "wireflow_site", "worker",
                "--loglevel", "INFO", "--pool", self.pool, "--concurrency", str(self.concurrency),
                "--hostname", self.hostname,
                "--without-mingle", "--without-gossip"]
        if self.queues:
            argv += ["--queues", ",".join(self.queues)]
        self.log.parent.mkdir(parents=True, exist_ok=True)
        handle = self.log.open("wb")
        self.process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=handle,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        if self.beat:  # its own process, so killing the worker's pool leaves the reaper alive
            beat_log = self.log.with_suffix(".beat.log").open("wb")
            self.beat_process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "wireflow_site", "beat", "--loglevel",
                 "INFO", "--schedule", str(Path(settings.VAR_DIR) / f"beat-{os.getpid()}")],
                cwd=ROOT, env=env, stdout=beat_log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited:\n{self.log.read_text()[-3000:]}")
            if b" ready." in self.log.read_bytes():
                return
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready:\n{self.log.read_text()[-3000:]}")

    def twin(self) -> LiveWorker:
        """The same worker again (same hostname, queues and pool), without a second beat: what
        a supervisor starts after this one died."""
        return LiveWorker(concurrency=self.concurrency, pool=self.pool, beat=False,
                          extra_env=self.extra_env, hostname=self.hostname, queues=self.queues)

    def kill_main(self) -> None:
        """SIGKILL the worker's main process only, as the OOM killer would; its pool processes
        die with it (Celery gives them a parent-death signal). Beat, if any, lives on."""
        children = self.children()
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in children):
            assert time.monotonic() < deadline, "pool processes outlived their worker"
            time.sleep(0.05)

    def children(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True,
                             text=True).stdout
        return [int(pid) for pid in out.split()]

    def stop(self) -> None:
        for process in (self.beat_process, self.process):
            if process and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        self.process = self.beat_process = None


class LiveServer:
    """daphne (HTTP + WebSockets) on a free port, on the test database, as a child process."""

    def __init__(self, *, url: str, extra_env: dict[str, str] | None = None) -> None:
        self.url = url
        self.port = int(url.rsplit(":", 1)[1])
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen | None = None
        self.log = Path(settings.VAR_DIR) / f"test-daphne-{os.getpid()}.log"

    def start(self) -> LiveServer:
        import urllib.request

        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "wireflow_site.test_settings",
               "DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL,
               "DEBUG": "1", "PUBLIC_BASE_URL": self.url, "PYTHONUNBUFFERED": "1",
               **self.extra_env}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wireflow_site.serve", "-b", "127.0.0.1", "-p", str(self.port),
             "wireflow_site.asgi:application"], cwd=ROOT, env=env,
            stdout=self.log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/livez", timeout=2):
                    return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(self.log.read_text()[-3000:]) from None
                time.sleep(0.2)
        raise RuntimeError("daphne did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                # A daphne that outlives its test keeps the SQLite test database locked for
                # every test after it: end it, and say so.
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
                kept = self.log.with_suffix(".hung.log")
                kept.write_bytes(self.log.read_bytes())
                warnings.warn(f"daphne ignored SIGTERM for 20 s (log: {kept})", stacklevel=2)


def frame_events(frame: dict) -> list[dict]:
    """The status events of one frame of the workflow socket: a burst comes as
    {"type": "events", "events": [...]}, a lone event as itself."""
    return frame["events"] if frame.get("type") == "events" else [frame]
