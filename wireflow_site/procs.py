"""Child processes that cannot outlive the process that started them.

Each child asks the kernel (Linux prctl PR_SET_PDEATHSIG) for SIGTERM when its parent dies, so
a runner that is SIGKILLed, or crashes, leaves no daphne, worker, beat, simulator or embedded
Redis behind. Elsewhere it is a no-op: children are then stopped only by an orderly stop.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """Run in the child between fork and exec."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request was in place
        os._exit(1)


def popen(argv: list[str], **kwargs) -> subprocess.Popen:
    """subprocess.Popen, and on Linux the child gets SIGTERM when this process dies."""
    if sys.platform.startswith("linux"):
        parent = os.getpid()
        kwargs["preexec_fn"] = lambda: _die_with_parent(parent)
    return subprocess.Popen(argv, **kwargs)
