"""How ready node runs reach workers: the broker, the running task's continuation, and the
providers' concurrency slots.

A node of a provider with a concurrency limit takes its slot when it is enqueued or gets in
line (executions.slots): one that must wait costs no task until a freed slot is handed to it,
however many are queued behind the limit.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import threading
import time
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

import redis
from celery.utils.time import maybe_make_aware
from django.conf import settings
from django.db import transaction

from executions import slots, tasks
from executions.models import Execution, NodeRun, NodeStatus
from executions.outputs import NodeOutputs
from executions.providers import get_provider
from executions.scheduler import Ready, RemoteJob, Resend
from wireflow_site.errors import ApiError


class Continuation:
    """Lets the worker that finished a node run the next ready one itself, skipping a broker
    round trip, while its time budget lasts. Only the first ready node is kept: the others
    go through the broker as usual, so branches still run in parallel on other workers.
    The kept node is already QUEUED under its lease in the database, so if this worker dies
    before running it, the reaper re-queues it like any other.

    `known` carries the outputs of the nodes this task completed, by (run id, node id), so the
    node run next reads its inputs from memory instead of the database (outputs never change
    once a node is done)."""

    def __init__(self, *, until: float,
                 known: dict[tuple[str, str], NodeOutputs] | None = None,
                 runs: dict[str, Execution] | None = None, current_run: str = "",
                 current_row: NodeRun | None = None) -> None:
        self.until = until
        self.next: Ready | None = None
        self.known = known if known is not None else {}
        # The runs (without their snapshot's nodes) this task has loaded, by id: the fields a
        # node run reads from its run never change once it exists, so the next node of the
        # same run needs only its own row.
        self.runs = runs if runs is not None else {}
        self.current_run = current_run  # the run of the node this step runs, if known
        self.current_row = current_row  # and its row as this task made it ready, if so

    def offer(self, ready: list[Ready]) -> list[Ready]:
        """Keep one of `ready` if there is room, the first whose queue this worker consumes
        (so a vendor submit never runs in a CPU worker, nor local rendering on the remote
        worker's threads); return the ones left to send."""
        if self.next is not None or not ready or time.monotonic() >= self.until:
            return ready
        served = tasks.run_node.app.amqp.queues.consume_from
        for index, node in enumerate(ready):
            if queue_for(node.provider) in served:
                self.next = node
                return ready[:index] + ready[index + 1:]
        return ready


_continuation: ContextVar[Continuation | None] = ContextVar("continuation", default=None)


@contextmanager
def continuing(continuation: Continuation):
    """Inside this block, nodes made ready by this thread may be kept by `continuation`."""
    token = _continuation.set(continuation)
    try:
        yield continuation
    finally:
        _continuation.reset(token)


def known_outputs(execution_id: Any) -> dict[str, NodeOutputs]:
    """Outputs of nodes of this run that the current task completed (node id -> outputs)."""
    continuation = _continuation.get()
    if continuation is None or not continuation.known:
        return {}
    run = str(execution_id)
    return {node_id: made for (run_id, node_id), made in continuation.known.items()
            if run_id == run}


def outputs_remember(node_run: NodeRun, made: NodeOutputs) -> None:
    """Once the completion commits, the task's continuation knows these outputs (and the run)."""
    continuation = _continuation.get()
    if continuation is not None:
        key = (str(node_run.execution_id), node_run.node_id)
        execution = node_run.execution

        def remember() -> None:
            continuation.known[key] = made
            continuation.runs[key[0]] = execution

        transaction.on_commit(remember)


def current_row(node_run_id: str, lease: str, status: str) -> NodeRun | None:
    """The node run this step runs, as this task made it ready (and committed), if it is the
    one asked for. Anything that changed it since (a cancel) makes its claim lose."""
    continuation = _continuation.get()
    row = continuation.current_row if continuation is not None else None
    if row is None or str(row.pk) != node_run_id or row.lease != lease or row.status != status:
        return None
    return row


def current_run() -> Execution | None:
    """The run of the node this step of the task runs, if the task loaded it already (see
    Continuation.runs)."""
    continuation = _continuation.get()
    if continuation is None or not continuation.current_run:
        return None
    return continuation.runs.get(continuation.current_run)


# --- the broker ------------------------------------------------------------------------------

def node_runs_enqueue(ready: list[Ready]) -> None:
    """Send ready node runs to the workers; the running task's continuation, if any, may
    keep one to run itself. A node of a limited provider takes its slot here or gets in line;
    its task takes the slot again (a no-op for the holder), which also covers a node
    re-queued by the reaper."""
    sendable = [node for node in ready
                if not node.provider or slot_take_or_queue(node.provider, node.node_run_id)]
    continuation = _continuation.get()
    if continuation is not None:
        sendable = continuation.offer(sendable)
    for node in sendable:
        node_run_send(node)


def queue_for(provider_alias: str) -> str:
    """The queue of a node run of this provider: a vendor's (I/O: the remote queue, on a
    thread pool) or ours (CPU: the main queue)."""
    if provider_alias and get_provider(provider_alias).external:
        return settings.CELERY_REMOTE_QUEUE
    return settings.CELERY_TASK_DEFAULT_QUEUE


def node_run_send(ready: Ready) -> None:
    """Through the broker, as it is (its slot, if any, already taken)."""
    _task_send(tasks.run_node, (ready.node_run_id, ready.lease), queue_for(ready.provider))


def _task_send(entry, args: tuple, queue: str, *, countdown: float = 0.0) -> None:
    """`entry(*args)` on `queue`, in `countdown` s: the light publish below on a Redis broker,
    Celery's own path when eager or on another broker."""
    if entry.app.conf.task_always_eager or _broker_client() is None:
        entry.apply_async(args, queue=queue, countdown=countdown)
    else:
        broker_publish(entry.name, args, queue, countdown=countdown)


# --- a lighter publish -----------------------------------------------------------------------
# Every accepted run sends its first ready node. Celery's apply_async spent three times the
# LPUSH itself on routing, the producer pool, declaring the queue again, retry wrappers and a
# new Redis client object per message (kombu's Redis transport). The message is the same one
# (Celery's task protocol 2 in kombu's Redis envelope, JSON, a body in base64): its headers are
# made once per task by Celery (`as_task_v2`) and only the ids and arguments change; it goes
# out in one LPUSH on the broker's connection pool. Sent from inside a task (a poll scheduled
# after a submit, a node the continuation hands on), it records the sending task as its
# parent as Celery does; with a countdown, it carries Celery's `eta`. In a worker this cut
# apply_async's ~1.7 ms of CPU per poll scheduled (bench/bench_scale.py, SCALE_PHASES=1).

@functools.cache
def _message_template(task_name: str, pid: int) -> tuple[dict, dict]:
    """Celery's headers and properties for a message of this task from this process (its
    `origin` names the process)."""
    app = tasks.run_node.app
    task = app.tasks[task_name]
    headers, properties, _, _ = app.amqp.as_task_v2(
        "-", task_name, ("-",), {}, ignore_result=task.ignore_result,
        time_limit=task.time_limit, soft_time_limit=task.soft_time_limit, kwargsrepr="{}")
    return headers, properties


def broker_publish(task_name: str, args: tuple, queue: str, *, countdown: float = 0.0) -> str:
    """Send a task message for `task_name(*args)` to `queue`, to run in `countdown` s, as
    apply_async would; returns its task id. Redis errors are raised (redis-py retries a
    dropped connection first)."""
    headers, properties = _message_template(task_name, os.getpid())
    task_id = str(uuid.uuid4())
    app = tasks.run_node.app
    lineage: dict[str, Any] = {"root_id": task_id}
    parent = app.current_worker_task
    if parent is not None:  # what Celery's send_task records of the task sending it
        lineage = {"root_id": parent.request.root_id or parent.request.id,
                   "parent_id": parent.request.id}
    if countdown:
        lineage["eta"] = maybe_make_aware(app.now() + timedelta(seconds=countdown),
                                          tz=app.timezone).isoformat()
    body = json.dumps([list(args), {}, _EMBED]).encode()
    message = {
        "body": base64.b64encode(body).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {**headers, "id": task_id, **lineage, "argsrepr": repr(args)},
        "properties": {
            **properties, "correlation_id": task_id,
            "reply_to": tasks.run_node.app.thread_oid,
            "delivery_mode": 2,  # persistent, kombu's default
            "delivery_info": {"exchange": "", "routing_key": queue},
            "priority": 0, "body_encoding": "base64", "delivery_tag": str(uuid.uuid4()),
        },
    }
    _broker_client().lpush(queue, json.dumps(message))
    return task_id


_EMBED = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


def node_runs_enqueue_on_commit(ready: list[Ready]) -> None:
    """After commit, send them. The run is committed by then: a broker that cannot take them
    is logged, not raised (the request that made the run must not answer 500 for a run that
    exists); they stay QUEUED in the database and the reaper sends them."""
    if ready:
        transaction.on_commit(lambda: node_runs_enqueue(ready), robust=True)


def node_run_schedule(task: str, node_run_id: str, lease: str, countdown: float, *,
                      provider: str = "") -> None:
    """After commit, run (`task="run"`, on its provider's queue) or poll (`"poll"`) the node
    run in `countdown` s."""
    if task == "run":
        entry, queue = tasks.run_node, queue_for(provider)
    else:
        entry, queue = tasks.poll_node, _routed_queue(tasks.poll_node.name)
    transaction.on_commit(  # robust: a node run left unsent is the dispatcher's (see above)
        lambda: _task_send(entry, (node_run_id, lease), queue, countdown=max(0.0, countdown)),
        robust=True,
    )


@functools.cache
def _routed_queue(task_name: str) -> str:
    """The queue CELERY_TASK_ROUTES sends this task to."""
    return tasks.run_node.app.amqp.router.route({}, task_name)["queue"].name


def node_runs_resend(resent: list[Resend]) -> None:
    """The dispatcher's node runs, each to its task at once (after commit)."""
    for item in resent:
        node_run_schedule(item.task, item.node_run_id, item.lease, 0, provider=item.provider)


def idle_queues() -> set[str]:
    """The queues in which the broker holds no message waiting (a Redis list's length; with
    any other broker, all count as idle). With nothing waiting in its queue, a queued node run
    whose task is late has lost it."""
    names = {settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_REMOTE_QUEUE}
    with tasks.run_node.app.connection_for_read() as connection:
        client = getattr(connection.default_channel, "client", None)
        if client is None:
            return names
        return {name for name in names if not client.llen(name)}


# --- back-pressure ---------------------------------------------------------------------------
# A run is accepted only while the broker's backlog (node runs sent to the workers and not yet
# taken) is under INTAKE_QUEUE_LIMIT: past it a trigger or an execute answers 503 with
# Retry-After at once, instead of every request (and every run) getting slower. The length is
# read at most every INTAKE_QUEUE_CHECK_EVERY seconds per process (two LLENs in one round trip).

_backlog = {"checked": 0.0, "waiting": 0}
_backlog_lock = threading.Lock()


@functools.cache
def _broker_client() -> redis.Redis | None:
    url = settings.CELERY_BROKER_URL or ""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None  # another broker: no back-pressure
    return redis.Redis.from_url(url, socket_connect_timeout=settings.REDIS_CONNECT_TIMEOUT,
                                socket_timeout=settings.REDIS_SOCKET_TIMEOUT)


def broker_backlog() -> int:
    """Node runs waiting in the broker for a worker (both queues), as of at most
    INTAKE_QUEUE_CHECK_EVERY seconds ago; 0 when it cannot tell."""
    now = time.monotonic()
    with _backlog_lock:
        if now - _backlog["checked"] < settings.INTAKE_QUEUE_CHECK_EVERY:
            return _backlog["waiting"]
        _backlog["checked"] = now
    client = _broker_client()
    waiting = 0
    if client is not None:
        try:
            with client.pipeline(transaction=False) as pipe:
                for name in (settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_REMOTE_QUEUE):
                    pipe.llen(name)
                waiting = sum(pipe.execute())
        except redis.RedisError:  # the broker's own failure shows when the run is sent
            waiting = 0
    with _backlog_lock:
        _backlog["waiting"] = waiting
    return waiting


def intake_admit() -> None:
    """Refuse a new run (503, Retry-After) while the workers' backlog is over the bound."""
    limit = settings.INTAKE_QUEUE_LIMIT
    if not limit:
        return
    waiting = broker_backlog()
    if waiting >= limit:
        retry_after = settings.INTAKE_RETRY_AFTER
        raise ApiError("Too many runs are waiting for a worker. Please try again later.",
                       code="overloaded", status=503, retryAfter=int(time.time()) + retry_after,
                       headers={"Retry-After": str(retry_after)})


def remote_jobs_stop_on_commit(jobs: list[RemoteJob]) -> None:
    """After a cancel commits: ask each vendor to stop its job, and free its slot."""
    for job in jobs:
        transaction.on_commit(  # robust: the run is cancelled whatever the broker says
            lambda j=job: tasks.cancel_remote.delay(j.provider, j.handle, j.holder),
            robust=True)


# --- provider slots --------------------------------------------------------------------------

def slot_take_or_queue(provider_alias: str, node_run_id: str) -> bool:
    """Take a slot of the provider for this node (True), or put it in line (False)."""
    return slots.acquire(provider_alias, node_run_id, get_provider(provider_alias).max_concurrency)


def slot_free(provider_alias: str, holder: str) -> None:
    """Free `holder`'s slot; the next node in line, handed it, is woken."""
    woken = slots.release(provider_alias, holder)
    if woken:
        slot_wake(provider_alias, woken)


def slot_forget(provider_alias: str, holder: str) -> None:
    """A cancelled node leaves the line, and its slot, if it held one, goes on."""
    slots.forget(provider_alias, holder)
    slot_free(provider_alias, holder)


def slot_wake(provider_alias: str, node_run_id: str) -> None:
    """A freed slot was handed to this waiting node: send its task (or, inside a task with time
    to spare, run it next in that task). A node that stopped waiting (cancelled meanwhile)
    passes the slot on to the next in line."""
    row = next(iter(NodeRun.objects.filter(pk=node_run_id, status=NodeStatus.QUEUED)
                    .values_list("lease", "execution_id")), None)
    if row:
        node_runs_enqueue([Ready(node_run_id, row[0], provider_alias, str(row[1]))])
    else:
        slot_free(provider_alias, node_run_id)


def slots_top_up() -> int:
    """The safety net for waiting nodes (a beat task): slots freed without a hand-over (a dead
    holder's lease ran out) go to the next in line."""
    woken = 0
    for alias in settings.PROVIDERS:
        provider = get_provider(alias)
        limit = getattr(provider, "max_concurrency", None)
        if not limit or not slots.waiting(alias):
            continue
        for node_run_id in slots.top_up(alias, limit):
            slot_wake(alias, node_run_id)
            woken += 1
    return woken


# --- files -----------------------------------------------------------------------------------

def renditions_enqueue_on_commit(asset_id: Any) -> None:
    """After commit, have a worker make an asset's thumbnails (CPU work: the main queue). A
    broker that cannot take it is logged: the asset simply has none until it is made again
    (`manage.py thumbnails`)."""
    transaction.on_commit(lambda: tasks.make_renditions.apply_async(
        (str(asset_id),), queue=settings.CELERY_TASK_DEFAULT_QUEUE), robust=True)


def workflow_files_delete_on_commit(workflow_id: Any) -> None:
    """After commit, have a worker delete a deleted workflow's runs and files (in batches). A
    broker that cannot take it is logged: retention's periodic pass deletes them too."""
    transaction.on_commit(lambda: tasks.prune_workflow.apply_async(
        (str(workflow_id),), queue=settings.CELERY_REMOTE_QUEUE), robust=True)
