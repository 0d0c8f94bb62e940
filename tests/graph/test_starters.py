"""The built-in starter templates: data files, each a strictly valid graph of the catalog."""

from __future__ import annotations

import pytest

from executions.pricing import estimate
from graph.starters import starter_get, starters
from graph.validation import validate_graph

NAMES = {"product-photo-new-background", "poster-exact-hex-text", "ad-variants-batch",
         "flux-upscale-kling-video", "nano-banana-2-reference-edit", "print-upscale-4mp",
         "social-sizes-from-one-image", "storyboard-frames"}


def test_the_issue_s_eight_starters_are_there_in_order():
    assert {s.id for s in starters()} >= NAMES
    assert len(starters()) >= 8
    assert [s.order for s in starters()] == sorted(s.order for s in starters())
    assert starter_get("no-such-template") is None


@pytest.mark.parametrize("starter", starters(), ids=lambda s: s.id)
def test_every_starter_validates_strictly_and_has_a_price(starter):
    result = validate_graph(starter.nodes, starter.edges)
    assert result.ok, result.violations
    assert result.warnings == []
    assert starter.name and len(starter.description) > 40
    quote = estimate(starter.nodes, edges=starter.edges)
    assert quote["estimateComplete"] and quote["warnings"] == []
    assert quote["estimatedCredits"] > 0


def test_the_batch_starter_s_sample_items_name_its_input_nodes():
    starter = starter_get("ad-variants-batch")
    ids = {n["id"] for n in starter.nodes}
    assert len(starter.batch) >= 2
    assert all(set(item) <= ids for item in starter.batch)


def test_the_poster_sets_its_text_in_exact_hex_colours():
    overlay = next(n for n in starter_get("poster-exact-hex-text").nodes
                   if n["data"]["nodeType"] == "compose:text_overlay")
    config = overlay["data"]["config"]
    assert config["color"] == "#F4D35E" and config["background"] == "#0D3B66"
