"""A new run from a graph: apply per-run inputs, validate, order, price and seed its nodes,
then insert the run and its node runs in one transaction that reserves the credits. Part of
the scheduler: writes and events only; the caller enqueues what is ready after commit.
"""

from __future__ import annotations

import secrets
from typing import Any

import networkx as nx
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Team
from accounts.selectors import Principal
from accounts.services import credits_reserve
from executions import events, outputs
from executions.models import Execution, NodeRun, NodeStatus
from executions.plans import VersionPlan, steps_for
from executions.scheduler import Ready, execution_settle, new_lease
from graph.catalog import catalog
from graph.models import Workflow, WorkflowVersion
from wireflow_site.errors import ApiError

SEED_MAX = 2**32 - 1


def inputs_apply(nodes: list[dict], inputs: dict[str, Any]) -> list[dict]:
    """Per-run values for input nodes: a bare value fills the node's main setting, an object
    is merged into its config. Unknown node ids are refused."""
    by_id = {node["id"]: node for node in nodes
             if isinstance(node, dict) and isinstance(node.get("id"), str)}
    unknown = [node_id for node_id in inputs if node_id not in by_id]
    if unknown:
        raise ApiError(f"Unknown input node: {unknown[0]}", code="invalid_inputs", status=400,
                       nodeId=unknown[0])
    result = []
    for node in nodes:
        if not isinstance(node, dict) or not isinstance(node.get("id"), str) \
                or node["id"] not in inputs:
            result.append(node)
            continue
        value = inputs[node["id"]]
        # Malformed data or config (a draft's) is replaced: validation still names the node.
        data = dict(node["data"]) if isinstance(node.get("data"), dict) else {}
        config = dict(data["config"]) if isinstance(data.get("config"), dict) else {}
        spec = catalog.get(data.get("nodeType"))
        main = spec.settings()[0].id if spec and spec.settings() else "value"
        config.update(value if isinstance(value, dict) else {main: value})
        data["config"] = config
        result.append({**node, "data": data})
    return result


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
    found = NodeRun.objects.filter(
        execution__workflow=workflow, node_id__in=node_ids, seed__isnull=False,
        status__in=(NodeStatus.COMPLETED, NodeStatus.CACHED),
    ).order_by("-finished_at").values_list("node_id", "seed")
    for node_id, seed in found[:500]:
        seeds.setdefault(node_id, seed)
    return seeds


def _needed_by(nodes: list[dict], edges: list[dict],
               target_node_id: str) -> tuple[list[dict], list[dict]]:
    """The target node and every node upstream of it, with the edges among them (entries
    that are not objects belong to no one: the checks of the whole graph report them)."""
    def named(entry: Any, key: str) -> str | None:
        value = entry.get(key) if isinstance(entry, dict) else None
        return value if isinstance(value, str) else None

    ids = {named(node, "id") for node in nodes} - {None}
    if target_node_id not in ids:
        raise ApiError(f"Node {target_node_id} not found", code="node_not_found", status=404)
    graph = nx.DiGraph()
    graph.add_nodes_from(ids)
    graph.add_edges_from((named(e, "source"), named(e, "target")) for e in edges
                         if named(e, "source") in ids and named(e, "target") in ids)
    keep = nx.ancestors(graph, target_node_id) | {target_node_id}
    return ([node for node in nodes if named(node, "id") in keep],
            [e for e in edges if named(e, "target") in keep])


def _instant_outputs(spec, node_run: NodeRun) -> outputs.NodeOutputs | None:
    """The outputs of a node that needs no work (its settings), or None for any other node."""
    if not spec.instant:
        return None
    return spec.handler(outputs.HandlerContext(node_run))


def execution_create(
    *,
    team: Team,
    nodes: list[dict],
    edges: list[dict],
    actor: Principal | None = None,
    workflow: Workflow | None = None,
    version: WorkflowVersion | None = None,
    plan: VersionPlan | None = None,
    trigger: str = Execution.Trigger.API,
    inputs: dict[str, Any] | None = None,
    target_node_id: str | None = None,
    force: bool = False,
    trigger_data: dict[str, Any] | None = None,
    webhook_url: str = "",
    batch=None,
    run_index_in_batch: int | None = None,
) -> tuple[Execution, list[Ready]]:
    """Validate the graph, reserve its price, create the run and its node runs; return the run
    and its ready node runs, to be enqueued once the caller's transaction commits. Instant
    nodes (inputs whose value is their settings) are completed here, in the same transaction.
    With the `plan` of the saved version (`nodes`/`edges` being its graph), what depends only on
    the version is taken from it (executions.plans)."""
    if inputs:
        nodes = inputs_apply(nodes, inputs)
    # "Run to here" checks and prices only the target and what it needs: an unwired node
    # elsewhere on the canvas does not stop it. The run keeps the whole graph as its snapshot.
    needed, needed_edges = _needed_by(nodes, edges, target_node_id) if target_node_id else (
        nodes, edges)
    if plan is not None and not target_node_id:  # the saved version's work, done once
        laid_out = plan.for_run(nodes, edges, inputs)
    else:
        laid_out = steps_for(needed, needed_edges, target_node_id)
    runnable = {step.node_id for step in laid_out.steps}
    price = laid_out.price
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
    if plan is not None:
        execution.workflow_version_id = plan.version_id
    node_runs, instant = [], {}
    for position, step in enumerate(laid_out.steps):
        node_id, spec, config = step.node_id, catalog.get(step.node_type), dict(step.config)
        upstream = list(step.upstream)
        node_run = NodeRun(
            execution=execution,
            node_id=node_id,
            node_type=spec.node_type,
            label=step.label,
            position=position,
            waiting_inputs=sum(1 for source in upstream if source not in instant),
            upstream=upstream,
            config=config,
            seed=_resolve_seed(spec, config, reused.get(node_id)),
            provider=spec.provider or "",
            status=NodeStatus.PENDING,
        )
        made = _instant_outputs(spec, node_run) if not upstream else None
        if made is not None:  # an input whose value is its settings: done already
            node_run.status, node_run.outputs, node_run.progress = NodeStatus.COMPLETED, made, 1.0
            node_run.started_at = node_run.finished_at = now
            node_run.cache_key = outputs.cache_key(node_run, [])
            instant[node_id] = node_run
        elif not node_run.waiting_inputs:
            node_run.status, node_run.lease, node_run.queued_at = (
                NodeStatus.QUEUED, new_lease(), now)
        node_runs.append(node_run)
    # The run's first events (its own, then its instant inputs') are numbered 1..n as it is
    # inserted: a new run needs no UPDATE to number them.
    first = events.numbered(team.pk, 1 + len(instant))
    execution.seq = first.numbers[-1]
    ready = [Ready(str(run.pk), run.lease, run.provider, str(execution.pk)) for run in node_runs
             if run.status == NodeStatus.QUEUED]
    with transaction.atomic():
        execution.save(force_insert=True)
        NodeRun.objects.bulk_create(node_runs)
        _reserve(team, execution, price)
        if workflow is not None:
            Workflow.objects.filter(pk=workflow.pk).update(
                execution_count=F("execution_count") + 1, last_executed_at=now
            )
        events.emit_execution(execution, progress=len(instant) / max(1, len(node_runs)),
                              seqs=first.part(0, 1))
        events.emit_nodes(execution, [(run, outputs.output_api(run.outputs))
                                      for run in instant.values()], first.part(1, len(instant)))
        if not ready:
            execution_settle(execution.pk)
    return execution, ready


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
