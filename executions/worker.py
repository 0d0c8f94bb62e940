"""What a worker does with one node run: claim it, resolve its inputs, try the cache, then run
its built-in handler or call its provider; and, while the task's time budget lasts, the node
it made ready next, in the same task.

A remote job is submitted once, its handle saved, then polled by short tasks scheduled with a
countdown, so waiting holds no worker. Transient errors back off and retry (bounded); anything
else fails the node with the vendor's reason.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from executions import dispatch, outputs, scheduler, slots
from executions.fetch import fetch_media_asset
from executions.models import RUN_SNAPSHOT, NodeRun, NodeStatus
from executions.providers import Job, Pending, ProviderError, Result, Stopped, get_provider
from graph.catalog import NodeError, catalog

log = logging.getLogger(__name__)
# A node run reads its execution's edges and settings, never these (they load if touched).
RUN_UNUSED = tuple(name for name in RUN_SNAPSHOT if name != "edges")
EXECUTION_UNUSED = tuple(f"execution__{name}" for name in RUN_UNUSED)
# Our own key in a vendor's job handle: when the submit returned. The vendor's clock starts in
# between our claim and that moment, so it times a job's progress better than started_at.
SUBMITTED_AT = "wireflowSubmittedAt"


LOST_SUBMIT = ("The worker stopped while submitting this job to {vendor}; {vendor} may have "
               "started it, so it was not submitted again (no credits were charged). Run the "
               "workflow again to retry.")


# --- who runs it -----------------------------------------------------------------------------

_owner = {"name": ""}


def owner_set(hostname: str) -> None:
    """Name this worker before its pool starts: `<celery hostname>/<boot id>`, so a worker
    that starts again under the same hostname knows its predecessor's node runs."""
    _owner["name"] = f"{hostname}/{uuid.uuid4().hex[:12]}"


def owner() -> str:
    """This process's name on the node runs it claims (outside a worker: host, pid, boot)."""
    if not _owner["name"]:
        owner_set(f"{socket.gethostname()}-{os.getpid()}")
    return _owner["name"]


# --- the task loop ---------------------------------------------------------------------------

def task_run(body: Callable[[str, str], None], node_run_id: str, lease: str) -> None:
    """A task's body (execute or poll a node run), then, while `ENGINE["inline_budget"]`
    seconds last, the node it made ready or woke, and so on, in this same task."""
    until = time.monotonic() + settings.ENGINE["inline_budget"]
    known: dict[tuple[str, str], outputs.NodeOutputs] = {}  # outputs completed in this task
    runs: dict[str, Any] = {}  # the runs this task loaded, by id
    step, run_id, row = (node_run_id, lease), "", None
    while True:
        continuation = dispatch.Continuation(until=until, known=known, runs=runs,
                                             current_run=run_id, current_row=row)
        try:
            with dispatch.continuing(continuation):
                body(*step)
        except BaseException:
            if continuation.next is not None:  # never strand a node made ready
                dispatch.node_run_send(continuation.next)
            raise
        if continuation.next is None:
            return
        body = node_run_execute
        step, run_id, row = (continuation.next[:2], continuation.next.run_id,
                             continuation.next.row)


def _node_run(node_run_id: str, lease: str, status: str) -> NodeRun | None:
    """The node run under this lease and status, with its run. Next in a task that already
    loaded the run: its own row only."""
    mine = NodeRun.objects.filter(pk=node_run_id, lease=lease, status=status)
    execution = dispatch.current_run()
    if execution is None:
        return _one(mine.select_related("execution").defer(*EXECUTION_UNUSED))
    node_run = dispatch.current_row(node_run_id, lease, status) or _one(mine)
    if node_run is not None:
        node_run.execution = execution
    return node_run


def _one(found):
    """The single row a pk filter matches, or None (no ORDER BY / LIMIT to compile)."""
    return next(iter(found.order_by()), None)


# --- executing a node run --------------------------------------------------------------------

def node_run_execute(node_run_id: str, lease: str) -> None:
    node_run = _node_run(node_run_id, lease, NodeStatus.QUEUED)
    if node_run is None:
        return  # a duplicate delivery, a cancelled run, or an older lease
    provider_alias = node_run.provider
    # The slot is normally taken when the node was enqueued (a no-op here for the holder); a
    # node sent round by the reaper may find the limit reached: it stays QUEUED, in line, and
    # its task ends at once until a freed slot is handed to it.
    if provider_alias and not dispatch.slot_take_or_queue(provider_alias, node_run_id):
        scheduler.node_run_wait_for_slot(node_run_id, lease)
        return
    if not scheduler.node_run_claim(node_run, holds_slot=bool(provider_alias), owner=owner()):
        # A duplicate delivery lost the claim. The slot is per node, so if the winner is
        # running it holds this very slot: leave it. Otherwise nobody uses it: free it.
        if provider_alias and not scheduler.node_run_is_running(node_run_id):
            dispatch.slot_free(provider_alias, node_run_id)
        return
    try:
        with _heartbeats.beating(node_run) as stop:
            _run_claimed(node_run, stop)
    except Stopped:
        log.info("node run %s stopped midway: no longer running here", node_run.pk)
    except ProviderError as error:
        _on_error(node_run, error, phase="submit")
    except NodeError as error:
        _on_error(node_run, ProviderError(error.message, kind=error.kind), phase="submit")
    except Exception as error:  # noqa: BLE001 - a bug must fail the node, not wedge the run
        log.exception("node run %s crashed", node_run.pk)
        _release_slot(node_run)
        node_run_fail(node_run, error=f"Internal error: {type(error).__name__}: {error}")


def node_run_inputs(node_run: NodeRun) -> tuple[dict[str, list[Any]], list[str]]:
    """The node run's inputs, from memory where this task completed their nodes."""
    return outputs.resolve_inputs(node_run, dispatch.known_outputs(node_run.execution_id))


def _fetch_media(node_run: NodeRun) -> Callable[[object, str], dict[str, Any]]:
    def fetch(url: object, kind: str) -> dict[str, Any]:
        asset = fetch_media_asset(team=node_run.execution.team, url=url, kind=kind)
        return {"asset": str(asset.pk)}

    return fetch


def _run_claimed(node_run: NodeRun, stop: threading.Event | None = None) -> None:
    values, hashes = node_run_inputs(node_run)
    key = outputs.cache_key(node_run, hashes)
    spec = catalog.get(node_run.node_type)
    if spec.handler is not None:
        made = spec.handler(outputs.HandlerContext(node_run, values, node_run.input_refs,
                                                   _fetch_media(node_run)))
        node_run_finish(node_run, made=made, output_api=outputs.output_api(made), cache_key=key)
        return
    hit = outputs.cache_lookup(node_run, key)
    if hit is not None:
        _release_slot(node_run)
        node_run_finish(node_run, made=hit.outputs, output_api=outputs.output_api(hit.outputs),
                  cached_from=hit, simulated=hit.simulated, cache_key=key)
        return
    provider = get_provider(node_run.provider)
    node_run.cache_key = key
    job = _job(node_run, values, stop)
    if node_run.remote:  # resumed after a crash: the vendor already has this job
        scheduler.node_run_save_cache_key(node_run, key)
        _poll(node_run, provider, job)
        return
    if node_run.submitting_since and provider.external:
        # A worker died between committing the intent and saving the vendor's answer: the
        # vendor may have the job (and bill it). None of them lets us look it up by an id of
        # ours, so by default the node fails rather than pay for it twice.
        if not settings.ENGINE["resubmit_lost"]:
            raise ProviderError(LOST_SUBMIT.format(vendor=provider.vendor_name),
                                kind="lost_submit")
        log.warning("node run %s: submitting again to %s (ENGINE_RESUBMIT_LOST)",
                    node_run.pk, provider.alias)
    node_run.attempts += 1  # saved with the intent, the job's handle, or the requeue
    if provider.external and not scheduler.node_run_mark_submitting(node_run):
        return  # cancelled (or re-leased) meanwhile: nothing was sent
    outcome = provider.submit(job)
    _advance(node_run, provider, outcome, submitted=True)


def node_run_fail(node_run: NodeRun, *, error: str, kind: str = "failed") -> None:
    """Fail the node run; a Collect its failure makes ready (one item of a fan-out failed)
    is enqueued once the failure commits."""
    ready = scheduler.node_run_fail(node_run, error=error, kind=kind)
    if ready:
        dispatch.node_runs_enqueue_on_commit(ready)


def node_run_finish(node_run: NodeRun, *, made: outputs.NodeOutputs, **kwargs: Any) -> bool:
    """Complete the node run; its outputs stay in this task's memory and the node runs it made
    ready are enqueued, both once the completion commits."""
    ready = scheduler.node_run_complete(node_run, made=made, **kwargs)
    if ready is None:
        return False
    dispatch.outputs_remember(node_run, made)
    dispatch.node_runs_enqueue_on_commit(ready)
    return True


def _job(node_run: NodeRun, values: dict[str, list[Any]],
         stop: threading.Event | None = None) -> Job:
    spec = catalog.get(node_run.node_type)
    return Job(node_type=node_run.node_type, model=spec.route(node_run.config).model,
               config=node_run.config, inputs=values, seed=node_run.seed,
               node_run_id=str(node_run.pk), stop=stop)


# --- polling a remote job --------------------------------------------------------------------

def node_run_poll(node_run_id: str, lease: str) -> None:
    node_run = _node_run(node_run_id, lease, NodeStatus.RUNNING)
    if node_run is None or not node_run.remote:
        return
    provider = get_provider(node_run.provider)
    try:
        # The inputs went to the vendor with the submit; a poll needs the job's identity only.
        with _heartbeats.beating(node_run) as stop:  # a download can take a while
            _poll(node_run, provider, _job(node_run, {}, stop))
    except Stopped:
        log.info("poll of node run %s stopped midway: no longer running here", node_run.pk)
    except ProviderError as error:
        _on_error(node_run, error, phase="poll")
    except Exception as error:  # noqa: BLE001
        log.exception("poll of node run %s crashed", node_run.pk)
        _release_slot(node_run)
        node_run_fail(node_run, error=f"Internal error: {type(error).__name__}: {error}")


def _poll(node_run: NodeRun, provider, job: Job) -> None:
    elapsed = (timezone.now() - (node_run.started_at or timezone.now())).total_seconds()
    if elapsed > slots.LEASE_SECONDS / 10:  # a long job: keep its slot's lease fresh
        slots.renew(node_run.provider, str(node_run.pk))
    if elapsed > settings.ENGINE["remote_timeout"]:
        provider.cancel(node_run.remote)
        raise ProviderError("The provider did not finish the job in time", kind="failed")
    _advance(node_run, provider, provider.poll(job, node_run.remote))


def _advance(node_run: NodeRun, provider, outcome: Result | Pending, *,
             submitted: bool = False) -> None:
    if isinstance(outcome, Pending):
        if submitted:  # when the vendor's clock started, kept with its handle (see next_poll)
            outcome = dataclasses.replace(outcome, handle={**outcome.handle,
                                                           SUBMITTED_AT: time.time()})
        poll_in = next_poll(node_run, outcome)
        saved = scheduler.node_run_save_remote(
            node_run, handle=outcome.handle, progress=outcome.progress, poll_in=poll_in,
            attempts=node_run.attempts if submitted else None,
            cache_key=node_run.cache_key if submitted else None)
        if saved:
            dispatch.node_run_schedule("poll", str(node_run.pk), node_run.lease, poll_in)
        else:  # cancelled while we submitted: stop the vendor's job too
            provider.cancel(outcome.handle)
            _release_slot(node_run)
        return
    simulated = provider.simulated or bool(outcome.meta.get("simulated"))
    made, assets = outputs.result_store(node_run, outcome, simulated=simulated)
    node_run_finish(node_run, made=made, output_api=outputs.output_api(made, assets),
                    simulated=simulated, cache_key=node_run.cache_key,
                    usage=outputs.result_usage(outcome))
    # Completing cleared holds_slot; now hand the slot on (even if a cancel beat us to it).
    dispatch.slot_free(node_run.provider, str(node_run.pk))


def next_poll(node_run: NodeRun, pending: Pending) -> float:
    """When to look again. With the vendor's progress, aim just past the expected finish;
    a poll that lands a moment early (progress >= 0.9) looks again shortly, so the aim needs
    no wide margin. Without progress, slow down as the job ages."""
    submitted_at = pending.handle.get(SUBMITTED_AT)
    if isinstance(submitted_at, (int, float)):  # the job's own age: the estimate's base
        elapsed = time.time() - submitted_at
    else:
        elapsed = (timezone.now() - (node_run.started_at or timezone.now())).total_seconds()
    progress = pending.progress
    if progress and 0.05 <= progress < 1 and elapsed > 0:
        remaining = elapsed * (1 - progress) / progress
        soonest = 0.05 if progress >= 0.9 else 0.25
        return min(5.0, max(soonest, remaining + 0.03))
    return min(10.0, max(pending.poll_after, elapsed / 10))


# --- errors ----------------------------------------------------------------------------------

def _backoff(attempt: int, retry_after: float | None) -> float:
    engine = settings.ENGINE
    delay = min(engine["backoff_cap"], engine["backoff_base"] * 2 ** max(0, attempt - 1))
    delay = delay * random.uniform(0.5, 1.0)  # full jitter, so retries do not stampede
    return max(delay, retry_after or 0)


def _on_error(node_run: NodeRun, error: ProviderError, *, phase: str) -> None:
    if error.transient and node_run.attempts < settings.ENGINE["max_attempts"]:
        delay = _backoff(node_run.attempts, error.retry_after)
        if phase == "poll":
            scheduler.node_run_count_attempt(node_run, poll_in=delay)
            dispatch.node_run_schedule("poll", str(node_run.pk), node_run.lease, delay)
        else:
            _release_slot(node_run)
            if scheduler.node_run_requeue(node_run, due_in=delay):
                dispatch.node_run_schedule("run", str(node_run.pk), node_run.lease, delay,
                                           provider=node_run.provider)
        log.info("node run %s: %s; retry %d in %.1fs", node_run.pk, error.message,
                 node_run.attempts, delay)
        return
    if node_run.remote:
        try:
            get_provider(node_run.provider).cancel(node_run.remote)
        except ProviderError:
            pass
    _release_slot(node_run)
    message = error.message
    if error.transient:
        message = f"{message} (gave up after {node_run.attempts} attempts)"
    node_run_fail(node_run, error=message, kind=error.kind)


def _release_slot(node_run: NodeRun) -> None:
    if not node_run.provider:
        return
    scheduler.node_run_drop_slot(node_run)
    dispatch.slot_free(node_run.provider, str(node_run.pk))


def remote_job_cancel(provider_alias: str, handle: dict[str, Any] | None, holder: str) -> None:
    """After a cancel: stop the vendor's job and hand the slot to the next waiting node."""
    if handle:
        try:
            get_provider(provider_alias).cancel(handle)
        except ProviderError as error:
            log.info("cancel of %s job failed: %s", provider_alias, error.message)
    dispatch.slot_forget(provider_alias, holder)


# --- heartbeats ------------------------------------------------------------------------------

class _Heartbeats:
    """One daemon thread per process keeps fresh the heartbeat of every node run that is
    busy in this process (a provider call, local rendering), so the reaper leaves them be.
    Registering is a dict insert: no thread is started per node. A beat that finds the node
    run no longer running under its lease sets the event `beating` yields, which long work
    checks (Job.check_stopped)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.busy: dict[str, tuple[NodeRun, threading.Event]] = {}
        self.pid = 0

    @contextmanager
    def beating(self, node_run: NodeRun):
        stop = threading.Event()
        with self.lock:
            if self.pid != os.getpid():  # first use in this (possibly forked) process
                self.pid, self.busy = os.getpid(), {}
                threading.Thread(target=self._beat_forever, daemon=True,
                                 name="node-heartbeats").start()
            self.busy[str(node_run.pk)] = (node_run, stop)
        try:
            yield stop
        finally:
            with self.lock:
                self.busy.pop(str(node_run.pk), None)

    def _beat_forever(self) -> None:
        every = settings.ENGINE["lost_after"] / 5  # several beats before a node looks lost
        while True:
            time.sleep(every)
            with self.lock:
                busy = list(self.busy.values())
            if not busy:
                continue  # nothing to beat for: no database connection either
            for node_run, stop in busy:
                try:
                    if not scheduler.node_run_heartbeat(node_run):
                        stop.set()
                except Exception:  # noqa: BLE001 - a missed beat is retried next round
                    log.warning("heartbeat of node run %s failed", node_run.pk, exc_info=True)
            try:
                close_old_connections()
            except Exception:  # noqa: BLE001 - the next round opens a new one
                log.warning("heartbeats could not recycle their connection", exc_info=True)


_heartbeats = _Heartbeats()

