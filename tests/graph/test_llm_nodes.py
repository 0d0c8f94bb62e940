"""The LLM node's declaration and price, and the two text utilities (Prompt Template, JSON
Extract): templating, the token ceiling the estimate quotes, config checks, and clear errors."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest

from executions.pricing import estimate, node_credits
from graph.catalog import NodeError, Usage, catalog
from graph.catalog.llm import (
    IMAGE_TOKENS,
    MAX_INPUT_BYTES,
    MODELS,
    chat_ceiling,
    chat_check_config,
    chat_texts,
)
from graph.catalog.templating import render, rendered_bytes
from graph.catalog.utility import json_extract, prompt_concat
from graph.validation import validate_graph
from tests.graph.builders import edge, node

LLM = catalog.get("llm:chat")


def config(**overrides):
    return {**LLM.defaults(), "prompt": "Enhance: a lighthouse at dusk", **overrides}


def test_templates_fill_only_the_names_offered_and_keep_other_braces():
    template = 'Make {input} brighter; answer as {"prompt": "..."} and keep {unknown}'
    assert render(template, {"input": "a fox"}) == \
        'Make a fox brighter; answer as {"prompt": "..."} and keep {unknown}'
    values = {"input": "é" * 10}
    assert rendered_bytes(template, {"input": 20}) == len(render(template, values).encode())


def test_wired_inputs_fill_placeholders_or_follow_the_prompt():
    assert chat_texts(config(prompt="Caption {input_2} then {input_1}"), [], ["a", "b"]) == \
        ("", "Caption b then a")
    assert chat_texts(config(prompt="Make it brighter:"), [], ["a fox", "snow"]) == \
        ("", "Make it brighter:\n\na fox\n\nsnow")
    # A prompt wired from another node is sent as it is: its braces are not placeholders.
    assert chat_texts(config(), ["write {input}"], ["x"]) == ("", "write {input}\n\nx")


def test_json_mode_asks_for_json_when_no_message_says_it():
    system, _ = chat_texts(config(json_mode=True), [], [])
    assert "JSON" in system
    system, _ = chat_texts(config(json_mode=True, prompt="Answer in json: {input}"), [], ["a"])
    assert system == ""


def test_the_ceiling_covers_every_byte_of_the_prompt_images_and_max_tokens():
    cfg = config(system_prompt="Be {input_1}", prompt="Write {input} twice: {input}",
                 max_tokens=300, json_mode=True)
    texts = ["brief", "ünïcode"]
    system, user = chat_texts(cfg, [], texts)
    ceiling = chat_ceiling(cfg, {"input": texts}, 2)
    assert ceiling.completion_tokens == 300
    assert ceiling.prompt_tokens >= len(system.encode()) + len(user.encode()) + 2 * IMAGE_TOKENS
    # A text not known before the run is quoted at the most the node accepts.
    unknown = chat_ceiling(cfg, {"input": [None, "ünïcode"]}, 0)
    assert unknown.prompt_tokens >= 3 * MAX_INPUT_BYTES


def test_the_charge_is_the_reported_tokens_at_the_models_published_prices():
    cfg = config(model="gpt-4.1")
    # (12,345 × $2 + 6,789 × $8) / 10⁶ = $0.079002 = 7.9002 credits → 8
    assert node_credits(LLM, cfg, Usage(prompt_tokens=12_345, completion_tokens=6_789)) == 8
    sonnet = config(model="anthropic/claude-sonnet-4.5")
    # (1,000 × $3 + 2,000 × $15) / 10⁶ = $0.033 → 3.3 credits → 4
    assert node_credits(LLM, sonnet, Usage(prompt_tokens=1_000, completion_tokens=2_000)) == 4
    assert node_credits(LLM, config(model="custom", custom_model="llama3.1:8b"),
                        Usage(prompt_tokens=10**6, completion_tokens=10**6)) == 0
    for model in MODELS.values():
        assert 0 < model.input_price <= model.output_price


def _graph(prompt_config, **llm_config):
    nodes = [node("brief", "input:text", {"prompt": "a lighthouse at dusk"}),
             node("llm", "llm:chat", {"prompt": prompt_config, **llm_config}),
             node("flux", "generate:flux_2_pro", {"width": 1024, "height": 1024, "seed": 1})]
    edges = [edge("e1", "brief", "text", "llm", "input"),
             edge("e2", "llm", "text", "flux", "prompt")]
    return nodes, edges


def test_the_estimate_quotes_the_ceiling_of_the_text_known_before_the_run():
    nodes, edges = _graph("Enhance for FLUX: {input}", model="gpt-4o", max_tokens=4000)
    price = estimate(nodes, edges=edges)
    line = next(item for item in price["breakdown"] if item["nodeId"] == "llm")
    cfg = {**LLM.defaults(), "prompt": "Enhance for FLUX: {input}", "model": "gpt-4o",
           "max_tokens": 4000}
    ceiling = chat_ceiling(cfg, {"input": ["a lighthouse at dusk"]}, 0)
    assert ceiling.prompt_tokens < 100  # the known brief, not the unknown-text allowance
    expected = (ceiling.prompt_tokens * 2.5 + 4000 * 10) / 10**4
    assert line["credits"] == math.ceil(expected) and line["unitCredits"] == \
        pytest.approx(expected)
    # Always a ceiling (max_tokens answered); the total still covers the run.
    assert line["bound"] == "ceiling" and price["estimateComplete"] is True
    flux = next(item for item in price["breakdown"] if item["nodeId"] == "flux")
    assert "bound" not in flux


def test_text_from_a_node_that_has_not_run_is_quoted_at_the_input_limit():
    nodes, edges = _graph("Shorten: {input}", model="gpt-4o", max_tokens=100)
    nodes.insert(1, node("first", "llm:chat", {"prompt": "Write a brief", "model": "gpt-4o",
                                               "max_tokens": 100}))
    edges[0] = edge("e1", "first", "text", "llm", "input")
    price = estimate(nodes, edges=edges)
    line = next(item for item in price["breakdown"] if item["nodeId"] == "llm")
    assert line["unitCredits"] > MAX_INPUT_BYTES * 2.5 / 10**4 and line["model"] == "gpt-4o"
    assert price["warnings"] == ["llm: text from nodes that have not run yet is quoted at the "
                                 "most the node takes; the charge follows the tokens the model "
                                 "reports"]


def test_the_chain_validates_and_its_config_rules_point_at_the_setting():
    nodes, edges = _graph("Enhance: {input}")
    assert validate_graph(nodes, edges).ok
    assert chat_check_config(config(model="custom"))[0]["input"] == "custom_model"
    issue = chat_check_config(config(model="gpt-4o", max_tokens=16_384))
    assert issue == []
    nodes[1]["data"]["config"]["model"] = "gpt-99"
    problems = validate_graph(nodes, edges).violations
    assert any(p["nodeId"] == "llm" and "model" in p["message"] for p in problems)


def _context(config, **values):
    return SimpleNamespace(config=config, values=values)


def test_prompt_template_joins_its_inputs():
    made = prompt_concat(_context({"template": "{a}, in the style of {b}", "b": "ukiyo-e"},
                                  a=["a fox"]))
    assert made == {"text": {"text": "a fox, in the style of ukiyo-e"}}
    joined = prompt_concat(_context({"template": "", "separator": " | "}, a=["x"], c=["z"]))
    assert joined["text"]["text"] == "x | z"


ANSWER = '```json\n{"prompts": ["a fox", {"text": "an owl"}], "count": 2}\n```'


@pytest.mark.parametrize(("path", "expected"), [
    ("prompts[0]", "a fox"), ("prompts.1.text", "an owl"), ("$.prompts[-1].text", "an owl"),
    ("count", "2"), ("prompts", '["a fox", {"text": "an owl"}]'),
])
def test_json_extract_reads_a_path_of_keys_and_indexes(path, expected):
    assert json_extract(_context({"path": path}, json=[ANSWER]))["text"]["text"] == expected


def test_json_extract_whole_value_is_json_text():
    whole = json_extract(_context({"path": ""}, json=[ANSWER]))["text"]["text"]
    assert json.loads(whole)["count"] == 2


@pytest.mark.parametrize(("text", "path", "said"), [
    ("not json at all", "a", "the input is not JSON"),
    ('{"prompts": []}', "prompts[0]", "$.prompts has 0 items, no [0]"),
    ('{"prompts": ["x"]}', "title", "$ has no key 'title' (it has 'prompts')"),
    ('{"a": 3}', "a.b", "$.a is int, it has no 'b'"),
    ("", "a", "the input is empty"),
])
def test_json_extract_fails_with_a_clear_node_error(text, path, said):
    with pytest.raises(NodeError) as caught:
        json_extract(_context({"path": path}, json=[text]))
    assert said in caught.value.message


def test_the_catalog_serves_the_llm_family():
    served = LLM.to_api()
    assert served["category"] == "llm" and served["provider"] == "llm"
    assert "gpt-4.1-mini" in next(i for i in served["inputs"] if i["id"] == "model")["enum"]
    assert served["priceRule"].startswith("per token")
    for node_type in ("utility:prompt_concat", "utility:json_extract"):
        spec = catalog.get(node_type)
        assert spec.executable and spec.handler is not None and spec.to_api()["credits"] == 0
