"""Shared helpers for the reliability tests: a Redis and a PostgreSQL of the test's own that can
be stopped and brought back on the same port."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import psycopg

from wireflow_site.embedded_redis import EmbeddedRedis, _free_port


class RestartableRedis(EmbeddedRedis):
    """An embedded redis-server that `crash()` SIGKILLs and `start()` brings back on its port
    (empty: it keeps nothing on disk, as a restarted cache-only Redis would)."""

    def crash(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb into a temporary directory), on a free
    port, that can be stopped and started again, so the shared one on 5432 never is. Its
    server runs as the `postgres` user when the test runs as root (initdb refuses root)."""

    BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="wireflow-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/wireflow"

    @classmethod
    def available(cls) -> bool:
        return all((cls.BIN / name).exists() for name in ("initdb", "pg_ctl", "postgres"))

    def _run(self, *argv: str) -> None:
        command = [str(self.BIN / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if done.returncode:
            raise RuntimeError(f"{argv[0]} failed: {done.stdout}{done.stderr}")

    def init(self) -> PrivatePostgres:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--no-sync")
        self.start()
        with psycopg.connect(self.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE wireflow")
        return self

    def start(self, *, wait: bool = True) -> None:
        """Start the server; return once it accepts connections, or at once (`wait=False`)."""
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-o", options,
                  *(("-w", "-t", "30") if wait else ("-W",)), "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop")

    def accepts_connections(self) -> bool:
        try:
            psycopg.connect(self.url, connect_timeout=1).close()
            return True
        except psycopg.OperationalError:
            return False

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


def deployment_workers(env: dict[str, str]):
    """The two workers of a deployment, not started: local rendering on processes (with beat)
    and vendor calls, polls and the dispatcher's housekeeping on threads."""
    from django.conf import settings

    from tests.live import LiveWorker

    return (LiveWorker(extra_env=env, queues=[settings.CELERY_TASK_DEFAULT_QUEUE]),
            LiveWorker(extra_env=env, queues=[settings.CELERY_REMOTE_QUEUE], pool="threads",
                       concurrency=8, beat=False))
