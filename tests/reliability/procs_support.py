"""Shared helpers for the reliability tests: a Redis of the test's own that can be killed and
brought back on the same port, and a daphne + worker pair pointed at it."""

from __future__ import annotations

import os
import signal

from wireflow_site.embedded_redis import EmbeddedRedis


class RestartableRedis(EmbeddedRedis):
    """An embedded redis-server that `crash()` SIGKILLs and `start()` brings back on its port
    (empty: it keeps nothing on disk, as a restarted cache-only Redis would)."""

    def crash(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None
