"""What several benchmarks share: a free loopback port, waiting for a server's /livez, and the
three-node graph the intake benchmarks trigger (a text input through a router into a small
procedural preview: no vendor, little CPU, so the figures are the intake's own)."""

from __future__ import annotations

import socket
import subprocess
import time

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_live(process: subprocess.Popen, port: int, *, timeout: float = 60) -> subprocess.Popen:
    """`process` once http://127.0.0.1:<port>/livez answers 200; RuntimeError after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/livez").status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"the server on port {port} did not start")


TRIGGER_NODES = [
    {"id": "t", "type": "basedNode", "position": {"x": 0, "y": 0},
     "data": {"nodeType": "input:text", "config": {"prompt": "bench"}}},
    {"id": "r", "type": "basedNode", "position": {"x": 300, "y": 0},
     "data": {"nodeType": "logic:router", "config": {}}},
    {"id": "p", "type": "basedNode", "position": {"x": 600, "y": 0},
     "data": {"nodeType": "generate:local_preview",
              "config": {"seed": 1, "width": 256, "height": 256}}}]
TRIGGER_EDGES = [
    {"id": "e1", "source": "t", "sourceHandle": "out-text", "target": "r",
     "targetHandle": "in-input"},
    {"id": "e2", "source": "r", "sourceHandle": "out-output", "target": "p",
     "targetHandle": "in-prompt"}]
