"""A new run from a graph: apply per-run inputs, validate, order, price and seed its nodes,
then insert the run and its node runs in one transaction that reserves the credits. Part of
the scheduler: writes and events only; the caller enqueues what is ready after commit.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import networkx as nx
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from accounts.models import Team
from accounts.selectors import Principal
from accounts.services import credits_reserve
from executions import events, outputs, pins, rows
from executions.models import Execution, NodeRun, NodeStatus
from executions.plans import Step, VersionPlan, steps_for
from executions.pricing import estimate
from executions.scheduler import Ready, execution_settle, new_lease
from executions.sizing import known_sizes
from graph import fanout as graph_fanout
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


def iterators_read(raw: Any, nodes: list[dict], edges: list[dict]) -> dict[str, Any]:
    """`iteratorConfigs` of an execute body as per-run inputs: each names a List node and its
    items, `{nodeId: {"items": [...]}}`, `{nodeId: [...]}` or `[{"nodeId", "items"}]`. The
    items replace the List's own (as a JSON array, so an item may hold a line break); a List
    whose items come from a wired node is refused (they would not be used)."""
    if isinstance(raw, list):
        pairs = [(entry.get("nodeId"), entry.get("items", entry.get("values")))
                 if isinstance(entry, dict) else (None, None) for entry in raw]
    elif isinstance(raw, dict):
        pairs = [(node_id, value.get("items", value.get("values"))
                  if isinstance(value, dict) else value) for node_id, value in raw.items()]
    else:
        raise ApiError("iteratorConfigs must be an object keyed by List node id, or a list of "
                       '{"nodeId", "items"}', code="invalid_request", field="iteratorConfigs")
    types = graph_fanout.node_types(nodes)
    result: dict[str, Any] = {}
    for node_id, items in pairs:
        if not isinstance(node_id, str) or node_id not in types:
            raise ApiError(f"iteratorConfigs names no node of this workflow: {node_id!r}",
                           code="invalid_inputs", status=400, nodeId=node_id)
        if types[node_id] != graph_fanout.LIST_NODE:
            raise ApiError(f"iteratorConfigs: node {node_id} is a {types[node_id]}, not a List "
                           f"({graph_fanout.LIST_NODE})", code="invalid_inputs", status=400,
                           nodeId=node_id)
        feeding = next((e.get("source") for e in edges
                        if isinstance(e, dict) and e.get("target") == node_id), None)
        if feeding is not None:
            raise ApiError(f"iteratorConfigs: List {node_id} takes its items from node "
                           f"{feeding}; only a List with no input wired can be given items",
                           code="invalid_inputs", status=400, nodeId=node_id)
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items) \
                or not 1 <= len(items) <= graph_fanout.MAX_ITEMS:
            raise ApiError(f"iteratorConfigs[{node_id}].items must be 1 to "
                           f"{graph_fanout.MAX_ITEMS} strings", code="invalid_inputs",
                           status=400, nodeId=node_id)
        result[node_id] = {"items": json.dumps(items)}
    return result


def _fan_out(steps: tuple[Step, ...], nodes: list[dict], edges: list[dict],
             price: dict[str, Any], pinned: dict[str, NodeRun]) -> dict[str, Any]:
    """The run's fan-out (Execution.fan_out): each List's region, its size if known, one
    item's price and the items the run's reservation covers (all when the size is known, one
    when the list is made during the run)."""
    found, _ = graph_fanout.regions(nodes, edges, only={step.node_id for step in steps})
    if not found:
        return {}
    priced = price.get("fanOut") or {}
    regions = {}
    for source, region in found.items():
        held = sorted(set(pinned) & (region.nodes | {source}))
        if held:
            raise ApiError(f"Node {held[0]} is pinned but List '{source}' fans it out (or is "
                           "it): unpin it, or take it out of the fan-out", code="pinned_in_fan_out",
                           status=422, nodeId=held[0])
        items = (priced.get(source) or {}).get("items")
        regions[source] = {
            "nodes": sorted(region.nodes), "collects": sorted(region.collects), "items": items,
            "itemCredits": (priced.get(source) or {}).get("itemCredits", 0),
            "paidItems": items if items is not None else 1,
        }
    return {"regions": regions}


def _resolve_seed(spec, config: dict[str, Any], reuse: int | None = None) -> int | None:
    """The seed a node runs with: its own, else the seed it reuses (see `_reused_seeds`),
    else a fresh random one."""
    if spec.input("seed") is None:
        return None
    seed = config.get("seed")
    if isinstance(seed, int):
        return seed
    return reuse if reuse is not None else secrets.randbelow(SEED_MAX + 1)


# Runs whose random-seed nodes may carry on from a "Run to here": not webhook and batch runs,
# which ask for new results each time.
REUSING_TRIGGERS = {Execution.Trigger.EDITOR, Execution.Trigger.API, Execution.Trigger.CLI,
                    Execution.Trigger.MCP}
RECENT_RUNS = 50


def _reused_seeds(workflow: Workflow | None, node_ids: set[str],
                  target_node_id: str | None) -> dict[str, int]:
    """Random-seed nodes that keep the seed of an earlier run, so their cached result is reused
    instead of generated (and paid for) again:

    - in a targeted run ("Run to here"), every node upstream of the target keeps the seed of
      its latest successful run;
    - in a whole run, a node whose latest run was part of a targeted run, and succeeded, keeps
      that seed: "Run to here" then "Run" generates nothing twice. After a whole run, the next
      whole run draws new seeds, as a random seed asks.
    """
    if workflow is None or not node_ids:
        return {}
    seeds: dict[str, int] = {}
    done = (NodeStatus.COMPLETED, NodeStatus.CACHED)
    # Only the workflow's latest runs are read (an index range, however long its history): a
    # node none of them ran draws a new seed.
    recent = Execution.objects.filter(team_id=workflow.team_id, workflow=workflow).order_by(
        "-created_at").values("pk")[:RECENT_RUNS]
    runs = NodeRun.objects.filter(execution__in=recent, node_id__in=node_ids,
                                  finished_at__isnull=False)
    if target_node_id:
        found = runs.filter(seed__isnull=False, status__in=done).values_list("node_id", "seed")
        for node_id, seed in found.order_by("-finished_at")[:500]:
            seeds.setdefault(node_id, seed)
        return seeds
    latest: set[str] = set()
    found = runs.values_list("node_id", "seed", "status", "execution__target_node_id")
    for node_id, seed, status, targeted in found.order_by("-finished_at")[:500]:
        if node_id in latest:
            continue
        latest.add(node_id)
        if targeted and status in done and seed is not None:
            seeds[node_id] = seed
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


def _pinned_layout(steps: tuple[Step, ...], pinned: dict[str, NodeRun], nodes: list[dict],
                   edges: list[dict], team: Team) -> tuple[tuple[Step, ...], dict[str, Any]]:
    """The run's steps once pinned nodes wait for nothing and what only fed them is dropped,
    and its price without either (what they feed priced by the size of what they delivered)."""
    successors: dict[str, list[str]] = {step.node_id: [] for step in steps}
    for step in steps:
        for source in step.upstream:
            successors.setdefault(source, []).append(step.node_id)
    dropped = pins.only_feeding(set(pinned), successors)
    kept = tuple(replace(step, upstream=()) if step.node_id in pinned else step
                 for step in steps if step.node_id not in dropped)
    only = {step.node_id for step in kept} - set(pinned)
    return kept, estimate(nodes, only=only, edges=edges,
                          sizes=known_sizes(team.pk, nodes, pinned))


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
    iterators: Any = None,
    app: tuple[Any, str] | None = None,
    activity: Callable[[Execution], Model] | None = None,
) -> tuple[Execution, list[Ready]]:
    """Validate the graph, reserve its price, create the run and its node runs; return the run
    and its ready node runs, to be enqueued once the caller's transaction commits. Instant
    nodes (inputs whose value is their settings) are completed here, in the same transaction.
    With the `plan` of the saved version (`nodes`/`edges` being its graph), what depends only on
    the version is taken from it (executions.plans). `app` is the (id, name) of the client app
    that starts it; `activity(execution)` builds a row (the run's activity line) inserted with
    the run's own."""
    if iterators:  # Wireflow's iteratorConfigs: a List's items for this run
        inputs = {**(inputs or {}), **iterators_read(iterators, nodes, edges)}
    if inputs:
        nodes = inputs_apply(nodes, inputs)
    # "Run to here" checks and prices only the target and what it needs: an unwired node
    # elsewhere on the canvas does not stop it. The run keeps the whole graph as its snapshot.
    needed, needed_edges = _needed_by(nodes, edges, target_node_id) if target_node_id else (
        nodes, edges)
    if plan is not None and not target_node_id:  # the saved version's work, done once
        laid_out = plan.for_run(nodes, edges, inputs)
    else:
        laid_out = steps_for(needed, needed_edges, target_node_id,
                             sizes=known_sizes(team.pk, needed))
    steps, price = laid_out.steps, laid_out.price
    # Pinned nodes take their pinned output; what only fed them is left out of the run.
    by_id = {node["id"]: node for node in needed if isinstance(node, dict)}
    pinned = pins.pinned_sources(team, [by_id[step.node_id] for step in steps])
    if pinned:
        steps, price = _pinned_layout(steps, pinned, needed, needed_edges, team)
    # Only nodes with a random seed can carry one over: none, and nothing is read.
    fan_out = _fan_out(steps, needed, needed_edges, price, pinned)
    random_seeded = {step.node_id for step in steps
                     if catalog.get(step.node_type).input("seed") is not None
                     and not isinstance(step.config.get("seed"), int)}
    reused = {} if batch is not None or trigger not in REUSING_TRIGGERS else _reused_seeds(
        workflow, random_seeded - {target_node_id} - set(pinned), target_node_id)
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
        app_id=app[0] if app else None,
        app_name=app[1][:200] if app else "",
        stale_dependencies=pins.stale_dependencies(nodes, edges, pinned) if pinned else [],
        fan_out=fan_out,
        created_by=actor.user if actor else None,
        api_key=actor.api_key if actor else None,
        created_at=now,
    )
    if plan is not None:
        execution.workflow_version_id = plan.version_id
    # What the quote reserved for each node run (one item's, where a List fans it out): its
    # charge is never more (a node the quote has no line for is free).
    quoted = {line["nodeId"]: line["credits"] // max(1, line.get("iterations") or 1)
              for line in price["breakdown"]}
    node_runs, instant = [], {}
    for position, step in enumerate(steps):
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
            seed_reused=node_id in reused and not isinstance(config.get("seed"), int),
            provider=spec.route(config).provider,  # a vendor setting may pick it
            status=NodeStatus.PENDING,
            credits_quoted=0 if node_id in pinned else quoted.get(node_id, 0),
        )
        made = _instant_outputs(spec, node_run) if not upstream else None
        if node_id in pinned:  # its pinned output, free, without waiting for anything
            source = pinned[node_id]
            node_run.status, node_run.outputs, node_run.progress = (
                NodeStatus.CACHED, source.outputs, 1.0)
            node_run.pinned, node_run.cached_from, node_run.seed = True, source, source.seed
            node_run.cache_key, node_run.simulated = source.cache_key, source.simulated
            node_run.started_at = node_run.finished_at = now
            instant[node_id] = node_run
        elif made is not None:  # an input whose value is its settings: done already
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
    # Converted for the database here too: on SQLite the transaction below holds the one
    # write lock, and every other writer (the workers, the other daphnes) waits for it.
    inserts = [rows.rows_prepared([execution]), rows.rows_prepared(node_runs)]
    if activity is not None:
        inserts.append(rows.rows_prepared([activity(execution)]))
    with transaction.atomic():
        for prepared in inserts:
            rows.rows_write(prepared)
        _reserve(team, execution, price)
        events.emit_execution(execution, progress=len(instant) / max(1, len(node_runs)),
                              seqs=first, nodes=[(run, outputs.output_api(run.outputs))
                                                 for run in instant.values()])
        if not ready:
            execution_settle(execution.pk)
        # Last: on PostgreSQL this UPDATE holds the workflow's row lock until the commit, and
        # every concurrent run of the workflow waits for it (the team's credit row, above, is
        # only touched by priced runs).
        if workflow is not None:
            rows.workflow_run_counted(workflow.pk, now)
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
