"""Time validate_graph on valid graphs of 1,000 and 100 nodes: median and p95 of 30 runs.

Run from the repository root: python bench/bench_validation.py. Prints figures, asserts nothing
about time.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from graph.validation import validate_graph  # noqa: E402

RUNS = 30


def build_graph(chains: int) -> tuple[list[dict], list[dict]]:
    """`chains` × (Text Input → Local Preview → FLUX.2 [pro] → Text Overlay): 4 nodes and 6
    edges each, the text fanning out to all three and each preview also feeding the next
    chain's FLUX.2 as a reference image."""
    nodes: list[dict] = []
    edges: list[dict] = []

    def add(node_id: str, node_type: str, config: dict) -> None:
        nodes.append({"id": node_id, "type": "basedNode", "position": {"x": 0, "y": 0},
                      "data": {"label": node_id, "nodeType": node_type,
                               "category": node_type.split(":")[0], "config": config}})

    def wire(source: str, output: str, target: str, port: str) -> None:
        edges.append({"id": f"e{len(edges)}", "source": source, "sourceHandle": f"out-{output}",
                      "target": target, "targetHandle": f"in-{port}"})

    for i in range(chains):
        text, preview, flux, overlay = (f"{kind}-{i}" for kind in ("text", "preview", "flux",
                                                                   "overlay"))
        add(text, "input:text", {"prompt": f"scene number {i}"})
        add(preview, "generate:local_preview", {"seed": i})
        add(flux, "generate:flux_2_pro", {"width": 1024, "height": 768})
        add(overlay, "compose:text_overlay", {"position": "top"})
        wire(text, "prompt", preview, "prompt")
        wire(text, "prompt", flux, "prompt")
        wire(text, "text", overlay, "text")
        wire(preview, "image", flux, "reference_images")
        wire(f"preview-{(i - 1) % chains}", "image", flux, "reference_images")
        wire(flux, "image", overlay, "image")
    return nodes, edges


def bench(chains: int) -> None:
    nodes, edges = build_graph(chains)
    limits = {"max_nodes": len(nodes), "max_edges": len(edges)}
    result = validate_graph(nodes, edges, **limits)
    if not result.ok:
        raise SystemExit(f"benchmark graph is invalid: {result.violations[:3]}")
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        validate_graph(nodes, edges, **limits)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    print(f"validate_graph {len(nodes):>5} nodes / {len(edges):>5} edges: "
          f"median {statistics.median(times):6.2f} ms, p95 {p95:6.2f} ms ({RUNS} runs)")


if __name__ == "__main__":
    bench(250)
    bench(25)
