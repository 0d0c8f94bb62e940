"""The example workflows `make run` creates for the demo team, in the api.md workflow shape."""

from __future__ import annotations


def _node(node_id: str, node_type: str, label: str, x: int, config: dict) -> dict:
    return {
        "id": node_id,
        "type": "basedNode",
        "position": {"x": x, "y": 200},
        "data": {
            "label": label,
            "nodeType": node_type,
            "category": node_type.split(":")[0],
            "config": config,
        },
    }


def _edge(index: int, source: str, source_port: str, target: str, target_port: str) -> dict:
    return {
        "id": f"edge-{index}",
        "source": source,
        "sourceHandle": f"out-{source_port}",
        "target": target,
        "targetHandle": f"in-{target_port}",
    }


PROMPT = "a cow standing in a futuristic neon field, cinematic light"

DEMO_WORKFLOWS: list[dict] = [
    {
        "name": "Flux 2 Pro → upscale → image-to-video",
        "description": "FLUX.2 [pro] renders the prompt, ESRGAN upscales it ×2 and Kling "
        "animates it. Needs BFL and fal keys, or SIMULATE=1 for the offline simulator.",
        "tags": ["demo", "flux"],
        "nodes": [
            _node("text-input-1", "input:text", "Prompt", 100, {"prompt": PROMPT}),
            _node("flux-1", "generate:flux_2_pro", "FLUX.2 [pro]", 450,
                  {"width": 1024, "height": 768, "output_format": "png"}),
            _node("upscale-1", "process:upscale_esrgan", "Upscale ×2", 800, {"scale": 2}),
            _node("video-1", "generate:kling_video", "Image to video", 1150,
                  {"duration": 5, "prompt": "slow cinematic push-in, the neon lights flicker"}),
        ],
        "edges": [
            _edge(1, "text-input-1", "prompt", "flux-1", "prompt"),
            _edge(2, "flux-1", "image", "upscale-1", "image"),
            _edge(3, "upscale-1", "image", "video-1", "image"),
        ],
    },
    {
        "name": "Local preview → upscale → image-to-video (offline)",
        "description": "Runs with no network: a procedural preview image (not an AI "
        "generation), a Lanczos ×2 upscale and a pan-and-zoom MP4.",
        "tags": ["demo", "offline"],
        "nodes": [
            _node("text-input-1", "input:text", "Prompt", 100, {"prompt": PROMPT}),
            _node("preview-1", "generate:local_preview", "Local preview", 450,
                  {"width": 512, "height": 512, "seed": 7}),
            _node("upscale-1", "process:upscale_local", "Upscale ×2", 800, {"scale": 2}),
            _node("video-1", "generate:image_to_video_local", "Pan & zoom video", 1150,
                  {"duration": 3}),
        ],
        "edges": [
            _edge(1, "text-input-1", "prompt", "preview-1", "prompt"),
            _edge(2, "preview-1", "image", "upscale-1", "image"),
            _edge(3, "upscale-1", "image", "video-1", "image"),
        ],
    },
]
