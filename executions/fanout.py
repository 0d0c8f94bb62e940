"""A run's list fan-out, read side: which node runs a List fans out and what each branch
reads. (The regions are found by graph.fanout when the run is planned and kept on
`Execution.fan_out`; executions.branches makes the branches when the list is known.)

Each item of a list is its own set of node runs (`NodeRun.item_index`): a fanned node reads
its item of the list, and the same item's result of every fanned node upstream; a Collect node
reads every item's result that succeeded, in item order.
"""

from __future__ import annotations

from typing import Any

from executions.models import Execution, NodeRun, NodeStatus

SUCCEEDED = (NodeStatus.COMPLETED, NodeStatus.CACHED)


def regions(execution: Execution) -> dict[str, dict[str, Any]]:
    """By List node id: `{"nodes", "collects", "items", "itemCredits", "paidItems"}`."""
    fan = execution.fan_out or {}
    return fan.get("regions") or {}


def source_of(found: dict[str, dict[str, Any]], node_id: str) -> str | None:
    """The List that fans this node out, if any."""
    return next((source for source, region in found.items() if node_id in region["nodes"]),
                None)


def collected_by(found: dict[str, dict[str, Any]], node_id: str) -> str | None:
    """The List whose results this Collect node gathers, if any."""
    return next((source for source, region in found.items()
                 if node_id in region["collects"]), None)


def list_items(outputs: dict[str, Any]) -> list[str]:
    ref = outputs.get("item") if isinstance(outputs, dict) else None
    items = ref.get("items") if isinstance(ref, dict) else None
    return [str(item) for item in items] if isinstance(items, list) else []


def sources(node_run: NodeRun, wanted: set[str]) -> dict[str, list[dict[str, Any]]] | None:
    """The outputs each upstream node gives this node run, in order (one for most; every
    item's for a Collect), or None when the run has no fan-out (the caller reads as usual)."""
    found = regions(node_run.execution)
    if not found or not wanted:
        return None
    rows = list(NodeRun.objects.filter(execution_id=node_run.execution_id, node_id__in=wanted)
                .values_list("node_id", "item_index", "outputs", "status"))
    single = {node_id: outputs for node_id, index, outputs, _ in rows if index is None}
    result: dict[str, list[dict[str, Any]]] = {}
    mine = source_of(found, node_run.node_id)
    gathering = collected_by(found, node_run.node_id)
    for node_id in wanted:
        if mine is not None and node_run.item_index is not None:
            if node_id == mine:
                items = list_items(single.get(node_id, {}))
                index = node_run.item_index
                result[node_id] = [{"item": {"text": items[index]}}] if index < len(items) else []
            elif node_id in found[mine]["nodes"]:
                result[node_id] = [outputs for other, index, outputs, _ in rows
                                   if other == node_id and index == node_run.item_index]
            elif node_id in single:
                result[node_id] = [single[node_id]]
        elif gathering is not None and node_id == gathering:
            result[node_id] = [{"item": {"text": item}}
                               for item in list_items(single.get(node_id, {}))]
        elif gathering is not None and node_id in found[gathering]["nodes"]:
            done = sorted((index, outputs) for other, index, outputs, status in rows
                          if other == node_id and index is not None and status in SUCCEEDED)
            result[node_id] = [outputs for _, outputs in done]
        elif node_id in single:
            result[node_id] = [single[node_id]]
    return result
