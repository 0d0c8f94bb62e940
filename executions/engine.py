"""What a worker does with one node run: resolve inputs, try the cache, call the provider.

A remote job is submitted once, its handle saved, then polled by short tasks scheduled with a
countdown, so waiting holds no worker. Transient errors back off and retry (bounded); anything
else fails the node with the vendor's reason.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from executions import services, slots
from executions.assets import asset_api, asset_from_output, asset_media
from executions.fetch import fetch_image_asset
from executions.models import RUN_SNAPSHOT, Asset, NodeRun, NodeStatus
from executions.providers import Job, Pending, ProviderError, Result, get_provider
from graph.catalog import catalog

log = logging.getLogger(__name__)
NodeOutputs = dict[str, dict[str, Any]]  # port -> {"asset": id} | {"text": str}
# A node run reads its execution's edges and settings, never these (they load if touched).
RUN_UNUSED = tuple(name for name in RUN_SNAPSHOT if name != "edges")
EXECUTION_UNUSED = tuple(f"execution__{name}" for name in RUN_UNUSED)


# --- inputs ----------------------------------------------------------------------------------

def _port(handle: Any, prefix: str) -> str:
    handle = str(handle or "")
    return handle[len(prefix):] if handle.startswith(prefix) else handle


def resolve_inputs(node_run: NodeRun) -> tuple[dict[str, list[Any]], list[str]]:
    """Values on each input port, in edge order, plus the content hashes the cache key uses.
    (The upstream output references themselves are kept on `node_run.input_refs`.)"""
    execution = node_run.execution
    edges = [e for e in execution.edges if e.get("target") == node_run.node_id]
    wanted = {e["source"] for e in edges}
    known = services.known_outputs(execution.pk)  # completed earlier in this very task
    sources: dict[str, dict[str, Any]] = {  # node id -> its outputs
        node_id: known[node_id] for node_id in wanted if node_id in known}
    if wanted - sources.keys():
        sources.update(NodeRun.objects.filter(
            execution=execution, node_id__in=wanted - sources.keys()
        ).values_list("node_id", "outputs"))
    asset_ids = {
        ref["asset"] for outputs in sources.values() for ref in outputs.values() if "asset" in ref
    }
    assets = {str(a.pk): a for a in Asset.objects.filter(pk__in=asset_ids)} if asset_ids else {}
    values: dict[str, list[Any]] = {}
    refs: dict[str, list[dict[str, Any]]] = {}
    hashes: list[str] = []
    node_run.input_refs = refs
    for edge in edges:
        outputs = sources.get(edge["source"])
        if outputs is None:  # upstream not part of this run (a sticky note, or not targeted)
            continue
        ref = outputs.get(_port(edge.get("sourceHandle"), "out-"))
        if ref is None:
            continue
        port = _port(edge.get("targetHandle"), "in-")
        refs.setdefault(port, []).append(ref)
        if "asset" in ref:
            asset = assets[ref["asset"]]
            values.setdefault(port, []).append(asset_media(asset))
            hashes.append(f"{port}:{asset.sha256}")
        else:
            text = str(ref.get("text", ""))
            values.setdefault(port, []).append(text)
            hashes.append(f"{port}:{hashlib.sha256(text.encode()).hexdigest()}")
    return values, hashes


def cache_key(node_run: NodeRun, input_hashes: list[str]) -> str:
    """Node type, model version, settings, seed and the hashes of its inputs."""
    spec = catalog.get(node_run.node_type)
    material = {
        "type": node_run.node_type,
        "model": spec.model if spec else None,
        "version": spec.model_version if spec else None,
        "config": node_run.config,
        "seed": node_run.seed,
        "inputs": input_hashes,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


def _cache_lookup(node_run: NodeRun, key: str) -> NodeRun | None:
    spec = catalog.get(node_run.node_type)
    if not spec.cacheable or node_run.execution.force:
        return None
    random_seed = spec.input("seed") is not None and not isinstance(node_run.config.get("seed"),
                                                                      int)
    targeted_upstream = bool(node_run.execution.target_node_id) and (
        node_run.node_id != node_run.execution.target_node_id)
    if random_seed and not targeted_upstream:
        return None  # a random seed asks for a new result every time
    return (
        NodeRun.objects.filter(
            cache_key=key, status=NodeStatus.COMPLETED,
            execution__team_id=node_run.execution.team_id,
        )
        .exclude(pk=node_run.pk)
        .order_by("-finished_at")
        .first()
    )


# --- outputs ---------------------------------------------------------------------------------

def output_api(outputs: NodeOutputs, known: dict[str, Asset] | None = None) -> dict[str, Any]:
    """The api.md output shape: images, videos and text (`known` assets are not read again)."""
    assets = dict(known or {})
    ids = [ref["asset"] for ref in outputs.values()
           if "asset" in ref and ref["asset"] not in assets]
    if ids:
        assets.update({str(a.pk): a for a in Asset.objects.filter(pk__in=ids)})
    shaped: dict[str, Any] = {"images": [], "videos": [], "text": None}
    for ref in outputs.values():
        if "asset" in ref and ref["asset"] in assets:
            asset = assets[ref["asset"]]
            shaped["images" if asset.kind == Asset.Kind.IMAGE else "videos"].append(
                asset_api(asset)
            )
        elif "text" in ref and shaped["text"] is None:
            shaped["text"] = ref["text"]
    return shaped


def _store_result(node_run: NodeRun, result: Result, *,
                  simulated: bool) -> tuple[NodeOutputs, dict[str, Asset]]:
    """Write a result's files to storage: the outputs by port, and the assets made."""
    outputs: NodeOutputs = {}
    assets: dict[str, Asset] = {}
    for port, value in result.outputs.items():
        if isinstance(value, str):
            outputs[port] = {"text": value}
        else:
            asset = asset_from_output(node_run=node_run, output=value, simulated=simulated)
            outputs[port] = {"asset": str(asset.pk)}
            assets[str(asset.pk)] = asset
    return outputs, assets


# --- built-in nodes: no provider -------------------------------------------------------------

def _input_text(node_run: NodeRun, values: dict[str, list[Any]]) -> NodeOutputs:
    text = str(node_run.config.get("prompt") or "")
    return {"prompt": {"text": text}, "text": {"text": text}}


def _input_image(node_run: NodeRun, values: dict[str, list[Any]]) -> NodeOutputs:
    asset = fetch_image_asset(team=node_run.execution.team, url=node_run.config.get("url"))
    return {"image": {"asset": str(asset.pk)}}


def _router(node_run: NodeRun, values: dict[str, list[Any]]) -> NodeOutputs:
    incoming = node_run.input_refs.get("input")
    if not incoming:
        raise ProviderError("The router has nothing to pass on", kind="invalid")
    return {"output": incoming[0]}


BUILT_IN = {"input:text": _input_text, "input:image": _input_image, "logic:router": _router}
# Nodes whose outputs are their own settings: they complete the moment a run starts, with no
# task, no worker and no wait (an input:image still fetches its URL on a worker).
INSTANT = {"input:text": _input_text}


def instant_outputs(node_run: NodeRun) -> NodeOutputs | None:
    """The outputs of a node that needs no work, or None for any other node."""
    make = INSTANT.get(node_run.node_type)
    return make(node_run, {}) if make is not None else None


# --- the task bodies -------------------------------------------------------------------------

def _job(node_run: NodeRun, values: dict[str, list[Any]]) -> Job:
    spec = catalog.get(node_run.node_type)
    return Job(node_type=node_run.node_type, model=spec.model, config=node_run.config,
               inputs=values, seed=node_run.seed, node_run_id=str(node_run.pk))


class _Heartbeats:
    """One daemon thread per process keeps fresh the heartbeat of every node run that is
    busy in this process (a provider call, local rendering), so the reaper leaves them be.
    Registering is a dict insert: no thread is started per node."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.busy: dict[str, NodeRun] = {}
        self.pid = 0

    @contextmanager
    def beating(self, node_run: NodeRun):
        with self.lock:
            if self.pid != os.getpid():  # first use in this (possibly forked) process
                self.pid, self.busy = os.getpid(), {}
                threading.Thread(target=self._beat_forever, daemon=True,
                                 name="node-heartbeats").start()
            self.busy[str(node_run.pk)] = node_run
        try:
            yield
        finally:
            with self.lock:
                self.busy.pop(str(node_run.pk), None)

    def _beat_forever(self) -> None:
        every = min(10.0, settings.ENGINE["stale_after"] / 4)
        while True:
            time.sleep(every)
            with self.lock:
                busy = list(self.busy.values())
            for node_run in busy:
                try:
                    services.node_heartbeat(node_run)
                except Exception:  # noqa: BLE001 - a missed beat is retried next round
                    log.warning("heartbeat of node run %s failed", node_run.pk, exc_info=True)
            close_old_connections()


_heartbeats = _Heartbeats()


def run_task(body: Callable[[str, str], None], node_run_id: str, lease: str) -> None:
    """A task's body (run or poll a node), then, while `ENGINE["inline_budget"]` seconds last,
    the node it made ready or woke, and so on, in this same task (services.Continuation)."""
    from executions import tasks

    until = time.monotonic() + settings.ENGINE["inline_budget"]
    known: dict[tuple[str, str], dict[str, Any]] = {}  # outputs completed in this task
    runs: dict[str, Any] = {}  # the runs this task loaded, by id
    step, run_id, row = (node_run_id, lease), "", None
    while True:
        continuation = services.Continuation(until=until, known=known, runs=runs,
                                             current_run=run_id, current_row=row)
        try:
            with services.continuing(continuation):
                body(*step)
        except BaseException:
            if continuation.next is not None:  # never strand a node made ready
                tasks.run_node.delay(continuation.next.node_run_id, continuation.next.lease)
            raise
        if continuation.next is None:
            return
        body = run_node
        step, run_id, row = (continuation.next[:2], continuation.next.run_id,
                             continuation.next.row)


def _node_run(node_run_id: str, lease: str, status: str) -> NodeRun | None:
    """The node run under this lease and status, with its run. Next in a task that already
    loaded the run: its own row only."""
    mine = NodeRun.objects.filter(pk=node_run_id, lease=lease, status=status)
    execution = services.current_run()
    if execution is None:
        return _one(mine.select_related("execution").defer(*EXECUTION_UNUSED))
    node_run = services.current_row(node_run_id, lease, status) or _one(mine)
    if node_run is not None:
        node_run.execution = execution
    return node_run


def run_node(node_run_id: str, lease: str) -> None:
    node_run = _node_run(node_run_id, lease, NodeStatus.QUEUED)
    if node_run is None:
        return  # a duplicate delivery, a cancelled run, or an older lease
    provider_alias = node_run.provider
    if provider_alias:
        # The slot is normally taken when the node was enqueued (a no-op here for the holder);
        # a node sent round by the reaper may find the limit reached: it stays QUEUED, in line,
        # and its task ends at once until a freed slot is handed to it.
        if not slot_or_line(provider_alias, node_run_id):
            services.node_wait_for_slot(node_run_id, lease)
            return
    if not services.node_claim(node_run, holds_slot=bool(provider_alias)):
        # A duplicate delivery lost the claim. The slot is per node, so if the winner is
        # running it holds this very slot: leave it. Otherwise nobody uses it: free it.
        if provider_alias and not NodeRun.objects.filter(
                pk=node_run_id, status=NodeStatus.RUNNING).exists():
            _free_slot(provider_alias, node_run_id)
        return
    try:
        _run_claimed(node_run)
    except ProviderError as error:
        _on_error(node_run, error, phase="submit")
    except Exception as error:  # noqa: BLE001 - a bug must fail the node, not wedge the run
        log.exception("node run %s crashed", node_run.pk)
        _release_slot(node_run)
        services.node_fail(node_run, error=f"Internal error: {type(error).__name__}: {error}")


def _run_claimed(node_run: NodeRun) -> None:
    values, hashes = resolve_inputs(node_run)
    key = cache_key(node_run, hashes)
    built_in = BUILT_IN.get(node_run.node_type)
    if built_in is not None:
        outputs = built_in(node_run, values)
        services.node_complete(node_run, outputs=outputs, output_api=output_api(outputs),
                               cache_key=key)
        return
    hit = _cache_lookup(node_run, key)
    if hit is not None:
        _release_slot(node_run)
        services.node_complete(node_run, outputs=hit.outputs, output_api=output_api(hit.outputs),
                               cached_from=hit, simulated=hit.simulated, cache_key=key)
        return
    provider = get_provider(node_run.provider)
    node_run.cache_key = key
    job = _job(node_run, values)
    if node_run.remote:  # resumed after a crash: the vendor already has this job
        NodeRun.objects.filter(pk=node_run.pk).update(cache_key=key)
        _poll(node_run, provider, job)
        return
    node_run.attempts += 1  # saved with the job's handle, or by the requeue after an error
    with _heartbeats.beating(node_run):
        outcome = provider.submit(job)
    _advance(node_run, provider, outcome, submitted=True)


def poll_node(node_run_id: str, lease: str) -> None:
    node_run = _node_run(node_run_id, lease, NodeStatus.RUNNING)
    if node_run is None or not node_run.remote:
        return
    provider = get_provider(node_run.provider)
    try:
        # The inputs went to the vendor with the submit; a poll needs the job's identity only.
        _poll(node_run, provider, _job(node_run, {}))
    except ProviderError as error:
        _on_error(node_run, error, phase="poll")
    except Exception as error:  # noqa: BLE001
        log.exception("poll of node run %s crashed", node_run.pk)
        _release_slot(node_run)
        services.node_fail(node_run, error=f"Internal error: {type(error).__name__}: {error}")


def _one(rows):
    """The single row a pk filter matches, or None (no ORDER BY / LIMIT to compile)."""
    return next(iter(rows.order_by()), None)


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
        saved = services.node_save_remote(
            node_run, handle=outcome.handle, progress=outcome.progress,
            attempts=node_run.attempts if submitted else None,
            cache_key=node_run.cache_key if submitted else None)
        if saved:
            services.schedule("poll", str(node_run.pk), node_run.lease,
                              next_poll(node_run, outcome))
        else:  # cancelled while we submitted: stop the vendor's job too
            provider.cancel(outcome.handle)
            _release_slot(node_run)
        return
    simulated = provider.simulated or bool(outcome.meta.get("simulated"))
    outputs, assets = _store_result(node_run, outcome, simulated=simulated)
    services.node_complete(node_run, outputs=outputs, output_api=output_api(outputs, assets),
                           simulated=simulated, cache_key=node_run.cache_key)
    # Completing cleared holds_slot; now hand the slot on (even if a cancel beat us to it).
    _free_slot(node_run.provider, str(node_run.pk))


# Our own key in a vendor's job handle: when the submit returned. The vendor's clock starts in
# between our claim and that moment, so it times a job's progress better than started_at.
SUBMITTED_AT = "wireflowSubmittedAt"


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


def _backoff(attempt: int, retry_after: float | None) -> float:
    engine = settings.ENGINE
    delay = min(engine["backoff_cap"], engine["backoff_base"] * 2 ** max(0, attempt - 1))
    delay = delay * random.uniform(0.5, 1.0)  # full jitter, so retries do not stampede
    return max(delay, retry_after or 0)


def _on_error(node_run: NodeRun, error: ProviderError, *, phase: str) -> None:
    if error.transient and node_run.attempts < settings.ENGINE["max_attempts"]:
        delay = _backoff(node_run.attempts, error.retry_after)
        if phase == "poll":
            node_run.attempts += 1
            NodeRun.objects.filter(pk=node_run.pk).update(attempts=node_run.attempts)
            services.schedule("poll", str(node_run.pk), node_run.lease, delay)
        else:
            _release_slot(node_run)
            services.node_requeue(node_run, countdown=delay)
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
    services.node_fail(node_run, error=message, kind=error.kind)


def _release_slot(node_run: NodeRun) -> None:
    if not node_run.provider:
        return
    NodeRun.objects.filter(pk=node_run.pk, holds_slot=True).update(holds_slot=False)
    _free_slot(node_run.provider, str(node_run.pk))


def _free_slot(provider_alias: str, holder: str) -> None:
    woken = slots.release(provider_alias, holder)
    if woken:
        wake(provider_alias, woken)


def wake(provider_alias: str, node_run_id: str) -> None:
    """A freed slot was handed to this waiting node: send its task (or, inside a task with time
    to spare, run it next in that task). A node that stopped waiting (cancelled meanwhile)
    passes the slot on to the next in line."""
    row = next(iter(NodeRun.objects.filter(pk=node_run_id, status=NodeStatus.QUEUED)
                    .values_list("lease", "execution_id")), None)
    if row:
        services.nodes_enqueue([services.Ready(node_run_id, row[0], provider_alias, str(row[1]))])
    else:
        _free_slot(provider_alias, node_run_id)


def slot_or_line(provider_alias: str, node_run_id: str) -> bool:
    """Take a slot of the provider for this node (True), or put it in line (False)."""
    return slots.acquire(provider_alias, node_run_id, get_provider(provider_alias).max_concurrency)


def slots_top_up() -> int:
    """The safety net for waiting nodes (the reaper runs it): slots freed without a hand-over
    (a dead holder's lease ran out) go to the next in line."""
    woken = 0
    for alias in settings.PROVIDERS:
        provider = get_provider(alias)
        limit = getattr(provider, "max_concurrency", None)
        if not limit or not slots.waiting(alias):
            continue
        for node_run_id in slots.top_up(alias, limit):
            wake(alias, node_run_id)
            woken += 1
    return woken


def cancel_remote(provider_alias: str, handle: dict[str, Any] | None, holder: str) -> None:
    """After a cancel: stop the vendor's job and hand the slot to the next waiting node."""
    if handle:
        try:
            get_provider(provider_alias).cancel(handle)
        except ProviderError as error:
            log.info("cancel of %s job failed: %s", provider_alias, error.message)
    slots.forget(provider_alias, holder)
    _free_slot(provider_alias, holder)
