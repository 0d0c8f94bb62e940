"""graph.merge: the three-way merge of a teammate's save (theirs) and the editor's (mine)
against the graph both started from (base). Pure: no database."""

from __future__ import annotations

import copy

import pytest

from graph.merge import MalformedGraph, merge_graphs
from tests.graph.builders import edge, node, text_to_image


def base_graph() -> dict:
    nodes, edges = text_to_image("a cow")
    return {"nodes": nodes, "edges": edges}


def by_id(graph) -> dict:
    return {n["id"]: n for n in graph.nodes}


def ends(graph) -> set:
    edges = graph["edges"] if isinstance(graph, dict) else graph.edges
    return {(e["source"], e["sourceHandle"], e["target"], e["targetHandle"]) for e in edges}


def test_edits_of_different_nodes_merge_cleanly_keeping_both():
    base = base_graph()
    mine, theirs = copy.deepcopy(base), copy.deepcopy(base)
    mine["nodes"][0]["data"]["config"]["prompt"] = "a horse"
    theirs["nodes"][2]["data"]["config"]["scale"] = 4
    theirs["nodes"][1]["position"] = {"x": 300, "y": 40}

    merged = merge_graphs(base=base, mine=mine, theirs=theirs)

    assert merged.clean
    nodes = by_id(merged)
    assert nodes["text"]["data"]["config"] == {"prompt": "a horse"}
    assert nodes["upscale"]["data"]["config"] == {"scale": 4}
    assert nodes["preview"]["position"] == {"x": 300, "y": 40}
    assert [n["id"] for n in merged.nodes] == ["text", "preview", "upscale"]
    assert ends(merged) == ends(base)  # edges untouched
    assert merged.mine_touched == ["text"] and merged.theirs_touched == ["preview", "upscale"]


def test_one_node_different_fields_merge_but_the_same_setting_conflicts():
    base = base_graph()
    mine, theirs = copy.deepcopy(base), copy.deepcopy(base)
    mine["nodes"][1]["data"]["config"]["seed"] = 8           # a setting
    theirs["nodes"][1]["data"]["label"] = "Hero shot"        # the label
    theirs["nodes"][1]["data"]["config"]["width"] = 512      # another setting
    merged = merge_graphs(base=base, mine=mine, theirs=theirs)
    assert merged.clean
    preview = by_id(merged)["preview"]
    assert preview["data"]["label"] == "Hero shot"
    assert preview["data"]["config"] == {"seed": 8, "width": 512}

    theirs["nodes"][1]["data"]["config"]["seed"] = 9         # now the same setting
    conflicted = merge_graphs(base=base, mine=mine, theirs=theirs)
    assert [c.as_json() for c in conflicted.conflicts] == [{
        "nodeId": "preview", "field": "config.seed", "reason": "both_changed",
        "base": 7, "mine": 8, "theirs": 9}]


def test_a_setting_both_sides_changed_alike_or_one_deleted_is_no_conflict():
    base = base_graph()
    mine, theirs = copy.deepcopy(base), copy.deepcopy(base)
    mine["nodes"][1]["data"]["config"]["seed"] = 8
    theirs["nodes"][1]["data"]["config"]["seed"] = 8
    del theirs["nodes"][2]["data"]["config"]["scale"]
    merged = merge_graphs(base=base, mine=mine, theirs=theirs)
    assert merged.clean
    assert by_id(merged)["preview"]["data"]["config"]["seed"] == 8
    assert by_id(merged)["upscale"]["data"]["config"] == {}


def test_a_node_deleted_by_one_side_and_edited_by_the_other_conflicts():
    base = base_graph()
    mine, theirs = copy.deepcopy(base), copy.deepcopy(base)
    # Mine deletes the upscaler (and its edge); theirs changes its scale.
    mine["nodes"] = mine["nodes"][:2]
    mine["edges"] = mine["edges"][:1]
    theirs["nodes"][2]["data"]["config"]["scale"] = 4
    merged = merge_graphs(base=base, mine=mine, theirs=theirs)
    assert [(c.nodeId, c.field, c.reason) for c in merged.conflicts] == [
        ("upscale", "node", "deleted_by_you")]
    assert merged.conflicts[0].as_json()["mine"] is None

    # The other way round: theirs deleted it, mine edited it.
    flipped = merge_graphs(base=base, mine=theirs, theirs=mine)
    assert [(c.nodeId, c.reason) for c in flipped.conflicts] == [("upscale", "deleted_by_them")]


def test_a_node_deleted_by_one_side_and_left_alone_goes_with_its_edges():
    base = base_graph()
    mine, theirs = copy.deepcopy(base), copy.deepcopy(base)
    mine["nodes"] = mine["nodes"][:2]
    mine["edges"] = mine["edges"][:1]
    theirs["nodes"][0]["data"]["config"]["prompt"] = "a horse"
    merged = merge_graphs(base=base, mine=mine, theirs=theirs)
    assert merged.clean
    assert list(by_id(merged)) == ["text", "preview"]
    assert by_id(merged)["text"]["data"]["config"]["prompt"] == "a horse"
    assert ends(merged) == {("text", "out-prompt", "preview", "in-prompt")}


def test_nodes_and_edges_added_on_both_sides_all_stay():
    base = base_graph()
    mine, theirs = copy.deepcopy(base), copy.deepcopy(base)
    mine["nodes"].append(node("note", "utility:sticky_note", {"text": "mine"}))
    theirs["nodes"].append(node("video", "generate:image_to_video_local", {}))
    theirs["edges"].append(edge("e3", "upscale", "image", "video", "image"))
    merged = merge_graphs(base=base, mine=mine, theirs=theirs)
    assert merged.clean
    assert [n["id"] for n in merged.nodes] == ["text", "preview", "upscale", "video", "note"]
    assert ("upscale", "out-image", "video", "in-image") in ends(merged)


def test_the_same_id_added_differently_on_both_sides_conflicts():
    base = base_graph()
    mine, theirs = copy.deepcopy(base), copy.deepcopy(base)
    mine["nodes"].append(node("note", "utility:sticky_note", {"text": "mine"}))
    theirs["nodes"].append(node("note", "utility:sticky_note", {"text": "theirs"}))
    merged = merge_graphs(base=base, mine=mine, theirs=theirs)
    assert [(c.nodeId, c.field, c.reason, c.mine, c.theirs) for c in merged.conflicts] == [
        ("note", "config.text", "both_added", "mine", "theirs")]


def test_edges_into_different_inputs_merge_and_into_one_input_conflict():
    base = {"nodes": [node("a", "input:text"), node("b", "input:text"),
                      node("gen", "generate:local_preview"), node("up", "process:upscale_local")],
            "edges": []}
    mine, theirs = copy.deepcopy(base), copy.deepcopy(base)
    mine["edges"].append(edge("m1", "a", "prompt", "gen", "prompt"))
    theirs["edges"].append(edge("t1", "gen", "image", "up", "image"))
    merged = merge_graphs(base=base, mine=mine, theirs=theirs)
    assert merged.clean
    assert ends(merged) == {("a", "out-prompt", "gen", "in-prompt"),
                            ("gen", "out-image", "up", "in-image")}

    theirs["edges"].append(edge("t2", "b", "prompt", "gen", "prompt"))
    conflicted = merge_graphs(base=base, mine=mine, theirs=theirs)
    assert [c.as_json() for c in conflicted.conflicts] == [{
        "nodeId": "gen", "field": "in-prompt", "reason": "both_changed", "base": [],
        "mine": [{"source": "a", "sourceHandle": "out-prompt"}],
        "theirs": [{"source": "b", "sourceHandle": "out-prompt"}]}]


def test_an_edge_removed_by_one_side_stays_removed_and_a_remade_edge_is_the_same_edge():
    base = base_graph()
    mine, theirs = copy.deepcopy(base), copy.deepcopy(base)
    mine["edges"] = mine["edges"][1:]                       # mine unwires the prompt
    theirs["edges"][1] = {**theirs["edges"][1], "id": "re-made"}  # same ends, new id
    merged = merge_graphs(base=base, mine=mine, theirs=theirs)
    assert merged.clean
    assert ends(merged) == {("preview", "out-image", "upscale", "in-image")}


def test_an_edge_wired_to_a_node_the_other_side_deleted_conflicts():
    base = base_graph()
    mine, theirs = copy.deepcopy(base), copy.deepcopy(base)
    mine["nodes"].append(node("video", "generate:image_to_video_local"))
    mine["edges"].append(edge("e3", "upscale", "image", "video", "image"))
    theirs["nodes"] = theirs["nodes"][:2]
    theirs["edges"] = theirs["edges"][:1]
    merged = merge_graphs(base=base, mine=mine, theirs=theirs)
    assert [(c.nodeId, c.reason) for c in merged.conflicts] == [
        ("upscale", "wired_to_deleted_node")]
    assert all(e["source"] != "upscale" for e in merged.edges)


@pytest.mark.parametrize("bad", [
    {"nodes": "x", "edges": []}, {"nodes": [1], "edges": []},
    {"nodes": [{"id": 3}], "edges": []},
    {"nodes": [{"id": "a"}, {"id": "a"}], "edges": []}, {"nodes": [], "edges": [1]}])
def test_a_graph_the_merge_cannot_key_is_refused(bad):
    with pytest.raises(MalformedGraph):
        merge_graphs(base=base_graph(), mine=bad, theirs=base_graph())
