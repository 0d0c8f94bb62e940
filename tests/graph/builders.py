"""Small builders for workflow JSON in the api.md shape, shared by the graph tests."""

from __future__ import annotations

from typing import Any


def node(node_id: str, node_type: str, config: dict[str, Any] | None = None, **data: Any) -> dict:
    return {
        "id": node_id,
        "type": "basedNode",
        "position": {"x": 0, "y": 0},
        "data": {"label": node_id, "nodeType": node_type, "category": node_type.split(":")[0],
                 "config": config if config is not None else {}, **data},
    }


def edge(edge_id: str, source: str, source_port: str, target: str, target_port: str) -> dict:
    return {"id": edge_id, "source": source, "sourceHandle": f"out-{source_port}",
            "target": target, "targetHandle": f"in-{target_port}"}


def text_to_image(prompt: str = "a cow in a neon field") -> tuple[list[dict], list[dict]]:
    """Text Input → Local Preview → Lanczos upscale: valid, three nodes, two edges."""
    nodes = [
        node("text", "input:text", {"prompt": prompt}),
        node("preview", "generate:local_preview", {"seed": 7}),
        node("upscale", "process:upscale_local", {"scale": 2}),
    ]
    edges = [edge("e1", "text", "prompt", "preview", "prompt"),
             edge("e2", "preview", "image", "upscale", "image")]
    return nodes, edges
