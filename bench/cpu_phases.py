"""CPU per step of a worker, exactly: each listed function is wrapped to add the CPU time of
its thread (time.thread_time: user + system) spent inside it, and its calls, to a table that
the worker writes to $CPU_PHASES_OUT (JSON) when it shuts down. Inclusive: a step's figure
includes the steps it calls.

Loaded into a Celery worker as `sitecustomize` (bench_scale.py with SCALE_PHASES=1 puts
bench/phases_site/ on the worker's PYTHONPATH), after the app is set up (worker_init). It adds
a few microseconds per call, so take the worker's total CPU from a run without it.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import re
import sys
import threading
import time
from collections import defaultdict

# (module, attribute path) of each step; a class method as "Class.method".
STEPS = [
    ("celery.app.trace", "fast_trace_task"),
    ("executions.worker", "node_run_execute"),
    ("executions.worker", "node_run_poll"),
    ("executions.worker", "_node_run"),
    ("executions.worker", "_run_claimed"),
    ("executions.worker", "_advance"),
    ("executions.worker", "node_run_finish"),
    ("executions.worker", "next_poll"),
    ("executions.outputs", "resolve_inputs"),
    ("executions.outputs", "cache_key"),
    ("executions.outputs", "cache_lookup"),
    ("executions.outputs", "result_store"),
    ("executions.outputs", "output_api"),
    ("executions.assets", "asset_from_output"),
    ("executions.assets", "_renditions_store"),
    ("executions.assets", "_renditions_save"),
    ("executions.media_types", "media_detect"),
    ("executions.imaging", "renditions"),
    ("executions.imaging", "upright"),
    ("executions.media_urls", "media_url"),
    ("executions.scheduler", "node_run_claim"),
    ("executions.scheduler", "node_run_mark_submitting"),
    ("executions.scheduler", "node_run_save_remote"),
    ("executions.scheduler", "node_run_complete"),
    ("executions.scheduler", "node_run_heartbeat"),
    ("executions.scheduler", "execution_settle"),
    ("executions.dispatch", "slot_take_or_queue"),
    ("executions.dispatch", "slot_free"),
    ("executions.dispatch", "slots_top_up"),
    ("executions.dispatch", "node_run_schedule"),
    ("executions.dispatch", "node_runs_enqueue_on_commit"),
    ("executions.dispatch", "node_run_send"),
    ("executions.dispatch", "broker_publish"),
    ("executions.events", "emit_nodes"),
    ("executions.events", "emit_execution"),
    ("executions.events", "_send_on_commit"),
    ("executions.events", "send_many"),
    ("executions.providers.bfl", "BflProvider.submit"),
    ("executions.providers.bfl", "BflProvider.poll"),
    ("executions.providers.http", "Http.send"),
    ("executions.providers.http", "Http.download"),
    ("executions.providers.http", "output_file"),
    ("executions.providers", "get_provider"),
    ("storages.backends.s3", "S3Storage._save"),
    ("wireflow_site.storage", "S3Storage._save"),
    ("botocore.client", "BaseClient._make_api_call"),
    ("celery.app.task", "Task.apply_async"),
    ("storages.backends.s3", "S3Storage.url"),
    ("django.db.models.base", "Model.save"),
    ("django.db.backends.utils", "CursorWrapper.execute"),
    ("django.db.transaction", "Atomic.__exit__"),
    ("django.db", "close_old_connections"),
    ("redis.client", "Redis.execute_command"),
    ("kombu.messaging", "Producer.publish"),
]

_lock = threading.Lock()
_table: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])  # name -> [cpu s, calls]
_local = threading.local()


def _wrap(name: str, original):
    @functools.wraps(original)
    def timed(*args, **kwargs):
        depth = getattr(_local, "active", None)
        if depth is None:
            depth = _local.active = set()
        if name in depth:  # recursion: count the outermost call only
            return original(*args, **kwargs)
        depth.add(name)
        start = time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent = time.thread_time() - start
            depth.discard(name)
            with _lock:
                entry = _table[name]
                entry[0] += spent
                entry[1] += 1

    timed.__cpu_phase__ = True
    return timed


def _thread_cpu() -> dict[int, tuple[str, float]]:
    """Each live thread's name and the CPU it has used since it started."""
    found = {}
    for thread in threading.enumerate():
        try:
            clock = time.pthread_getcpuclockid(thread.ident)
            found[thread.ident] = (thread.name, time.clock_gettime(clock))
        except (OSError, TypeError):
            pass
    return found


_start: dict = {}
_seen: dict[int, tuple[str, float]] = {}  # every thread's last reading (pool threads end first)


def _watch_threads() -> None:
    while True:
        _seen.update(_thread_cpu())
        time.sleep(0.25)


def install() -> None:
    _start.update(process=process_cpu(), threads=_thread_cpu())
    threading.Thread(target=_watch_threads, daemon=True, name="cpu-phases").start()
    for module_name, path in STEPS:
        module = importlib.import_module(module_name)
        owner, _, attr = path.rpartition(".")
        holder = functools.reduce(getattr, owner.split("."), module) if owner else module
        original = holder.__dict__.get(attr) if isinstance(holder, type) else getattr(holder,
                                                                                      attr)
        if original is None or getattr(original, "__cpu_phase__", False):
            continue
        timed = _wrap(f"{module_name}.{path}", original)
        setattr(holder, attr, timed)
        if owner:
            continue
        for other in list(sys.modules.values()):  # `from x import f` copies too
            namespace = getattr(other, "__dict__", None)
            if not isinstance(namespace, dict):
                continue
            for key, value in list(namespace.items()):
                if value is original:
                    namespace[key] = timed


def process_cpu() -> float:
    times = os.times()
    return times.user + times.system


def dump() -> None:
    out = os.environ.get("CPU_PHASES_OUT")
    if not out:
        return
    with _lock:
        table = {name: {"cpu": cpu, "calls": calls} for name, (cpu, calls) in _table.items()}
    threads: dict[str, float] = defaultdict(float)  # by name without its number
    before = _start.get("threads", {})
    _seen.update(_thread_cpu())
    for ident, (name, cpu) in _seen.items():
        kind = re.sub(r"[-_]?\d+(_\d+)?$", "", re.sub(r" \(.*\)$", "", name))
        threads[kind] += cpu - (before[ident][1] if ident in before else 0.0)
    with open(out, "w") as handle:
        json.dump({"process_cpu": process_cpu() - _start.get("process", 0.0),
                   "threads": threads, "steps": table}, handle, indent=1)


def report(path: str, generations: float) -> str:
    """The steps by CPU per generation, from a file a worker wrote."""
    with open(path) as handle:
        data = json.load(handle)
    rows = sorted(data["steps"].items(), key=lambda item: -item[1]["cpu"])
    lines = [f"{path}: worker process CPU from ready to shutdown "
             f"{data['process_cpu'] / generations * 1000:.1f} ms per generation; by thread "
             "(cpu-phases: this tool's own):"]
    for name, cpu in sorted(data["threads"].items(), key=lambda item: -item[1]):
        lines.append(f"  {cpu / generations * 1000:8.2f} ms  {name}")
    lines.append("steps, inclusive, ms of thread CPU per generation (calls per generation):")
    for name, entry in rows:
        lines.append(f"  {entry['cpu'] / generations * 1000:8.2f} ms  "
                     f"({entry['calls'] / generations:5.1f})  {name}")
    return "\n".join(lines)
