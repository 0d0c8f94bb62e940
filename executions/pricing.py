"""What a run will cost before it starts: one line per billable node, from the catalog."""

from __future__ import annotations

import math
from typing import Any

from graph.catalog import catalog
from graph.validation import effective_config


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
            unit = spec.credits(effective_config(node, spec)) or 0
        except (TypeError, ValueError, KeyError):
            complete = False
            warnings.append(f"Cannot price node {node.get('id')}: its settings are incomplete")
            continue
        if not unit:
            continue
        iterations = 1
        credits = math.ceil(unit * iterations)
        breakdown.append({
            "nodeId": node["id"],
            "nodeLabel": data.get("label") or spec.label,
            "model": spec.model or spec.node_type,
            "credits": credits,
            "unitCredits": unit,
            "iterations": iterations,
        })
    return {"estimatedCredits": sum(item["credits"] for item in breakdown),
            "breakdown": breakdown, "estimateComplete": complete, "warnings": warnings}
