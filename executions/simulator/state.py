"""The simulator's memory: jobs that finish by the clock, delivery files that expire, scripted
answers, and counters. One lock guards it; nothing here sleeps."""

from __future__ import annotations

import random
import re
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

DELIVERY_LIFETIME = 600.0  # BFL's signed result URLs expire after 10 minutes
SLOW_SECONDS = 30.0
PRUNE_EVERY = 5.0
REQUEST_LOG = 200  # how many vendor requests GET /__sim/requests remembers
TRIGGERS = ("request-moderated", "content-moderated", "error", "text-only", "402", "429", "500",
            "slow", "hang")
_BASE64 = re.compile(r"[A-Za-z0-9+/=_-]{200,}")


def triggers(value: Any) -> frozenset[str]:
    """The `sim:<word>` triggers found in any string of a request body."""
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "sim:" in item:
                found.update(word for word in TRIGGERS if f"sim:{word}" in item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return frozenset(found)


def redacted(value: Any, key: str = "") -> Any:
    """A request body for the request log: base64 payloads and data URIs (any long one, and
    whatever sits in an image field: `data`, `image_url`, `input_image…`) become "<N bytes>"."""
    if isinstance(value, dict):
        return {name: redacted(item, name) for name, item in value.items()}
    if isinstance(value, list):
        return [redacted(item, key) for item in value]
    if not isinstance(value, str) or value.startswith(("http://", "https://")):
        return value
    payload = value
    if value.startswith("data:") and ";base64," in value[:200]:
        payload = value.split(",", 1)[1]
    elif not (_BASE64.fullmatch(value) or key in ("data", "image_url")
              or key.startswith("input_image")):
        return value
    return f"<{len(payload) * 3 // 4 - payload[-2:].count('=')} bytes>"


@dataclass
class SimJob:
    """One submitted job; it is done once the clock passes `ready_at`."""

    id: str
    provider: str
    submitted: float
    ready_at: float
    marks: frozenset[str]
    request: dict[str, Any]
    cancelled: bool = False
    file: str | None = None  # delivery token once the result was made

    def done(self, now: float) -> bool:
        return now >= self.ready_at

    def progress(self, now: float) -> float:
        span = max(1e-3, self.ready_at - self.submitted)
        return round(min(0.99, max(0.0, (now - self.submitted) / span)), 2)


@dataclass
class State:
    latency: float
    fail_rate: float
    delivery_lifetime: float = DELIVERY_LIFETIME
    jobs: dict[str, SimJob] = field(default_factory=dict)
    files: dict[str, tuple[bytes, str, float]] = field(default_factory=dict)
    scripts: list[tuple[str, int]] = field(default_factory=list)
    stats: Counter = field(default_factory=Counter)
    active: set[str] = field(default_factory=set)  # submitted, result not yet collected
    requests: deque = field(default_factory=lambda: deque(maxlen=REQUEST_LOG))
    # Model ids / apps the vendor has shut down since (POST /__sim/config {"retired": [...]}):
    # answered as unknown ones, as when Google retired the Nano Banana 2 preview.
    retired: set = field(default_factory=set)
    # Each side of the images fal delivers, times this (POST /__sim/config {"oversize": 2}):
    # a vendor that delivers a larger image than it was asked for. Tests only; 1 as fal does.
    oversize: float = 1.0

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.rng = random.Random(7)
        self.defaults = (self.latency, self.fail_rate, self.delivery_lifetime)
        self.epoch = 0  # bumped by reset: requests begun before it record nothing after it
        self.pruned_at = time.monotonic()

    # --- control ---------------------------------------------------------------------------
    def reset(self) -> None:
        with self.lock:
            self.jobs.clear()
            self.files.clear()
            self.scripts.clear()
            self.stats.clear()
            self.active.clear()
            self.requests.clear()
            self.retired = set()
            self.oversize = 1.0
            self.latency, self.fail_rate, self.delivery_lifetime = self.defaults
            self.epoch += 1

    def script(self, path_prefix: str, statuses: list[int]) -> None:
        with self.lock:
            self.scripts.extend((path_prefix, status) for status in statuses)

    def scripted(self, path: str) -> int | None:
        """The next scripted status for this path, consumed; None when nothing is queued."""
        with self.lock:
            for index, (prefix, status) in enumerate(self.scripts):
                if path.startswith(prefix):
                    del self.scripts[index]
                    return status
        return None

    def random_failure(self) -> bool:
        with self.lock:
            return self.fail_rate > 0 and self.rng.random() < self.fail_rate

    def count(self, key: str) -> None:
        with self.lock:
            self.stats[key] += 1

    def log_request(self, entry: dict[str, Any], *, epoch: int) -> None:
        """Remember what a client sent a vendor endpoint (body already redacted), unless a
        reset came since it arrived (a hung request answering late leaks into no later test)."""
        with self.lock:
            if epoch == self.epoch:
                self.requests.append(entry)

    def request_log(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.requests)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"stats": dict(self.stats), "jobs": len(self.jobs),
                    "active": len(self.active), "latency": self.latency,
                    "fail_rate": self.fail_rate}

    # --- jobs --------------------------------------------------------------------------------
    def submit(self, provider: str, marks: frozenset[str], request: dict[str, Any]) -> SimJob:
        now = time.time()
        delay = SLOW_SECONDS if "slow" in marks else self.latency
        job = SimJob(id=str(uuid.uuid4()), provider=provider, submitted=now,
                     ready_at=now + delay, marks=marks, request=request)
        with self.lock:
            self.jobs[job.id] = job
            self.active.add(job.id)
            self.stats[f"{provider}.submit"] += 1
            self.stats["max_active"] = max(self.stats["max_active"], len(self.active))
        self.prune()
        return job

    def job(self, job_id: str) -> SimJob | None:
        with self.lock:
            return self.jobs.get(job_id)

    def settle(self, job: SimJob) -> None:
        """The client has its answer (result, error or cancel): the job no longer counts as
        active for `max_active`."""
        with self.lock:
            self.active.discard(job.id)

    # --- delivery ----------------------------------------------------------------------------
    def store_file(self, data: bytes, mime: str, extension: str) -> str:
        token = f"{uuid.uuid4().hex}.{extension}"
        with self.lock:
            self.files[token] = (data, mime, time.time() + self.delivery_lifetime)
        return token

    def file(self, token: str) -> tuple[bytes, str] | None:
        """A delivery file, or None once it expired (or never existed)."""
        with self.lock:
            item = self.files.get(token)
        if item is None or item[2] < time.time():
            return None
        return item[0], item[1]

    def prune(self) -> None:
        """Forget expired files, and jobs finished longer ago than a delivery lives (BFL then
        says "Task not found"), at most every few seconds."""
        if time.monotonic() - self.pruned_at < PRUNE_EVERY:
            return
        now = time.time()
        with self.lock:
            self.pruned_at = time.monotonic()
            for token in [t for t, item in self.files.items() if item[2] < now]:
                del self.files[token]
            for job_id in [j for j, job in self.jobs.items()
                           if job.ready_at + self.delivery_lifetime < now]:
                del self.jobs[job_id]
                self.active.discard(job_id)
