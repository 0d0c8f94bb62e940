"""The scheduler's state changes: start a run, finish, fail or skip nodes, cancel, settle.

Every change happens in a transaction that writes the database first; tasks are enqueued and
events sent only on commit. A node becomes ready when the atomic countdown of its waiting
inputs reaches zero, and only the one transaction that moves it PENDING → QUEUED enqueues it.
"""

from __future__ import annotations

import math
import secrets
import time
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple

import networkx as nx
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Team
from accounts.selectors import Principal
from accounts.services import credits_release, credits_reserve
from executions import events, webhooks
from executions.models import (
    Execution,
    ExecutionStatus,
    NodeRun,
    NodeStatus,
)
from executions.pricing import estimate
from graph.catalog import catalog
from graph.models import Workflow, WorkflowVersion
from graph.services import check_graph
from graph.validation import effective_config, topological_order
from wireflow_site.errors import ApiError
from wireflow_site.partial import instance_from_row

SEED_MAX = 2**32 - 1
ACTIVE = (NodeStatus.PENDING, NodeStatus.QUEUED, NodeStatus.RUNNING)


def new_lease() -> str:
    return uuid.uuid4().hex


def _lock_run(execution_id: Any) -> None:
    """Take the run's row lock first in every transaction that changes its node runs, so all of
    them lock in the same order (run, then nodes) and can never deadlock each other. (SQLite
    has no row locks: its write transactions are serial already.) Raw SQL: it runs twice per
    node, and the ORM's version of this one-liner cost twice the statement itself."""
    if connection.features.has_select_for_update:
        with connection.cursor() as cursor:
            cursor.execute(_LOCK_RUN_SQL, [Execution._meta.pk.get_db_prep_value(execution_id,
                                                                               connection)])


_LOCK_RUN_SQL = f"SELECT 1 FROM {Execution._meta.db_table} WHERE id = %s FOR UPDATE"


def apply_inputs(nodes: list[dict], inputs: dict[str, Any]) -> list[dict]:
    """Per-run values for input nodes: a bare value fills the node's main setting, an object
    is merged into its config. Unknown node ids are refused."""
    by_id = {node.get("id"): node for node in nodes if isinstance(node, dict)}
    unknown = [node_id for node_id in inputs if node_id not in by_id]
    if unknown:
        raise ApiError(f"Unknown input node: {unknown[0]}", code="invalid_inputs", status=400,
                       nodeId=unknown[0])
    result = []
    for node in nodes:
        if not isinstance(node, dict) or node.get("id") not in inputs:
            result.append(node)
            continue
        value = inputs[node["id"]]
        data = dict(node.get("data") or {})
        config = dict(data.get("config") or {})
        spec = catalog.get(data.get("nodeType"))
        main = spec.settings()[0].id if spec and spec.settings() else "value"
        config.update(value if isinstance(value, dict) else {main: value})
        data["config"] = config
        result.append({**node, "data": data})
    return result


def ancestors_and_self(nodes: list[dict], edges: list[dict], node_id: str) -> set[str]:
    """The node and everything upstream of it (for pricing a targeted run)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(n.get("id") for n in nodes if isinstance(n, dict))
    graph.add_edges_from((e.get("source"), e.get("target")) for e in edges
                         if isinstance(e, dict))
    if node_id not in graph:
        raise ApiError(f"Node {node_id} not found", code="node_not_found", status=404)
    return nx.ancestors(graph, node_id) | {node_id}


def _resolve_seed(spec, config: dict[str, Any], reuse: int | None = None) -> int | None:
    """The seed a node runs with: its own, else (a targeted re-run's upstream node) the seed of
    its last good run so its cached result is reused, else a fresh random one."""
    if spec.input("seed") is None:
        return None
    seed = config.get("seed")
    if isinstance(seed, int):
        return seed
    return reuse if reuse is not None else secrets.randbelow(SEED_MAX + 1)


def _last_seeds(workflow: Workflow | None, node_ids: set[str]) -> dict[str, int]:
    """Seeds of each node's latest successful run in this workflow."""
    if workflow is None or not node_ids:
        return {}
    seeds: dict[str, int] = {}
    rows = NodeRun.objects.filter(
        execution__workflow=workflow, node_id__in=node_ids, seed__isnull=False,
        status__in=(NodeStatus.COMPLETED, NodeStatus.CACHED),
    ).order_by("-finished_at").values_list("node_id", "seed")
    for node_id, seed in rows[:500]:
        seeds.setdefault(node_id, seed)
    return seeds


def execution_start(
    *,
    team: Team,
    nodes: list[dict],
    edges: list[dict],
    actor: Principal | None = None,
    workflow: Workflow | None = None,
    version: WorkflowVersion | None = None,
    trigger: str = Execution.Trigger.API,
    inputs: dict[str, Any] | None = None,
    target_node_id: str | None = None,
    force: bool = False,
    trigger_data: dict[str, Any] | None = None,
    webhook_url: str = "",
    batch=None,
    run_index_in_batch: int | None = None,
) -> Execution:
    """Validate the graph, create the run and its node runs, and enqueue the ready nodes.
    Input nodes whose value is their settings are completed here, in the same transaction."""
    from executions import engine

    if inputs:
        nodes = apply_inputs(nodes, inputs)
    check_graph(nodes, edges, strict=True)
    specs = {node["id"]: catalog.get(node["data"]["nodeType"]) for node in nodes}
    runnable = {node_id for node_id, spec in specs.items() if spec.executable}
    graph = nx.DiGraph()
    graph.add_nodes_from(runnable)
    graph.add_edges_from(
        (e["source"], e["target"]) for e in edges
        if e["source"] in runnable and e["target"] in runnable
    )
    if target_node_id:
        if target_node_id not in runnable:
            raise ApiError(f"Node {target_node_id} not found", code="node_not_found", status=404)
        runnable = nx.ancestors(graph, target_node_id) | {target_node_id}
        graph = graph.subgraph(runnable).copy()
    order = [n for n in topological_order(nodes, edges) if n in runnable]
    by_id = {node["id"]: node for node in nodes}
    price = estimate(nodes, only=set(runnable))
    # Re-running one node: its upstream nodes keep their last seeds, so unchanged ones are
    # served from the cache instead of being generated (and paid for) again.
    reused = _last_seeds(workflow, set(runnable) - {target_node_id}) if target_node_id else {}
    now = timezone.now()
    # Everything is built before the transaction, which then only writes: on SQLite a write
    # transaction holds the database's one write lock, which the workers wait for.
    execution = Execution(
        credits_estimated=price["estimatedCredits"],
        credits_reserved=price["estimatedCredits"],
        team=team,
        workflow=workflow,
        workflow_version=version,
        nodes=nodes,
        edges=edges,
        trigger=trigger,
        target_node_id=target_node_id or "",
        force=force,
        inputs=inputs or {},
        trigger_data=trigger_data or {},
        webhook_url=webhook_url,
        batch=batch,
        run_index_in_batch=run_index_in_batch,
        created_by=actor.user if actor else None,
        api_key=actor.api_key if actor else None,
        created_at=now,
    )
    runs, instant = [], {}
    for position, node_id in enumerate(order):
        spec = specs[node_id]
        config = effective_config(by_id[node_id], spec)
        upstream = sorted(graph.predecessors(node_id))
        run = NodeRun(
            execution=execution,
            node_id=node_id,
            node_type=spec.node_type,
            label=str((by_id[node_id].get("data") or {}).get("label") or spec.label)[:200],
            position=position,
            waiting_inputs=sum(1 for source in upstream if source not in instant),
            upstream=upstream,
            config=config,
            seed=_resolve_seed(spec, config, reused.get(node_id)),
            provider=spec.provider or "",
            status=NodeStatus.PENDING,
        )
        outputs = engine.instant_outputs(run) if not upstream else None
        if outputs is not None:  # an input whose value is its settings: done already
            run.status, run.outputs, run.progress = NodeStatus.COMPLETED, outputs, 1.0
            run.started_at = run.finished_at = now
            run.cache_key = engine.cache_key(run, [])
            instant[node_id] = run
        elif not run.waiting_inputs:
            run.status, run.lease, run.queued_at = NodeStatus.QUEUED, new_lease(), now
        runs.append(run)
    # The run's first events (its own, then its instant inputs') are numbered 1..n as it is
    # inserted: a new run needs no UPDATE to number them.
    first = events.numbered(team.pk, 1 + len(instant))
    execution.seq = first.numbers[-1]
    ready = [Ready(str(run.pk), run.lease, run.provider, str(execution.pk)) for run in runs
             if run.status == NodeStatus.QUEUED]
    with transaction.atomic():
        execution.save(force_insert=True)
        NodeRun.objects.bulk_create(runs)
        _reserve(team, execution, price)
        if workflow is not None:
            Workflow.objects.filter(pk=workflow.pk).update(
                execution_count=F("execution_count") + 1, last_executed_at=now
            )
        events.emit_execution(execution, progress=len(instant) / max(1, len(runs)),
                              seqs=first.part(0, 1))
        events.emit_nodes(execution, [(run, engine.output_api(run.outputs))
                                      for run in instant.values()], first.part(1, len(instant)))
        transaction.on_commit(lambda: nodes_enqueue(ready))
        if not ready:
            _finish_execution(execution.pk)
    return execution


def _reserve(team: Team, execution: Execution, price: dict[str, Any]) -> None:
    try:
        credits_reserve(team=team, amount=price["estimatedCredits"],
                        reference=f"execution:{execution.pk}")
    except ApiError as error:
        if error.code != "insufficient_credits":
            raise
        error.extra["breakdown"] = [
            {"nodeId": item["nodeId"], "nodeLabel": item["nodeLabel"], "credits": item["credits"]}
            for item in price["breakdown"]
        ]
        raise


def _release_reservation(execution: Execution) -> None:
    """At the end of a run: whatever was held and not charged goes back to the team."""
    unspent = execution.credits_reserved - execution.credits_charged
    if unspent > 0:
        credits_release(team=execution.team, amount=unspent,
                        reference=f"execution:{execution.pk}")


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
                 known: dict[tuple[str, str], dict[str, Any]] | None = None,
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
        """Keep one of `ready` if there is room; return the ones left to send."""
        if self.next is None and ready and time.monotonic() < self.until:
            self.next, ready = ready[0], ready[1:]
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


def known_outputs(execution_id: Any) -> dict[str, dict[str, Any]]:
    """Outputs of nodes of this run that the current task completed (node id -> outputs)."""
    continuation = _continuation.get()
    if continuation is None or not continuation.known:
        return {}
    run = str(execution_id)
    return {node_id: outputs for (run_id, node_id), outputs in continuation.known.items()
            if run_id == run}


def _remember_outputs(node_run: NodeRun, outputs: dict[str, Any]) -> None:
    continuation = _continuation.get()
    if continuation is not None:
        key = (str(node_run.execution_id), node_run.node_id)
        execution = node_run.execution

        def remember() -> None:
            continuation.known[key] = outputs
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


class Ready(NamedTuple):
    """A node run made ready: its id, the lease its task must present, its provider alias and
    the id of its run."""

    node_run_id: str
    lease: str
    provider: str = ""
    run_id: str = ""
    row: NodeRun | None = None  # the node run as it was made ready, when at hand (not sent)


def nodes_enqueue(ready: list[Ready]) -> None:
    """Send ready node runs to the workers; the running task's continuation, if any, may
    keep one to run itself.

    A node of a provider with a concurrency limit takes its slot here or gets in line
    (executions.slots): one that must wait costs no task until a freed slot is handed to it,
    however many are queued behind the limit. Its task takes the slot again (a no-op for the
    holder), which also covers a node re-queued by the reaper."""
    from executions import engine, tasks

    sendable = [node for node in ready
                if not node.provider or engine.slot_or_line(node.provider, node.node_run_id)]
    continuation = _continuation.get()
    if continuation is not None:
        sendable = continuation.offer(sendable)
    for node in sendable:
        tasks.run_node.delay(node.node_run_id, node.lease)


def node_claim(node_run: NodeRun, *, holds_slot: bool = False) -> bool:
    """QUEUED → RUNNING for the task holding the current lease; False for anyone else.

    `node_run` is the row the task read (with its execution); the claim itself is one
    conditional UPDATE, so a stale read can only lose, never claim twice."""
    now = timezone.now()
    execution = node_run.execution
    with transaction.atomic():
        seqs, run_started = _start_numbering(execution.pk, now)
        if not _update_node_run(node_run, NodeStatus.QUEUED, status=NodeStatus.RUNNING,
                                started_at=now, heartbeat_at=now, holds_slot=holds_slot):
            transaction.set_rollback(True)  # no number used, the run not started: undone
            return False
        node_run.status, node_run.started_at, node_run.heartbeat_at = NodeStatus.RUNNING, now, now
        node_run.holds_slot = holds_slot
        events.emit_node(node_run, seqs=seqs.part(0, 1))
        if run_started:
            execution.status, execution.started_at = ExecutionStatus.RUNNING, now
            events.emit_execution(execution, seqs=seqs.part(1, 1))
    return True


def _start_numbering(execution_id: Any, now) -> tuple[events.Seqs, bool]:
    """A claim's first statement: the run's row lock and the number of the node's RUNNING
    event; for the run's first claim also QUEUED → RUNNING and a second number, for the run's
    own event. Says whether the run started here (it has our `now` as its start)."""
    meta = Execution._meta
    when = meta.get_field("started_at").get_db_prep_value(now, connection)
    queued = ExecutionStatus.QUEUED.value
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {meta.db_table} SET "
            f"seq = seq + CASE WHEN status = %s THEN 2 ELSE 1 END, "
            f"started_at = CASE WHEN status = %s THEN %s ELSE started_at END, "
            f"status = CASE WHEN status = %s THEN %s ELSE status END "
            f"WHERE id = %s RETURNING seq, team_id, started_at",
            [queued, queued, when, queued, ExecutionStatus.RUNNING.value,
             meta.pk.get_db_prep_value(execution_id, connection)])
        row = cursor.fetchone()
    started_at = instance_from_row(Execution, [meta.get_field("started_at")], row[2:]).started_at
    count = 2 if started_at == now else 1
    last, team_id = row[0], row[1]
    return events.Seqs(range(last - count + 1, last + 1), (team_id, last)), count == 2


def _update_node_run(node_run: NodeRun, from_status: str, **values: Any) -> bool:
    """One conditional UPDATE of the node run: only under its lease and in `from_status`, so a
    stale task can only lose. Raw SQL with each field's own conversion: it runs twice per node,
    and the ORM spent more compiling this than the database spent running it."""
    meta = NodeRun._meta
    fields = [meta.get_field(name) for name in values]
    assignments = ", ".join(f"{field.column} = %s" for field in fields)
    params = [None if value is None else field.get_db_prep_save(
        value.pk if isinstance(value, NodeRun) else value, connection)
        for field, value in zip(fields, values.values())]
    params += [meta.pk.get_db_prep_value(node_run.pk, connection), node_run.lease, from_status]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {meta.db_table} SET {assignments} "
                       f"WHERE id = %s AND lease = %s AND status = %s", params)
        return cursor.rowcount == 1


def node_wait_for_slot(node_run_id: str, lease: str) -> None:
    """A ready node over its provider's limit stays QUEUED, in the provider's line, with no
    task: a freed slot is handed to it and wakes it (executions.slots). Its queued_at is
    refreshed so the reaper leaves it be; if it waits longer than stale_after the reaper
    sends it round again, which only confirms its place in line."""
    NodeRun.objects.filter(pk=node_run_id, lease=lease, status=NodeStatus.QUEUED).update(
        queued_at=timezone.now()
    )


def node_requeue(node_run: NodeRun, *, countdown: float, task: str = "run") -> None:
    """Put a running node back in line (waiting for a slot, or backing off) under its lease."""
    if task == "run":
        updated = NodeRun.objects.filter(
            pk=node_run.pk, lease=node_run.lease, status=NodeStatus.RUNNING
        ).update(status=NodeStatus.QUEUED, queued_at=timezone.now(), attempts=node_run.attempts)
        if not updated:
            return
    schedule(task, str(node_run.pk), node_run.lease, countdown)


def schedule(task: str, node_run_id: str, lease: str, countdown: float) -> None:
    from executions import tasks

    entry = tasks.run_node if task == "run" else tasks.poll_node
    transaction.on_commit(
        lambda: entry.apply_async((node_run_id, lease), countdown=max(0.0, countdown))
    )


def node_save_remote(node_run: NodeRun, *, handle: dict[str, Any], progress: float | None,
                     attempts: int | None = None, cache_key: str | None = None) -> bool:
    """Record the vendor's job handle the moment we have it, so nothing submits it again (and,
    after a submit, the attempt count and cache key). A poll that changes no visible progress
    is a single UPDATE; one that does also numbers and sends its event."""
    fields: dict[str, Any] = {"remote": handle, "heartbeat_at": timezone.now()}
    if progress is not None:
        fields["progress"] = max(0.0, min(1.0, progress))
    if attempts is not None:
        fields["attempts"] = attempts
    if cache_key is not None:
        fields["cache_key"] = cache_key
    if progress is None or abs(progress - node_run.progress) < 0.05:
        updated = _update_node_run(node_run, NodeStatus.RUNNING, **fields)
    else:
        with transaction.atomic():
            seqs = events.reserve(node_run.execution_id, 1)  # the run's lock; the event's number
            updated = _update_node_run(node_run, NodeStatus.RUNNING, **fields)
            if updated:
                node_run.progress = fields["progress"]
                events.emit_node(node_run, seqs=seqs)
            else:
                transaction.set_rollback(True)
    node_run.remote = handle
    return bool(updated)


def node_complete(
    node_run: NodeRun, *, outputs: dict[str, Any], output_api: dict[str, Any],
    cached_from: NodeRun | None = None, simulated: bool = False, cache_key: str = "",
) -> bool:
    """RUNNING → COMPLETED (or CACHED), then count down the successors and enqueue the ready."""
    spec = catalog.get(node_run.node_type)
    charged = 0
    if cached_from is None and spec is not None and spec.provider:
        charged = math.ceil(spec.credits(node_run.config) or 0)
    status = NodeStatus.CACHED if cached_from is not None else NodeStatus.COMPLETED
    now = timezone.now()
    with transaction.atomic():
        # The run's lock, this event's number and the run's totals, in one statement (a lost
        # claim below rolls it all back).
        seqs = events.reserve(node_run.execution_id, 1, charge=charged, simulated=simulated)
        if not _update_node_run(
            node_run, NodeStatus.RUNNING,
            status=status, outputs=outputs, progress=1.0, finished_at=now, heartbeat_at=now,
            credits=charged, cached_from=cached_from, simulated=simulated, remote=None,
            holds_slot=False, cache_key=cache_key,
        ):
            transaction.set_rollback(True)
            return False
        node_run.status, node_run.progress, node_run.credits = status, 1.0, charged
        node_run.outputs, node_run.finished_at = outputs, now
        _remember_outputs(node_run, outputs)
        ready = _release_successors(node_run)
        if ready:
            seqs = seqs.then(events.reserve(node_run.execution_id, len(ready)))
        events.emit_nodes(node_run.execution,
                          [(node_run, output_api)] + [(run, None) for run in ready], seqs)
        if ready:
            transaction.on_commit(
                lambda: nodes_enqueue([Ready(str(r.pk), r.lease, r.provider, str(r.execution_id), r)
                                       for r in ready]))
        else:
            _finish_execution(node_run.execution_id)
    return True


def _release_successors(node_run: NodeRun) -> list[NodeRun]:
    """Count down the successors' waiting inputs and move those that reach zero PENDING →
    QUEUED under a fresh lease. Returns the node runs that became ready, in topological
    order; the caller enqueues them on commit.

    One UPDATE … RETURNING does it all (every right-hand side reads the old row), which the
    ORM cannot express; it runs once per finished node, the engine's hottest statement.
    PostgreSQL and SQLite ≥ 3.35 both speak it."""
    successors = _successors(node_run)
    if not successors:
        return []
    lease, now = new_lease(), timezone.now()
    meta = NodeRun._meta
    column = {name: meta.get_field(name).column for name in (
        "execution", "node_id", "status", "waiting_inputs", "lease", "queued_at")}
    last_input = f"({column['status']} = %s AND {column['waiting_inputs']} = 1)"
    placeholders = ", ".join(["%s"] * len(successors))
    # The whole row comes back: a ready node run next in this task needs no SELECT.
    fields = list(meta.concrete_fields)
    sql = (
        f"UPDATE {meta.db_table} SET "
        f"{column['waiting_inputs']} = {column['waiting_inputs']} - 1, "
        f"{column['status']} = CASE WHEN {last_input} THEN %s ELSE {column['status']} END, "
        f"{column['lease']} = CASE WHEN {last_input} THEN %s ELSE {column['lease']} END, "
        f"{column['queued_at']} = CASE WHEN {last_input} THEN %s "
        f"ELSE {column['queued_at']} END "
        f"WHERE {column['execution']} = %s AND {column['node_id']} IN ({placeholders}) "
        f"RETURNING {', '.join(field.column for field in fields)}"
    )
    pending = NodeStatus.PENDING.value
    params = [
        pending, NodeStatus.QUEUED.value,
        pending, lease,
        pending, meta.get_field("queued_at").get_db_prep_value(now, connection),
        meta.get_field("execution").target_field.get_db_prep_value(node_run.execution_id,
                                                                   connection),
        *successors,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    ready = [run for run in (instance_from_row(NodeRun, fields, row) for row in rows)
             if run.status == NodeStatus.QUEUED and run.lease == lease]
    return sorted(ready, key=lambda run: run.position)


def _successors(node_run: NodeRun) -> list[str]:
    """Targets of this node's edges in the run's graph snapshot (a target that is not part of
    the run, e.g. outside a targetNodeId's ancestry, simply matches no row below)."""
    edges = node_run.execution.edges
    return sorted({e["target"] for e in edges if e.get("source") == node_run.node_id})


def node_fail(node_run: NodeRun, *, error: str, kind: str = "failed") -> bool:
    """RUNNING → FAILED with the reason; every node downstream of it is SKIPPED."""
    now = timezone.now()
    with transaction.atomic():
        _lock_run(node_run.execution_id)
        updated = NodeRun.objects.filter(
            pk=node_run.pk, lease=node_run.lease, status=NodeStatus.RUNNING
        ).update(status=NodeStatus.FAILED, error=error[:4000], error_kind=kind, finished_at=now,
                 heartbeat_at=now, remote=None, holds_slot=False)
        if not updated:
            return False
        node_run.status, node_run.error, node_run.finished_at = NodeStatus.FAILED, error, now
        events.emit_node(node_run)
        Execution.objects.filter(pk=node_run.execution_id, error="").update(
            error=f"{node_run.label or node_run.node_id}: {error}"[:4000],
            error_node_id=node_run.node_id,
        )
        _skip_descendants(node_run)
        _finish_execution(node_run.execution_id)
    return True


def _skip_descendants(node_run: NodeRun) -> None:
    rows = list(NodeRun.objects.filter(execution_id=node_run.execution_id).values_list(
        "node_id", "upstream"
    ))
    graph = nx.DiGraph()
    for node_id, upstream in rows:
        graph.add_node(node_id)
        graph.add_edges_from((source, node_id) for source in upstream)
    below = nx.descendants(graph, node_run.node_id)
    skipped = NodeRun.objects.select_related("execution").filter(
        execution_id=node_run.execution_id, node_id__in=below,
        status__in=(NodeStatus.PENDING, NodeStatus.QUEUED),
    )
    for run in skipped:
        if NodeRun.objects.filter(pk=run.pk, status=run.status).update(
            status=NodeStatus.SKIPPED, finished_at=timezone.now(),
            error=f"Skipped: upstream node {node_run.node_id} failed",
        ):
            run.status = NodeStatus.SKIPPED
            run.error = f"Skipped: upstream node {node_run.node_id} failed"
            events.emit_node(run)


def _finish_execution(execution_id: Any) -> None:
    """Settle the run once no node is left to run: COMPLETED, or FAILED if any node failed."""
    execution = _settle_run(execution_id)
    if execution is not None:
        _release_reservation(execution)
        events.emit_execution(execution, progress=1.0, seqs=execution.settled_seqs)
        webhooks.deliveries_create(execution)


# What settling a run reads back from its row: its totals, where to report, and the rest of
# what its status event says. Other fields of the returned run load if read.
_SETTLED = ("id", "team_id", "workflow_id", "status", "error", "started_at", "finished_at",
            "credits_reserved", "credits_charged", "webhook_url", "seq")


def _settle_run(execution_id: Any) -> Execution | None:
    """QUEUED/RUNNING → COMPLETED, or FAILED if a node failed, once none of its node runs is
    left to run; one UPDATE … RETURNING that also numbers the event. None while nodes are left
    (or the run was settled already). The returned run carries `settled_seqs`."""
    meta, now = Execution._meta, timezone.now()
    runs = NodeRun._meta
    columns = [meta.get_field(name).column for name in _SETTLED]
    when = meta.get_field("finished_at").get_db_prep_value(now, connection)
    pk = meta.pk.get_db_prep_value(execution_id, connection)
    node_status, of_run = runs.get_field("status").column, runs.get_field("execution").column
    active = ", ".join(["%s"] * len(ACTIVE))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {meta.db_table} SET status = CASE WHEN EXISTS (SELECT 1 FROM "
            f"{runs.db_table} WHERE {of_run} = %s AND {node_status} = %s) THEN %s ELSE %s END, "
            f"finished_at = %s, started_at = COALESCE(started_at, %s), seq = seq + 1 "
            f"WHERE id = %s AND status IN (%s, %s) AND NOT EXISTS (SELECT 1 FROM "
            f"{runs.db_table} WHERE {of_run} = %s AND {node_status} IN ({active})) "
            f"RETURNING {', '.join(columns)}",
            [pk, NodeStatus.FAILED.value, ExecutionStatus.FAILED.value,
             ExecutionStatus.COMPLETED.value, when, when, pk, ExecutionStatus.QUEUED.value,
             ExecutionStatus.RUNNING.value, pk, *(s.value for s in ACTIVE)])
        row = cursor.fetchone()
    if row is None:
        return None
    execution = instance_from_row(Execution, [meta.get_field(name) for name in _SETTLED], row)
    execution.settled_seqs = events.Seqs(range(execution.seq, execution.seq + 1),
                                         (execution.team_id, execution.seq))
    return execution


def execution_cancel(*, execution: Execution) -> Execution:
    """Stop a run: queued and running nodes are CANCELLED and remote jobs asked to stop."""
    from executions import tasks

    now = timezone.now()
    with transaction.atomic():
        _lock_run(execution.pk)
        if not Execution.objects.filter(
            pk=execution.pk, status__in=(ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)
        ).update(status=ExecutionStatus.CANCELLED, finished_at=now):
            execution.refresh_from_db()
            return execution
        execution.refresh_from_db()
        _release_reservation(execution)
        active = list(NodeRun.objects.select_related("execution").filter(
            execution=execution, status__in=ACTIVE
        ))
        for run in active:
            if not NodeRun.objects.filter(pk=run.pk, status=run.status).update(
                status=NodeStatus.CANCELLED, finished_at=now, lease=new_lease(), remote=None,
                holds_slot=False,
            ):
                continue
            if run.provider:  # running, holding a slot, handed one, or in line
                remote, provider, holder = run.remote, run.provider, str(run.pk)
                transaction.on_commit(
                    lambda r=remote, p=provider, h=holder: tasks.cancel_remote.delay(p, r, h)
                )
            run.status = NodeStatus.CANCELLED
            events.emit_node(run)
        events.emit_execution(execution)
        webhooks.deliveries_create(execution)
    return execution


def node_heartbeat(node_run: NodeRun) -> None:
    NodeRun.objects.filter(pk=node_run.pk, lease=node_run.lease).update(
        heartbeat_at=timezone.now()
    )


def reap_stale(*, stale_after: float) -> int:
    """Re-queue node runs whose worker went quiet; a remote job is polled, never re-submitted."""
    cutoff = timezone.now() - timezone.timedelta(seconds=stale_after)
    count = 0
    # One table per statement (no joins): cheap, and never a lock-order deadlock with DDL.
    live = list(Execution.objects.filter(
        status__in=(ExecutionStatus.QUEUED, ExecutionStatus.RUNNING)
    ).values_list("pk", flat=True))
    stale = NodeRun.objects.filter(
        Q(status=NodeStatus.RUNNING, heartbeat_at__lt=cutoff)
        | Q(status=NodeStatus.QUEUED, queued_at__lt=cutoff),
        execution_id__in=live,
    ).values_list("pk", "status", "lease", "remote")
    for pk, status, lease, remote in stale:
        fresh = new_lease()
        now = timezone.now()
        with transaction.atomic():
            if status == NodeStatus.RUNNING and remote:
                moved = NodeRun.objects.filter(pk=pk, lease=lease, status=status).update(
                    lease=fresh, heartbeat_at=now
                )
                task = "poll"
            else:
                moved = NodeRun.objects.filter(pk=pk, lease=lease, status=status).update(
                    lease=fresh, status=NodeStatus.QUEUED, queued_at=now
                )
                task = "run"
            if moved:
                schedule(task, str(pk), fresh, 0)
                count += 1
    return count


