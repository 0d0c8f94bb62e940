"""The node catalog: declared once, refused early when malformed, served in the api.md shape."""

import json
import math

import pytest

from executions.pricing import node_credits
from graph.catalog import Input, NodeSpec, Output, Registry, Usage, catalog
from graph.catalog.types import no_credits
from graph.catalog.values import check_setting

REQUIRED_TYPES = {
    "input:text", "input:image", "generate:flux_2_pro", "generate:flux_2_flex",
    "generate:nano_banana_2", "generate:local_preview", "process:upscale_local",
    "process:upscale_esrgan", "generate:image_to_video_local", "generate:kling_video",
    "process:resize_crop", "compose:text_overlay", "logic:router", "utility:sticky_note",
    "utility:frame",
}


def _spec(node_type: str = "process:thing", **overrides) -> NodeSpec:
    fields = {"node_type": node_type, "label": "Thing", "category": node_type.split(":")[0],
              "description": "", "inputs": (), "outputs": (), "provider": "local",
              "model": None, "model_version": "1", "credits": no_credits}
    return NodeSpec(**{**fields, **overrides})


def test_catalog_holds_every_required_node_type():
    assert set(catalog.node_types()) >= REQUIRED_TYPES
    assert all(catalog.get(t).node_type == t for t in REQUIRED_TYPES)
    assert catalog.get("generate:nope") is None and catalog.get(["not", "a", "str"]) is None


def test_registry_refuses_a_duplicate_node_type():
    registry = Registry([_spec()])
    with pytest.raises(ValueError, match="already registered"):
        registry.register(_spec())


@pytest.mark.parametrize("name", [
    "process:Thing", "process:thing ", "process:thing\n", "proc:thing", "process-thing",
    "process:", ":thing", "process:thing:x",
])
def test_registry_refuses_malformed_node_type_names(name):
    with pytest.raises(ValueError, match="malformed node type"):
        Registry([_spec(name, category="process")])


def test_registry_refuses_a_category_from_another_family_and_an_invalid_default():
    with pytest.raises(ValueError, match="category"):
        Registry([_spec(category="compose")])
    bad = Input("n", "N", "integer", is_port=False, default=0, min=1, max=4)
    with pytest.raises(ValueError, match="default"):
        Registry([_spec(inputs=(bad,))])


def test_registry_refuses_an_executable_node_that_nothing_can_run():
    with pytest.raises(ValueError, match="needs a provider or a handler"):
        Registry([_spec(provider=None)])
    Registry([_spec("utility:note", provider=None, executable=False)])  # a sticky note is fine
    with pytest.raises(ValueError, match="provider or a handler, not both"):
        _spec(handler=lambda context: {})
    with pytest.raises(ValueError, match="instant node needs a handler"):
        _spec(provider=None, instant=True)


def test_built_in_nodes_declare_their_work_in_the_catalog():
    assert catalog.get("input:text").instant and catalog.get("input:text").handler
    assert not catalog.get("input:image").instant and catalog.get("input:image").handler
    for spec in catalog.all():
        assert not spec.executable or bool(spec.provider) != (spec.handler is not None)


def test_size_rules_are_served_with_the_node_types_they_constrain():
    served = {spec["nodeType"]: spec for spec in (s.to_api() for s in catalog.all())}
    assert served["generate:flux_2_pro"]["sizeRule"] == {
        "widthInput": "width", "heightInput": "height", "maxPixels": 4 * 1024 * 1024,
        "minSide": 256, "maxSide": 4096, "step": 16}
    assert served["generate:nano_banana_2"]["sizeRule"] is None


def test_declarations_refuse_unknown_types_and_duplicate_ids():
    with pytest.raises(ValueError):
        Input("x", "X", "picture", is_port=True)
    with pytest.raises(ValueError):
        Input("x", "X", "enum", is_port=False)
    with pytest.raises(ValueError):
        Output("x", "X", "integer")
    with pytest.raises(ValueError, match="duplicate"):
        _spec(outputs=(Output("a", "A", "image"), Output("a", "B", "image")))


def test_every_spec_serialises_to_the_api_catalog_shape():
    payload = json.loads(json.dumps([spec.to_api() for spec in catalog.all()]))
    for item in payload:
        assert {"nodeType", "label", "category", "description", "inputs", "outputs", "credits",
                "provider", "preview"} <= set(item)
        assert item["category"] == item["nodeType"].split(":")[0] and item["description"]
        for entry in item["inputs"]:
            assert {"id", "label", "type", "isPort", "required", "default", "min", "max",
                    "enum"} <= set(entry)
        for entry in item["outputs"]:
            assert set(entry) == {"id", "label", "type"}
    text = next(i for i in payload if i["nodeType"] == "input:text")
    assert [o["id"] for o in text["outputs"]] == ["prompt", "text"]


def test_every_default_is_a_valid_setting():
    for spec in catalog.all():
        for setting in spec.settings():
            assert check_setting(setting, setting.default) is None, (spec.node_type, setting.id)
        assert spec.defaults() == {s.id: s.default for s in spec.settings()}


@pytest.mark.parametrize("width,height,credits", [
    (1024, 1024, 3),   # 1 MP: $0.03
    (512, 512, 3),     # rounded up to 1 MP
    (1920, 1080, 5),   # 2 MP: 3 + 1.5, rounded up
    (1536, 1536, 6),   # 3 MP (2.25 rounded up): 3 + 3
    (2048, 2048, 8),   # 4 MP: 3 + 4.5 rounded up
])
def test_flux_pro_credits_follow_megapixels(width, height, credits):
    spec = catalog.get("generate:flux_2_pro")
    assert node_credits(spec, {"width": width, "height": height}) == credits


@pytest.mark.parametrize("node_type,at_1mp,at_4mp_with_two_refs", [
    # BFL's published FLUX.2 prices: first MP, then each further output or reference MP.
    ("generate:flux_2_pro", 3, 3 + 1.5 * (3 + 2)),
    ("generate:flux_2_max", 7, 7 + 3 * (3 + 2)),
    ("generate:flux_2_flex", 5, 5 + 5 * (3 + 2)),
    ("generate:flux_2_klein_4b", 1.4, 1.4 + 0.1 * (3 + 2)),
    ("generate:flux_2_klein_9b", 1.5, 1.5 + 0.2 * (3 + 2)),
])
def test_flux_prices_bill_output_and_reference_megapixels(node_type, at_1mp,
                                                          at_4mp_with_two_refs):
    spec = catalog.get(node_type)
    assert spec.credits({"width": 1024, "height": 1024}, Usage()) == pytest.approx(at_1mp)
    # Two references: 0.5 MP (billed as 1) and 1 MP.
    usage = Usage(references=(0.5, 1.0))
    assert spec.credits({"width": 2048, "height": 2048}, usage) == pytest.approx(
        at_4mp_with_two_refs)
    assert node_credits(spec, {"width": 2048, "height": 2048}, usage) == math.ceil(
        at_4mp_with_two_refs - 1e-9)
    assert spec.model == node_type.split(":")[1].replace("_", "-")
    assert spec.model_checked and spec.price_rule


def test_a_reference_larger_than_4_mp_is_billed_as_4():
    spec = catalog.get("generate:flux_2_pro")
    assert spec.credits({"width": 1024, "height": 1024}, Usage(references=(16.0,))) == 3 + 6


def test_gemini_prices_follow_the_size_and_the_images_delivered():
    nano, pro = catalog.get("generate:nano_banana_2"), catalog.get("generate:nano_banana_pro")
    assert nano.model == "gemini-3.1-flash-image" and pro.model == "gemini-3-pro-image"
    four = {"num_images": 4, "image_size": "1K"}
    assert node_credits(nano, four) == 27  # 4 × $0.067
    assert node_credits(nano, four, Usage(images=3)) == 21  # three arrived: 3 × 6.7
    assert node_credits(nano, {"num_images": 1, "image_size": "4K"}) == 16  # $0.151
    assert node_credits(nano, {"num_images": 2, "image_size": "512"}) == 9
    assert node_credits(pro, {"num_images": 1, "image_size": "2K"}) == 14  # $0.134
    assert node_credits(pro, {"num_images": 1, "image_size": "4K"}) == 24
    assert "512" not in pro.input("image_size").enum
    assert {"1:8", "8:1"} <= set(nano.input("aspect_ratio").enum)


def test_credits_at_defaults_and_per_setting():
    by_type = {spec.node_type: spec for spec in catalog.all()}
    assert by_type["generate:flux_2_pro"].to_api()["credits"] == 3
    assert by_type["generate:flux_2_klein_4b"].to_api()["credits"] == 2  # 1.4, in whole credits
    assert by_type["generate:nano_banana_2"].to_api()["credits"] == 7
    assert node_credits(by_type["generate:kling_video"], {"duration": 10}) == 56
    assert by_type["process:upscale_esrgan"].to_api()["credits"] == 2
    assert by_type["generate:local_preview"].to_api()["credits"] == 0
    assert node_credits(by_type["generate:flux_2_pro"], {"width": "wide", "height": None}) == 3


def test_kling_needs_a_prompt_and_has_no_aspect_ratio():
    kling = catalog.get("generate:kling_video")
    assert kling.input("prompt").required and kling.input("aspect_ratio") is None
    assert kling.input("cfg_scale").default == 0.5


def test_every_remote_node_declares_its_model_and_when_it_was_checked():
    for spec in catalog.all():
        if spec.provider not in (None, "local"):
            served = spec.to_api()
            assert served["model"] and served["modelChecked"] and served["priceRule"], \
                spec.node_type


def test_spec_lookups_and_flags():
    flux = catalog.get("generate:flux_2_pro")
    assert flux.provider == "bfl" and flux.model == "flux-2-pro"
    assert [p.id for p in flux.ports()] == ["prompt", "reference_images"]
    assert flux.input("reference_images").max_items == 8 and flux.input("prompt").inline
    assert flux.output("image").type == "image" and flux.input("nope") is None
    preview = catalog.get("generate:local_preview")
    assert preview.preview and "not an AI generation" in preview.description
    assert not catalog.get("utility:sticky_note").executable
    assert catalog.get("logic:router").output("output").type == "any"
