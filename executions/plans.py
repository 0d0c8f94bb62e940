"""The accept work that depends only on a workflow version, done once per version.

Validating the graph, ordering it, pricing it and laying out its node runs give the same answer
for every run of one saved version, so a `VersionPlan` holds them: the planner
(executions.planner.execution_create) then does only a run's own work (apply its inputs,
re-checking just the values they change; seeds; the rows). A plan is kept in this process
(a small LRU) and in Redis, under the version's key (workflow id, version number) and a
fingerprint of the node catalog, for a day. Versions are never changed once written and every
save writes a new one, so a save makes a new key: nothing is ever invalidated by hand. A plan
also records the workflow's `updated_at` it was made from; a workflow whose row says otherwise
(its graph changed without a version) gets a new plan.

The price reads the sizes of the team's own files the version's Image Inputs name (they never
change: a file's name is never reused); the plan keeps them (`image_pixels`), so a run whose
inputs name another image is priced again with that image's size looked up, and one that does
not change an image reads nothing.

Only valid graphs get a plan: an invalid one keeps taking the full path, which answers its 422.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

import networkx as nx
import redis

from executions.pricing import NO_SIZES, KnownSizes, estimate
from executions.sizing import known_sizes
from graph.catalog import catalog
from graph.catalog.inputs import TEXT_INPUT
from graph.catalog.values import check_setting, is_empty
from graph.models import Workflow, WorkflowVersion
from graph.services import check_graph
from graph.validation import effective_config, topological_order
from wireflow_site.errors import ApiError
from wireflow_site.redis_client import client

log = logging.getLogger(__name__)

# Bump when what a plan holds, or how it is computed, changes: old plans are then never read.
PLAN_FORMAT = 4  # 4: references quoted per image an upstream node makes
LIFETIME = 24 * 3600
LOCAL_MAX = 512


@dataclass(frozen=True)
class Step:
    """One node run a run of the graph creates, as far as the graph alone decides it."""

    node_id: str
    node_type: str
    label: str
    upstream: tuple[str, ...]
    config: dict[str, Any]


@dataclass(frozen=True)
class Steps:
    """A checked graph, laid out: its node runs in topological order, and its price."""

    steps: tuple[Step, ...]
    price: dict[str, Any]


def steps_for(nodes: list[dict], edges: list[dict], target_node_id: str | None = None,
              sizes: KnownSizes = NO_SIZES) -> Steps:
    """Check (422 on any violation), order and price a graph, or the part of it a targeted
    run needs (`nodes`/`edges` already cut to the target's ancestors by the caller), with the
    input image sizes known before the run (`sizes`, executions.sizing)."""
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
    steps = []
    for node_id in order:
        spec = specs[node_id]
        steps.append(Step(
            node_id=node_id, node_type=spec.node_type,
            label=str((by_id[node_id].get("data") or {}).get("label") or spec.label)[:200],
            upstream=tuple(sorted(graph.predecessors(node_id))),
            config=effective_config(by_id[node_id], spec),
        ))
    return Steps(tuple(steps), estimate(nodes, only=set(runnable), edges=edges, sizes=sizes))


@dataclass(frozen=True)
class VersionPlan:
    """`Steps` of one saved version, and what a run with inputs needs to reuse them."""

    workflow_id: str
    version_number: int
    version_id: int
    updated_at: str
    steps: tuple[Step, ...]
    price: dict[str, Any]
    input_node_ids: frozenset[str]
    team_id: int
    # The pixels of the team's files the version's Image Inputs name, by URL (see the module).
    image_pixels: dict[str, int]

    def for_run(self, nodes: list[dict], edges: list[dict],
                inputs: dict[str, Any] | None) -> Steps:
        """This run's steps: the version's, with the nodes its inputs changed (already applied
        to `nodes`) re-read. Only the changed values are checked; one that might not pass sends
        the whole graph through validation, which answers exactly as an uncached run would.
        Inputs are priced again, an image they name at its size (looked up unless the plan
        knows it)."""
        if not inputs:
            return Steps(self.steps, self.price)
        changed = set(inputs)
        by_id = {node["id"]: node for node in nodes
                 if isinstance(node, dict) and node.get("id") in changed}
        sizes = known_sizes(self.team_id, nodes, known=self.image_pixels)
        if not all(_inputs_pass(by_id[node_id], inputs[node_id]) for node_id in changed):
            check_graph(nodes, edges, strict=True)  # the 422 of an uncached run
            return steps_for(nodes, edges, sizes=sizes)  # over-cautious: the graph is fine
        steps = tuple(
            Step(step.node_id, step.node_type, step.label, step.upstream,
                 effective_config(by_id[step.node_id], catalog.get(step.node_type)))
            if step.node_id in changed else step
            for step in self.steps)
        # Inputs can change what downstream nodes cost (sizes, counts): priced again (no graph
        # work, a pass over the nodes).
        return Steps(steps, estimate(nodes, only={s.node_id for s in self.steps}, edges=edges,
                                     sizes=sizes))

    def to_json(self) -> str:
        body = asdict(self)
        body["input_node_ids"] = sorted(self.input_node_ids)
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> VersionPlan:
        body = json.loads(text)
        body["steps"] = tuple(Step(**{**step, "upstream": tuple(step["upstream"])})
                              for step in body["steps"])
        body["input_node_ids"] = frozenset(body["input_node_ids"])
        return cls(**body)


def _inputs_pass(node: dict, value: Any) -> bool:
    """Whether the settings a run's input sets on this node pass the checks validation would
    make of them, so the graph that was valid stays valid. False for anything this cannot
    tell (a node-wide check, a size rule, blank text that a downstream node would refuse)."""
    spec = catalog.get((node.get("data") or {}).get("nodeType"))
    if spec is None or spec.check_config is not None:
        return False
    config = effective_config(node, spec)
    main = spec.settings()[0].id if spec.settings() else "value"
    values = value if isinstance(value, dict) else {main: value}
    sized = set(spec.size_rule.inputs()) if spec.size_rule else set()
    inline = {port.id for port in spec.ports() if port.inline}
    for key in values:
        setting = spec.input(key)
        if key in sized:
            return False
        if key in inline:
            if values[key] is not None and not isinstance(values[key], str):
                return False
            continue
        if setting is None or setting.is_port:
            continue  # validation only warns of an unknown setting; the run ignores it
        if setting.required and is_empty(config.get(key)):
            return False
        if key in config and check_setting(setting, config[key]) is not None:
            return False
        if spec.node_type == TEXT_INPUT.node_type and key == "prompt":
            text = config.get("prompt")
            if text is None or (isinstance(text, str) and not text.strip()):
                return False  # blank text: the node it feeds may refuse it
    return True


@cache
def catalog_fingerprint() -> str:
    """Changes whenever a node type's declaration does (a deploy that changes the catalog)."""
    described = [[spec.to_api(), spec.model_version] for spec in catalog.all()]
    material = json.dumps([PLAN_FORMAT, described], sort_keys=True, default=str)
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def plan_key(workflow_id: Any, version_number: int) -> str:
    return f"wireflow:plan:{catalog_fingerprint()}:{workflow_id}:v{version_number}"


_local: OrderedDict[str, VersionPlan] = OrderedDict()
_local_lock = threading.Lock()


def _remember(key: str, plan: VersionPlan) -> None:
    with _local_lock:
        _local[key] = plan
        _local.move_to_end(key)
        while len(_local) > LOCAL_MAX:
            _local.popitem(last=False)


def _recall(key: str) -> VersionPlan | None:
    with _local_lock:
        plan = _local.get(key)
        if plan is not None:
            _local.move_to_end(key)
        return plan


def forget_local() -> None:
    """Empty this process's plans (tests)."""
    with _local_lock:
        _local.clear()


def version_plan(workflow: Workflow) -> VersionPlan | None:
    """The plan of the workflow's saved graph (its latest version), made on first use; None
    when the graph is not valid (its run takes the full path and answers the 422) or it has
    no version."""
    if not workflow.version:
        return None
    key = plan_key(workflow.pk, workflow.version)
    updated_at = workflow.updated_at.isoformat()
    plan = _recall(key)
    if plan is None:
        try:
            stored = client().get(key)
        except redis.RedisError:  # the cache is an optimisation: work it out instead
            stored = None
        if stored is not None:
            plan = VersionPlan.from_json(stored)
            _remember(key, plan)
    if plan is not None and plan.updated_at == updated_at:
        return plan
    plan = _make(workflow, updated_at)
    if plan is not None:
        _remember(key, plan)
        try:
            client().set(key, plan.to_json(), ex=LIFETIME)
        except redis.RedisError as error:
            log.warning("version plan not stored in Redis: %s", error)
    return plan


def _make(workflow: Workflow, updated_at: str) -> VersionPlan | None:
    version = (WorkflowVersion.objects.filter(workflow=workflow).order_by("-number")
               .values_list("id", "number").first())
    if version is None or version[1] != workflow.version:
        return None
    sizes = known_sizes(workflow.team_id, workflow.nodes)
    try:
        laid_out = steps_for(workflow.nodes, workflow.edges, sizes=sizes)
    except ApiError:
        return None
    input_ids = frozenset(
        node["id"] for node in workflow.nodes
        if (spec := catalog.get(node["data"]["nodeType"])) is not None and spec.category == "input")
    return VersionPlan(
        workflow_id=str(workflow.pk), version_number=version[1], version_id=version[0],
        updated_at=updated_at, steps=laid_out.steps, price=laid_out.price,
        input_node_ids=input_ids, team_id=workflow.team_id, image_pixels=dict(sizes.urls))
