"""Graph validation, rule by rule: each problem names its rule, its culprit and a fix."""

import copy
import json

import pytest

from graph.catalog import catalog
from graph.validation import (
    MAX_EDGES,
    MAX_NODES,
    effective_config,
    topological_order,
    validate_graph,
)
from tests.graph.builders import edge, node, text_to_image

WIREFLOW_EXAMPLE_NODES = [
    {"id": "text-input-1", "type": "basedNode", "position": {"x": 100, "y": 200},
     "data": {"label": "Prompt", "nodeType": "input:text", "category": "input",
              "config": {"prompt": "a cow standing in a futuristic neon field"}}},
    {"id": "gen-1", "type": "basedNode", "position": {"x": 500, "y": 200},
     "data": {"label": "Nano Banana 2", "nodeType": "generate:nano_banana_2",
              "category": "generate", "config": {"num_images": 1, "aspect_ratio": "9:16"}}},
]
WIREFLOW_EXAMPLE_EDGES = [{"id": "edge-1", "source": "text-input-1", "sourceHandle": "out-prompt",
                           "target": "gen-1", "targetHandle": "in-prompt"}]


def only(result, rule, *, warning=False):
    """The single problem of `rule`, after checking it is the only one of its kind."""
    found = [p for p in (result.warnings if warning else result.violations) if p["rule"] == rule]
    assert len(found) == 1, (rule, result.to_api())
    return found[0]


def rules(result):
    return sorted(p["rule"] for p in result.violations)


def test_wireflows_published_example_validates_clean():
    result = validate_graph(WIREFLOW_EXAMPLE_NODES, WIREFLOW_EXAMPLE_EDGES)
    assert result.to_api() == {"ok": True, "violations": [], "warnings": []}


def test_a_valid_chain_validates_clean_and_sorts_upstream_first():
    nodes, edges = text_to_image()
    assert validate_graph(nodes, edges).ok
    assert topological_order(nodes, edges) == ["text", "preview", "upscale"]


def test_topological_order_refuses_a_cycle():
    with pytest.raises(ValueError, match="cycle"):
        topological_order([{"id": "a"}, {"id": "b"}],
                          [{"source": "a", "target": "b"}, {"source": "b", "target": "a"}])


def test_empty_graph():
    problem = only(validate_graph([], []), "empty_graph")
    assert problem["message"] == "The workflow has no nodes" and problem["fix"]


def test_too_many_nodes_and_edges_with_overridable_caps():
    nodes = [node(f"n{i}", "utility:sticky_note") for i in range(MAX_NODES + 1)]
    edges = [edge(f"e{i}", "n0", "x", "n1", "y") for i in range(MAX_EDGES + 1)]
    result = validate_graph(nodes, edges)
    assert f"at most {MAX_NODES}" in only(result, "too_many_nodes")["message"]
    assert f"{MAX_EDGES + 1} edges" in only(result, "too_many_edges")["message"]
    relaxed = validate_graph(nodes, edges, max_nodes=1000, max_edges=1000)
    assert not {"too_many_nodes", "too_many_edges"} & set(rules(relaxed))


def test_malformed_graph_when_nodes_or_edges_are_not_lists():
    result = validate_graph({"a": 1}, "edges")
    assert rules(result) == ["malformed_graph", "malformed_graph"]
    assert "'nodes' must be a list" in result.violations[0]["message"]


def test_malformed_node():
    nodes = [42, {"data": {}}, {"id": "x", "data": {"nodeType": "input:text", "config": [1]}},
             {"id": "y"}]
    result = validate_graph(nodes, [])
    problems = [p for p in result.violations if p["rule"] == "malformed_node"]
    assert [p["nodeId"] for p in problems] == [None, None, "x", "y"]
    assert problems[0]["index"] == 0 and "Node #0" in problems[0]["message"]
    assert "data.nodeType" in problems[2]["message"]


def test_duplicate_node_and_edge_ids():
    nodes, edges = text_to_image()
    nodes.append(copy.deepcopy(nodes[0]))
    edges.append(copy.deepcopy(edges[0]))
    result = validate_graph(nodes, edges)
    assert only(result, "duplicate_node_id")["nodeId"] == "text"
    problem = only(result, "duplicate_edge_id")
    assert problem["edgeId"] == "e1" and "unique" in problem["fix"]


def test_malformed_edge():
    nodes, edges = text_to_image()
    edges += ["nope", {"id": "e3", "source": "text", "target": "preview", "sourceHandle": None,
                       "targetHandle": "in-prompt"}]
    result = validate_graph(nodes, edges)
    problems = [p for p in result.violations if p["rule"] == "malformed_edge"]
    assert [p["edgeId"] for p in problems] == [None, "e3"]
    assert "sourceHandle" in problems[1]["message"]


def test_unknown_node_type_suggests_the_closest():
    nodes, edges = text_to_image()
    nodes[2]["data"]["nodeType"] = "process:upscale_lokal"
    problem = only(validate_graph(nodes, edges), "unknown_node_type")
    assert problem["nodeId"] == "upscale"
    assert problem["fix"] == "did you mean process:upscale_local?"
    assert "'process:upscale_lokal'" in problem["message"]


def test_dangling_edge():
    nodes, edges = text_to_image()
    edges.append(edge("e3", "upscale", "image", "ghost", "image"))
    problem = only(validate_graph(nodes, edges), "dangling_edge")
    assert problem["edgeId"] == "e3" and problem["nodes"] == ["ghost"]
    assert "'ghost'" in problem["message"] and problem["fix"]


@pytest.mark.parametrize("target_handle,fix", [
    ("in-images", "did you mean in-image?"),
    ("image", "did you mean in-image?"),
    ("in-scale", "'scale' is a setting: set it in data.config"),
])
def test_unknown_handle_suggests_a_fix(target_handle, fix):
    nodes, edges = text_to_image()
    edges[1]["targetHandle"] = target_handle
    problem = only(validate_graph(nodes, edges), "unknown_handle")
    assert problem["fix"] == fix
    assert problem["nodeId"] == "upscale" and problem["edgeId"] == "e2"
    assert problem["handle"] == target_handle and "in-image" in problem["message"]


def test_unknown_source_handle():
    nodes, edges = text_to_image()
    edges[0]["sourceHandle"] = "out-promt"
    problem = only(validate_graph(nodes, edges), "unknown_handle")
    assert problem["fix"] == "did you mean out-prompt?" and problem["nodeId"] == "text"


def test_type_mismatch():
    nodes, edges = text_to_image()
    edges[1] = edge("e2", "text", "text", "upscale", "image")
    problem = only(validate_graph(nodes, edges), "type_mismatch")
    assert problem["message"] == (
        "Edge 'e2' carries text from Text Input 'text' but in-image of "
        "Upscale (Lanczos, local) 'upscale' takes image")
    assert problem["fix"] == "connect an image output to in-image"
    assert problem["input"] == "image" and problem["edgeId"] == "e2"


def test_routers_pass_the_media_type_through_chains():
    nodes, edges = text_to_image()
    nodes += [node("r1", "logic:router"), node("r2", "logic:router"),
              node("video", "generate:image_to_video_local")]
    edges += [edge("e3", "preview", "image", "r1", "input"),
              edge("e4", "r1", "output", "r2", "input"),
              edge("e5", "r2", "output", "video", "image")]
    assert validate_graph(nodes, edges).ok
    edges[2] = edge("e3", "text", "text", "r1", "input")  # now text flows to the video node
    problem = only(validate_graph(nodes, edges), "type_mismatch")
    assert problem["edgeId"] == "e5" and "carries text" in problem["message"]


def test_duplicate_input():
    nodes, edges = text_to_image()
    nodes.append(node("preview2", "generate:local_preview", {"prompt": "x"}))
    edges.append(edge("e3", "preview2", "image", "upscale", "image"))
    problem = only(validate_graph(nodes, edges), "duplicate_input")
    assert problem["edges"] == ["e2", "e3"] and problem["edgeId"] == "e3"
    assert problem["input"] == "image" and "takes one" in problem["message"]


def test_too_many_inputs_into_a_multiple_port():
    nodes = [node("gen", "generate:flux_2_pro", {"prompt": "x"})]
    edges = []
    for i in range(9):
        nodes.append(node(f"img{i}", "input:image", {"url": f"/media/{i}.png"}))
        edges.append(edge(f"e{i}", f"img{i}", "image", "gen", "reference_images"))
    problem = only(validate_graph(nodes, edges), "too_many_inputs")
    assert "at most 8" in problem["message"] and problem["fix"] == "remove 1"
    assert validate_graph(nodes[:-1], edges[:-1]).ok


def test_self_loop():
    nodes, edges = text_to_image()
    edges.append(edge("e3", "upscale", "image", "upscale", "image"))
    problem = only(validate_graph(nodes, edges), "self_loop")
    assert problem["nodeId"] == "upscale" and problem["edgeId"] == "e3"
    assert "to itself" in problem["message"] and "cycle" not in rules(validate_graph(nodes, edges))


def test_cycle_names_its_nodes_in_order():
    nodes, edges = text_to_image()
    nodes.append(node("upscale2", "process:upscale_local"))
    edges += [edge("e3", "upscale", "image", "upscale2", "image"),
              edge("e4", "upscale2", "image", "preview", "prompt")]
    result = validate_graph(nodes, edges)
    problem = only(result, "cycle")
    assert problem["nodes"] == ["preview", "upscale", "upscale2"]
    assert problem["edges"] == ["e2", "e3", "e4"]
    assert problem["message"] == (
        "The graph has a cycle: 'preview' → 'upscale' → 'upscale2' → 'preview'")
    assert "e4" in problem["fix"]


def test_one_cycle_reported_per_strongly_connected_component():
    nodes = [node(n, "process:upscale_local") for n in ("a", "b", "c", "d")]
    edges = [edge("ab", "a", "image", "b", "image"), edge("ba", "b", "image", "a", "image"),
             edge("cd", "c", "image", "d", "image"), edge("dc", "d", "image", "c", "image")]
    cycles = [p for p in validate_graph(nodes, edges).violations if p["rule"] == "cycle"]
    assert sorted(sorted(c["nodes"]) for c in cycles) == [["a", "b"], ["c", "d"]]


def test_required_input_missing():
    nodes, edges = text_to_image()
    del edges[1]
    problem = only(validate_graph(nodes, edges), "required_input_missing")
    assert problem["nodeId"] == "upscale" and problem["input"] == "image"
    assert problem["fix"] == "connect an image output to in-image"


def test_inline_port_is_satisfied_by_a_typed_value_only_when_not_blank():
    nodes = [node("gen", "generate:nano_banana_2", {"prompt": "a red fox"})]
    assert validate_graph(nodes, []).ok
    nodes[0]["data"]["config"]["prompt"] = "   "
    problem = only(validate_graph(nodes, []), "required_input_missing")
    assert problem["input"] == "prompt" and "data.config.prompt" in problem["fix"]
    nodes[0]["data"]["config"]["prompt"] = 12
    assert "must be text" in only(validate_graph(nodes, []), "invalid_setting")["message"]


@pytest.mark.parametrize("text", ["", "  \n ", None])
def test_a_required_prompt_wired_from_an_empty_text_input_is_caught_before_the_run(text):
    nodes = [node("text", "input:text", {"prompt": text}),
             node("flux", "generate:flux_2_pro"), node("banana", "generate:nano_banana_2")]
    edges = [edge("e1", "text", "prompt", "flux", "prompt"),
             edge("e2", "text", "text", "banana", "prompt")]
    result = validate_graph(nodes, edges)
    found = {p["nodeId"]: p for p in result.violations if p["rule"] == "required_input_missing"}
    assert sorted(found) == ["banana", "flux"], result.to_api()
    assert "empty" in found["flux"]["message"] and found["flux"]["sources"] == ["text"]
    assert found["flux"]["fix"] == "type the text into 'text'"


def test_a_prompt_wired_from_a_text_input_with_text_or_from_a_generator_is_not_blank():
    nodes, edges = text_to_image()
    assert validate_graph(nodes, edges).ok
    # Through a router the text is known only when the run gets there: not judged here.
    nodes = [node("text", "input:text", {"prompt": ""}), node("route", "logic:router"),
             node("preview", "generate:local_preview", {"seed": 1})]
    edges = [edge("e1", "text", "text", "route", "input"),
             edge("e2", "route", "output", "preview", "prompt")]
    assert "required_input_missing" not in rules(validate_graph(nodes, edges))


@pytest.mark.parametrize("config,message", [
    ({"num_images": True}, "'num_images' must be an integer, got True"),
    ({"num_images": 1.0}, "'num_images' must be an integer, got 1.0"),
    ({"num_images": 5}, "'num_images' must be between 1 and 4, got 5"),
    ({"aspect_ratio": "7:3"}, "'aspect_ratio' must be one of '1:1'"),
    ({"seed": -1}, "'seed' must be from 0 to 4294967295"),
    ({"seed": "42"}, "'seed' must be an integer from 0"),
])
def test_invalid_setting_on_nano_banana(config, message):
    nodes = [node("gen", "generate:nano_banana_2", {"prompt": "fox", **config})]
    problem = only(validate_graph(nodes, []), "invalid_setting")
    assert message in problem["message"] and problem["fix"]
    assert problem["input"] == next(iter(config)) and problem["nodeId"] == "gen"


def test_invalid_setting_kinds_colour_url_multiple_and_enum_types():
    nodes, edges = text_to_image()
    nodes[1]["data"]["config"]["width"] = 500
    nodes[2]["data"]["config"]["scale"] = 2.0
    nodes.append(node("overlay", "compose:text_overlay", {"color": "white", "background": ""}))
    nodes.append(node("img", "input:image", {"url": "ftp://example.com/a.png"}))
    edges += [edge("e3", "upscale", "image", "overlay", "image"),
              edge("e4", "img", "image", "overlay", "text")]
    problems = {p["input"]: p for p in validate_graph(nodes, edges).violations
                if p["rule"] == "invalid_setting"}
    assert set(problems) == {"width", "scale", "color", "url"}
    assert problems["width"]["fix"] == "use 504"
    assert "one of 2, 4" in problems["scale"]["message"]
    assert "hex colour" in problems["color"]["message"]
    assert "http(s) URL" in problems["url"]["message"]


@pytest.mark.parametrize("url,ok", [
    ("/media/uploads/a.png", True), ("https://cdn.example.com/a.png", True),
    ("/media/../secrets", False), ("javascript:alert(1)", False), ("http://", False),
])
def test_image_urls(url, ok):
    nodes = [node("img", "input:image", {"url": url})]
    assert validate_graph(nodes, []).ok is ok


def test_required_setting_missing():
    problem = only(validate_graph([node("img", "input:image", {"url": ""})], []),
                   "required_setting_missing")
    assert problem["input"] == "url" and problem["fix"] == "set data.config.url"


def test_unknown_setting_is_only_a_warning():
    nodes = [node("gen", "generate:nano_banana_2", {"prompt": "fox", "num_image": 2})]
    result = validate_graph(nodes, [])
    assert result.ok
    problem = only(result, "unknown_setting", warning=True)
    assert problem["input"] == "num_image" and problem["fix"] == "did you mean num_images?"


def test_params_is_an_alias_of_config_and_config_wins():
    gen = node("gen", "generate:nano_banana_2", {"num_images": 2}, params={"num_images": 9,
                                                                        "prompt": "fox"})
    assert validate_graph([gen], []).ok
    spec = catalog.get("generate:nano_banana_2")
    config = effective_config(gen, spec)
    assert config == {"prompt": "fox", "num_images": 2, "aspect_ratio": "1:1", "image_size": "1K",
                      "seed": None}


@pytest.mark.parametrize("width,height,mp,fix", [
    (4096, 4096, "16.00 MP", "use 2048×2048 (same aspect ratio)"),
    (1000, 1000, "0.95 MP", "use 992×992 (same aspect ratio)"),
    (128, 1024, "0.12 MP", "use 256×1024 (same aspect ratio)"),
    (3840, 2160, "7.91 MP", "use 2720×1536 (same aspect ratio)"),
])
def test_flux_size(width, height, mp, fix):
    config = {"prompt": "x", "width": width, "height": height}
    result = validate_graph([node("flux", "generate:flux_2_pro", config)], [])
    problem = only(result, "flux_size")
    assert mp in problem["message"] and problem["fix"] == fix
    assert rules(result) == ["flux_size"]  # not also reported as invalid_setting
    suggested = problem["suggested"]
    config.update(suggested)
    assert validate_graph([node("flux", "generate:flux_2_flex", config)], []).ok


def test_disconnected_node_is_a_warning_and_sticky_notes_are_exempt():
    nodes, edges = text_to_image()
    nodes += [node("lonely", "input:text", {"prompt": "hi"}), node("note", "utility:sticky_note")]
    result = validate_graph(nodes, edges)
    assert result.ok
    assert only(result, "disconnected_node", warning=True)["nodeId"] == "lonely"
    assert validate_graph([node("alone", "input:text")], []).warnings == []


def test_sticky_notes_never_need_inputs_and_take_no_edges():
    nodes, edges = text_to_image()
    nodes.append(node("note", "utility:sticky_note", {"text": "remember"}))
    assert validate_graph(nodes, edges).ok
    edges.append(edge("e3", "upscale", "image", "note", "text"))
    problem = only(validate_graph(nodes, edges), "unknown_handle")
    assert "it has none" in problem["message"] and problem["fix"] == "remove the edge"


def test_every_problem_is_reported_at_once():
    nodes, edges = text_to_image()
    nodes[0]["data"]["nodeType"] = "input:txt"
    nodes[1]["data"]["config"]["width"] = 10
    nodes.append(node("flux", "generate:flux_2_pro", {"width": 5000}))
    nodes.append(copy.deepcopy(nodes[2]))
    edges += [edge("e3", "upscale", "image", "missing", "image"),
              edge("e4", "upscale", "image", "upscale", "image"),
              edge("e5", "upscale", "imag", "flux", "reference_images")]
    result = validate_graph(nodes, edges)
    assert rules(result) == sorted([
        "unknown_node_type", "invalid_setting", "duplicate_node_id", "dangling_edge",
        "self_loop", "unknown_handle", "required_input_missing", "flux_size",
    ])
    json.dumps(result.to_api())
    for problem in result.violations:
        assert {"rule", "message", "fix", "nodeId", "edgeId"} <= set(problem)


@pytest.mark.parametrize("nodes,edges", [
    (None, None), ("x", 5), ([None, 1, "a", [], {}], [None, 1, "a", [], {}]),
    ([{"id": 1}, {"id": ["x"]}, {"id": "a", "data": "x"}], []),
    ([{"id": "a", "data": {"nodeType": ["x"], "config": {}}}], []),
    ([{"id": "a", "data": {"nodeType": "generate:flux_2_pro",
                           "config": {"width": 10**5000, "height": float("nan"), 3: {}}}}], []),
    ([{"id": "a", "data": {"nodeType": "input:text", "config": {"prompt": {"x": []}}}}],
     [{"id": "e", "source": "a", "target": "a", "sourceHandle": 1, "targetHandle": {}}]),
    ([{"id": "a", "data": {"nodeType": "input:text", "config": {}}}],
     [{"id": {}, "source": "a"}, {"id": "e", "source": ["a"], "target": "a",
                                   "sourceHandle": "out-text", "targetHandle": "in-x"}]),
])
def test_garbage_never_raises(nodes, edges):
    result = validate_graph(nodes, edges)
    assert not result.ok
    json.dumps(result.to_api())
