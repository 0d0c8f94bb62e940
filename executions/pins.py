"""Pinned outputs: a node whose `data.pinned` names one of its earlier node runs is not run
again. Every later run takes that output as the node's own (CACHED, 0 credits) until the pin is
removed, and the nodes that only fed pinned nodes are left out of the run (nothing would read
what they made). A pin whose node or upstream graph has changed since the pinned run is still
used — the designer asked for that output — but the run reports it in `staleDependencies`.

A pin is `data.pinned = {"executionId": "<id>"}` in the workflow's definition — the output this
node made in that run — set by the editor's "Pin output" or `PATCH /workflows/{id}/nodes/{nodeId}`
with `{"pinned": {"executionId": ...}}` (null unpins).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import Q

from accounts.models import Team
from executions.models import NodeRun, NodeStatus
from graph.catalog import catalog
from graph.validation import effective_config
from wireflow_site.errors import ApiError


def pin_of(node: Any) -> str | None:
    """The id of the run whose output a node is pinned to, or None. A malformed pin is
    refused."""
    data = node.get("data") if isinstance(node, dict) else None
    pinned = data.get("pinned") if isinstance(data, dict) else None
    if pinned in (None, False):
        return None
    run_id = pinned.get("executionId") if isinstance(pinned, dict) else None
    try:
        return str(uuid.UUID(str(run_id))) if isinstance(run_id, str) else _malformed(node)
    except ValueError:
        return _malformed(node)


def _malformed(node: dict) -> None:
    raise ApiError(f"Node {node.get('id')}: data.pinned must be {{\"executionId\": \"<id>\"}} "
                   "or null", code="invalid_pin", status=422, nodeId=node.get("id"))


def pinned_sources(team: Team, nodes: Iterable[dict]) -> dict[str, NodeRun]:
    """{node id: its node run in the execution it is pinned to} for the pinned executable nodes
    among `nodes`. A pin to a run that is gone, where the node failed or was of another type,
    or of another team, is refused with the node named: the run would otherwise silently do
    something else."""
    wanted: dict[str, tuple[str, dict]] = {}
    for node in nodes:
        spec = catalog.get((node.get("data") or {}).get("nodeType"))
        execution_id = pin_of(node)
        if execution_id is not None and spec is not None and spec.executable and not spec.instant:
            wanted[node["id"]] = (execution_id, node)
    if not wanted:
        return {}
    match = Q()
    for node_id, (execution_id, _) in wanted.items():
        match |= Q(execution_id=execution_id, node_id=node_id)
    found = {
        (str(run.execution_id), run.node_id): run for run in NodeRun.objects.filter(
            match, execution__team=team, status__in=(NodeStatus.COMPLETED, NodeStatus.CACHED),
        ).select_related("execution")
    }
    sources = {}
    for node_id, (execution_id, node) in wanted.items():
        run = found.get((execution_id, node_id))
        if run is None or run.node_type != node["data"]["nodeType"]:
            raise ApiError(
                f"Node {node_id} is pinned to the output of run {execution_id}, which it did not "
                "make or which no longer exists; unpin it to run it again",
                code="pinned_output_missing", status=422, nodeId=node_id,
                executionId=execution_id)
        sources[node_id] = run
    return sources


def only_feeding(pinned: set[str], successors: dict[str, list[str]]) -> set[str]:
    """Nodes whose every path downstream ends in a pinned node: nothing reads their output."""
    verdict: dict[str, bool] = {}

    def feeds_only_pins(node_id: str, trail: frozenset[str]) -> bool:
        if node_id in verdict:
            return verdict[node_id]
        after = successors.get(node_id, [])
        result = bool(after) and all(
            child in pinned or (child not in trail
                                and feeds_only_pins(child, trail | {child}))
            for child in after)
        verdict[node_id] = result
        return result

    return {node_id for node_id in successors
            if node_id not in pinned and feeds_only_pins(node_id, frozenset({node_id}))}


# --- staleness -------------------------------------------------------------------------------

def _own_material(node: dict) -> str | None:
    """What a node is, apart from its inputs: type, settings (a random seed is no setting)."""
    data = node.get("data") if isinstance(node, dict) else None
    spec = catalog.get(data.get("nodeType")) if isinstance(data, dict) else None
    if spec is None:
        return None
    config = effective_config(node, spec)
    if not isinstance(config.get("seed"), int):
        config.pop("seed", None)
    return json.dumps({"type": spec.node_type, "config": config}, sort_keys=True, default=str)


class _Graph:
    def __init__(self, nodes: list[dict], edges: list[dict]) -> None:
        self.nodes = {n["id"]: n for n in nodes if isinstance(n, dict)
                      and isinstance(n.get("id"), str)}
        self.inputs: dict[str, list[tuple[str, str, str]]] = {}
        for edge in edges:
            if isinstance(edge, dict) and edge.get("target") in self.nodes:
                self.inputs.setdefault(edge["target"], []).append(
                    (str(edge.get("targetHandle")), str(edge.get("sourceHandle")),
                     str(edge.get("source"))))
        self._hashes: dict[str, str] = {}

    def signature(self, node_id: str, trail: frozenset[str] = frozenset()) -> str:
        """A Merkle hash of the node and everything upstream of it."""
        if node_id in self._hashes:
            return self._hashes[node_id]
        own = _own_material(self.nodes[node_id]) if node_id in self.nodes else None
        wires = sorted(
            (port, handle, self.signature(source, trail | {node_id})
             if source not in trail else "cycle")
            for port, handle, source in self.inputs.get(node_id, []))
        digest = hashlib.sha256(json.dumps([own, wires]).encode()).hexdigest()
        self._hashes[node_id] = digest
        return digest

    def upstream(self, node_id: str) -> set[str]:
        seen, todo = set(), [node_id]
        while todo:
            for _, _, source in self.inputs.get(todo.pop(), []):
                if source not in seen:
                    seen.add(source)
                    todo.append(source)
        return seen - {node_id}


def stale_dependencies(nodes: list[dict], edges: list[dict],
                       pinned: dict[str, NodeRun]) -> list[dict[str, Any]]:
    """Each pinned node whose settings or upstream graph differ from the run its output was
    pinned from: `{"nodeId", "nodeLabel", "reason": "pinned_output_outdated", "pinnedFrom":
    {"executionId"}, "changedNodes": [...], "message"}`."""
    now = _Graph(nodes, edges)
    stale = []
    then_by_execution: dict[Any, _Graph] = {}
    for node_id, source in sorted(pinned.items()):
        execution = source.execution
        then = then_by_execution.setdefault(
            execution.pk, _Graph(execution.nodes or [], execution.edges or []))
        if source.node_id in then.nodes and then.signature(source.node_id) == now.signature(
                node_id):
            continue
        ids = now.upstream(node_id) | {node_id}
        changed = sorted(
            other for other in ids
            if other not in then.nodes or _own_material(now.nodes.get(other)) != _own_material(
                then.nodes[other]) or sorted(now.inputs.get(other, [])) != sorted(
                then.inputs.get(other, [])))
        label = str((now.nodes[node_id].get("data") or {}).get("label") or node_id)
        stale.append({
            "nodeId": node_id,
            "nodeLabel": label,
            "reason": "pinned_output_outdated",
            "pinnedFrom": {"executionId": str(execution.pk)},
            "changedNodes": changed,
            "message": f"{label} is pinned to an output made before "
                       f"{', '.join(changed) or 'its inputs'} changed; unpin it to run it again",
        })
    return stale
