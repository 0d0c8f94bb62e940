"""Properties of validation over generated graphs: valid DAGs pass, planted cycles are named
exactly, and no input whatsoever makes it raise."""

from __future__ import annotations

import copy
import json

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.validation import validate_graph
from tests.graph.builders import edge, node

GENERATORS = ("generate:local_preview", "generate:nano_banana_2", "generate:flux_2_pro")
IMAGE_STEPS = ("process:upscale_local", "process:upscale_esrgan", "process:resize_crop",
               "compose:text_overlay", "logic:router")
VIDEO_STEPS = ("generate:image_to_video_local", "generate:kling_video")
IMAGE_INPUT = {step: ("output", "input") if step == "logic:router" else ("image", "image")
               for step in IMAGE_STEPS}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                               max_size=4),
    max_leaves=12,
)


@st.composite
def valid_graphs(draw, with_chain: bool = False) -> tuple[list[dict], list[dict]]:
    """Text inputs feeding generators, then image steps that fan out, merge into FLUX.2
    references and end in videos: always a valid DAG. `with_chain` starts it with a preview
    and two upscalers in a row, so there is an image step downstream of another."""
    nodes: list[dict] = []
    edges: list[dict] = []
    texts: list[str] = []
    images: list[tuple[str, str]] = []  # (node id, output port) carrying an image

    def add(node_type: str, config: dict | None = None) -> str:
        node_id = f"n{len(nodes)}"
        nodes.append(node(node_id, node_type, config))
        return node_id

    def wire(source: tuple[str, str], target: str, port: str) -> None:
        edges.append(edge(f"e{len(edges)}", source[0], source[1], target, port))

    for _ in range(draw(st.integers(1, 3))):
        # A typed prompt (blank text wired into a required input is refused before a run).
        prompt = draw(st.text(min_size=1, max_size=20).filter(str.strip))
        texts.append(add("input:text", {"prompt": prompt}))
    if with_chain:
        source = (add("generate:local_preview"), "image")
        wire((texts[0], "prompt"), source[0], "prompt")
        for _ in range(2):
            images.append(source)
            source = (add("process:upscale_local"), "image")
            wire(images[-1], source[0], "image")
        images.append(source)
    for kind in draw(st.lists(st.sampled_from(["generate", "image", "video"]), max_size=30)):
        if kind == "generate" or not images:
            node_type = draw(st.sampled_from(GENERATORS))
            gen = add(node_type)
            wire((draw(st.sampled_from(texts)), draw(st.sampled_from(["prompt", "text"]))),
                 gen, "prompt")
            if node_type == "generate:flux_2_pro" and images:
                for ref in draw(st.lists(st.sampled_from(images), max_size=3, unique=True)):
                    wire(ref, gen, "reference_images")
            images.append((gen, "image"))
        elif kind == "image":
            step = draw(st.sampled_from(IMAGE_STEPS))
            target = add(step)
            wire(draw(st.sampled_from(images)), target, IMAGE_INPUT[step][1])
            if step == "compose:text_overlay" and draw(st.booleans()):
                wire((draw(st.sampled_from(texts)), "text"), target, "text")
            images.append((target, IMAGE_INPUT[step][0]))
        else:
            step = draw(st.sampled_from(VIDEO_STEPS))
            # Kling needs its prompt (fal requires it): typed in.
            target = add(step, {"prompt": "slow push in"} if step == "generate:kling_video"
                         else None)
            wire(draw(st.sampled_from(images)), target, "image")
    return nodes, edges


def _digraph(edges: list[dict]) -> nx.DiGraph:
    return nx.DiGraph((e["source"], e["target"]) for e in edges)


@settings(deadline=None, max_examples=80)
@given(valid_graphs())
def test_generated_dags_of_valid_chains_validate_ok(graph):
    nodes, edges = graph
    result = validate_graph(nodes, edges)
    assert result.ok, result.violations
    assert {w["rule"] for w in result.warnings} <= {"disconnected_node"}


@settings(deadline=None, max_examples=80)
@given(valid_graphs(with_chain=True), st.data())
def test_a_planted_back_edge_is_reported_as_a_cycle_of_real_nodes(graph, data):
    nodes, edges = graph
    by_id = {n["id"]: n["data"]["nodeType"] for n in nodes}
    digraph = _digraph(edges)
    steps = [n for n, t in by_id.items() if t in IMAGE_STEPS and t != "logic:router"]
    pairs = sorted((a, b) for a in steps for b in nx.descendants(digraph, a)
                   if by_id[b] in IMAGE_STEPS and by_id[b] != "logic:router")
    upstream, downstream = data.draw(st.sampled_from(pairs))
    edges = [*edges, edge("planted", downstream, "image", upstream, "image")]
    result = validate_graph(nodes, edges)
    cycles = [v for v in result.violations if v["rule"] == "cycle"]
    assert len(cycles) == 1
    cycle = cycles[0]["nodes"]
    assert len(cycle) >= 2 and set(cycle) <= set(by_id)
    closed = _digraph(edges)
    assert all(closed.has_edge(a, b) for a, b in zip(cycle, cycle[1:] + cycle[:1], strict=True))
    assert {upstream, downstream} <= set(cycle)
    assert "type_mismatch" not in {v["rule"] for v in result.violations}


@settings(deadline=None, max_examples=100)
@given(json_values, json_values)
def test_random_json_never_raises(nodes, edges):
    json.dumps(validate_graph(nodes, edges).to_api())


@settings(deadline=None, max_examples=100)
@given(valid_graphs(), st.data())
def test_a_valid_graph_with_random_damage_never_raises(graph, data):
    nodes, edges = copy.deepcopy(graph)
    for _ in range(data.draw(st.integers(1, 4))):
        targets = [obj for item in nodes + edges if isinstance(item, dict)
                   for obj in _dicts_in(item)]
        target = data.draw(st.sampled_from(targets))
        key = data.draw(st.sampled_from(sorted(target, key=str) + ["config", "params"]))
        target[key] = data.draw(json_values)
    json.dumps(validate_graph(nodes, edges).to_api())


def _dicts_in(item: dict) -> list[dict]:
    """An item, its data and its data's config: whichever are still objects."""
    found = [item]
    data = item.get("data")
    if isinstance(data, dict):
        found.append(data)
        if isinstance(data.get("config"), dict):
            found.append(data["config"])
    return found
