"""Workflow graphs used across tests, in the api.md workflow shape."""

from __future__ import annotations

import copy

from graph.demo import DEMO_WORKFLOWS

# Wireflow's published example, as it appears in their docs.
WIREFLOW_EXAMPLE = {
    "name": "Text to Image",
    "description": "",
    "tags": ["demo"],
    "isActive": True,
    "nodes": [
        {"id": "text-input-1", "type": "basedNode", "position": {"x": 100, "y": 200},
         "data": {"label": "Prompt", "nodeType": "input:text", "category": "input",
                  "config": {"prompt": "a cow standing in a futuristic neon field"}}},
        {"id": "gen-1", "type": "basedNode", "position": {"x": 500, "y": 200},
         "data": {"label": "Nano Banana 2", "nodeType": "generate:nano_banana_2",
                  "category": "generate", "config": {"num_images": 1, "aspect_ratio": "9:16"}}},
    ],
    "edges": [{"id": "edge-1", "source": "text-input-1", "sourceHandle": "out-prompt",
               "target": "gen-1", "targetHandle": "in-prompt"}],
}


def lantern_workflow(team, actor, name: str):
    """A saved workflow of a prompt ("a lantern") into Nano Banana 2 at one image (7 credits
    at 1K): the app and MCP tests' paid run."""
    from graph.services import workflow_create
    from tests.graph.builders import edge, node

    workflow, _ = workflow_create(team=team, actor=actor, name=name, nodes=[
        node("prompt", "input:text", {"prompt": "a lantern"}),
        node("nano", "generate:nano_banana_2", {"num_images": 1}),
    ], edges=[edge("e1", "prompt", "prompt", "nano", "prompt")], strict=False)
    return workflow


def offline_chain() -> dict:
    """Text → local preview → Lanczos upscale → pan & zoom video: valid and runnable offline."""
    spec = copy.deepcopy(DEMO_WORKFLOWS[1])
    return {"name": "Offline chain", "nodes": spec["nodes"], "edges": spec["edges"]}


def with_cycle() -> dict:
    """Two upscalers feeding each other: a cycle of image edges."""
    graph = offline_chain()
    graph["nodes"].append(
        {"id": "upscale-2", "type": "basedNode", "position": {"x": 800, "y": 400},
         "data": {"label": "Upscale again", "nodeType": "process:upscale_local",
                  "config": {"scale": 2}}}
    )
    graph["nodes"][2]["data"]["config"] = {"scale": 2}
    graph["edges"] = [e for e in graph["edges"] if e["id"] != "edge-2"] + [
        {"id": "edge-a", "source": "upscale-1", "sourceHandle": "out-image",
         "target": "upscale-2", "targetHandle": "in-image"},
        {"id": "edge-b", "source": "upscale-2", "sourceHandle": "out-image",
         "target": "upscale-1", "targetHandle": "in-image"},
    ]
    return graph
