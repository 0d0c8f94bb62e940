"""Every declared model in the real editor: the palette shows it under its task with its
vendor, price and description, and its Inspector renders a control for each setting of its
schema (served by GET /nodes) and its node a handle for each port."""

from __future__ import annotations

import pytest

from tests.browser.conftest import open_graph

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_the_palette_groups_models_by_task_and_finds_them_by_vendor(page):
    from graph.catalog.registry import MODELS

    headings = page.locator(".palette h2").all_inner_texts()
    for task in ("Text to image", "Image editing", "Upscaling", "Video", "Audio"):
        assert task.upper() in [h.upper() for h in headings]
    page.fill("[aria-label='Search nodes']", "bytedance")
    expected = {m.node_type for m in MODELS if m.vendor == "ByteDance"}
    items = page.locator(".palette-item")
    assert {items.nth(i).get_attribute("data-testid").removeprefix("palette-")
            for i in range(items.count())} == expected
    item = page.locator("[data-testid='palette-generate:seedream_4']")
    assert "3 cr" in item.inner_text() and "ByteDance · " in item.inner_text()
    assert "Seedream 4.0" in item.inner_text()


def test_every_declared_models_inspector_renders_its_schema(tab, server, team, designer):
    from graph.catalog import catalog
    from graph.catalog.registry import MODELS

    for model in MODELS:
        spec = catalog.get(model.node_type)
        node_id = model.node_type.split(":")[1].replace("_", "-")
        open_graph(tab, server, team, designer, model.label, [{
            "id": node_id, "type": "basedNode", "position": {"x": 0, "y": 0},
            "data": {"nodeType": model.node_type, "label": model.label, "config": {}}}], [])
        box = f"[data-testid=node-{node_id}]"
        for port in spec.ports():
            assert tab.locator(f"{box} [data-handleid=in-{port.id}]").count() == 1, \
                (model.node_type, port.id)
        tab.click(f"{box} .node-label")
        for setting in spec.settings():
            control = tab.locator(f".inspector #setting-{setting.id}")
            assert control.count() == 1, (model.node_type, setting.id)
            if setting.enum is not None:
                options = control.locator("option").all_inner_texts()
                assert options == [str(o) for o in setting.enum], (model.node_type, setting.id)
                assert control.input_value() == str(setting.default)
            elif setting.type == "boolean":
                assert control.get_attribute("type") == "checkbox"
                assert control.is_checked() == bool(setting.default)
            elif setting.type in ("integer", "number"):
                assert control.get_attribute("type") == "number"
                for bound in ("min", "max"):
                    value = getattr(setting, bound)
                    if value is not None:
                        assert float(control.get_attribute(bound)) == value
                assert float(control.input_value()) == setting.default
