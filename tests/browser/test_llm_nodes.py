"""The LLM node in the editor: its settings in the Inspector (generated from the catalog), and
after a run against the simulator its answer readable on the canvas, then one value of it
taken out by JSON Extract."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import SHOTS
from tests.browser.conftest import open_graph as _open

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_an_llm_node_shows_its_settings_and_its_answer_after_a_run(tab, server, team,
                                                                   designer):
    from accounts.services import credits_grant
    from tests.graph.builders import edge, node

    credits_grant(team=team, amount=100)
    _open(tab, server, team, designer, "Brief to prompts", [
        node("brief", "input:text", {"prompt": "a green glass bottle on wet sand"}),
        node("llm", "llm:chat", {"prompt": "Write 3 prompts for {input}", "json_mode": True,
                                 "model": "gpt-4o-mini", "max_tokens": 400}),
        node("pick", "utility:json_extract", {"path": "prompts[1]"}),
    ], [edge("e1", "brief", "text", "llm", "input"),
        edge("e2", "llm", "text", "pick", "json")])
    tab.click("[data-testid=node-llm] .node-label")
    assert tab.input_value("#setting-model") == "gpt-4o-mini"
    assert tab.locator("#setting-model option").count() >= 12
    assert tab.is_checked("#setting-json_mode")
    assert tab.locator("#setting-system_prompt").count() == 1
    assert tab.input_value("#setting-max_tokens") == "400"

    tab.click("[data-testid=run]")
    tab.wait_for_selector("[data-testid=node-pick][data-status=COMPLETED]", timeout=60000)
    answer = tab.inner_text("[data-testid=node-llm] .node-text")
    prompts = json.loads(answer)["prompts"]
    assert len(prompts) == 3 and all("green glass bottle" in p for p in prompts)
    assert tab.inner_text("[data-testid=node-pick] .node-text") == prompts[1]
    tab.screenshot(path=str(SHOTS / "editor-llm-node.png"))
