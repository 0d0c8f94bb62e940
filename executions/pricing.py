"""What a run will cost before it starts: one line per billable node, from the catalog."""

from __future__ import annotations

import math
from typing import Any

from graph.catalog import NodeSpec, catalog
from graph.validation import effective_config


def node_credits(spec: NodeSpec, config: dict[str, Any]) -> int:
    """What one run of a node costs, in whole credits: the same figure the estimate quotes and
    a completed node is charged (settings complete, defaults applied)."""
    return math.ceil(spec.credits(config) or 0)


def estimate(nodes: list[dict], only: set[str] | None = None) -> dict[str, Any]:
    """`{"estimatedCredits", "breakdown", "estimateComplete", "warnings"}` for these nodes
    (all, or the ids in `only`). Cached results may make the real charge lower, never higher."""
    breakdown, warnings = [], []
    complete = True
    for node in nodes:
        data = node.get("data") or {} if isinstance(node, dict) else {}
        spec = catalog.get(data.get("nodeType"))
        if spec is None or not spec.executable or (only is not None and node["id"] not in only):
            continue
        try:
            config = effective_config(node, spec)
            unit, credits = spec.credits(config) or 0, node_credits(spec, config)
        except (TypeError, ValueError, KeyError):
            complete = False
            warnings.append(f"Cannot price node {node.get('id')}: its settings are incomplete")
            continue
        if not unit:
            continue
        breakdown.append({
            "nodeId": node["id"],
            "nodeLabel": data.get("label") or spec.label,
            "model": spec.model or spec.node_type,
            "credits": credits,
            "unitCredits": unit,
            "iterations": 1,  # api.md's field: a node runs once per execution
        })
    return {"estimatedCredits": sum(item["credits"] for item in breakdown),
            "breakdown": breakdown, "estimateComplete": complete, "warnings": warnings}
