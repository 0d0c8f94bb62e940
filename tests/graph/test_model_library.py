"""The model library as data: declarations become node types whose price is a function of
their settings (one test per kind of price rule), and the README's table is the declarations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from executions.pricing import estimate, node_credits
from graph.catalog import Usage, catalog
from graph.catalog.library import TASKS, Field, Model, Price, model_table
from graph.catalog.registry import MODELS

README = Path(__file__).resolve().parents[2] / "README.md"


def node(node_id: str, node_type: str, **config) -> dict:
    return {"id": node_id, "type": "basedNode", "position": {"x": 0, "y": 0},
            "data": {"nodeType": node_type, "config": config}}


def edge(source: str, target: str, target_port: str, source_port: str) -> dict:
    return {"id": f"{source}-{target}", "source": source, "sourceHandle": f"out-{source_port}",
            "target": target, "targetHandle": f"in-{target_port}"}


def credits(node_type: str, usage: Usage = Usage(), **config) -> int:
    spec = catalog.get(node_type)
    return node_credits(spec, {**spec.defaults(), **config}, usage)


def test_the_library_declares_at_least_24_models_across_every_task():
    assert len(MODELS) >= 24
    assert {model.task for model in MODELS} == set(TASKS)
    for model in MODELS:
        spec = catalog.get(model.node_type)
        assert spec.declaration is model and spec.model == model.endpoint
        assert spec.to_api()["task"] == model.task and spec.to_api()["vendor"] == model.vendor
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", model.checked) and model.description
        assert len(model.description) <= 100, model.node_type  # one line in the palette


def test_kling_and_esrgan_keep_their_node_types_settings_and_credits():
    kling = catalog.get("generate:kling_video")
    assert [i.id for i in kling.inputs] == ["image", "prompt", "duration", "negative_prompt",
                                           "cfg_scale"]
    assert kling.defaults() == {"duration": 5, "negative_prompt": "", "cfg_scale": 0.5}
    # fal's price (2026-12-03): $0.28 for 5 s and $0.056 each further second.
    assert credits("generate:kling_video") == 28 and credits("generate:kling_video",
                                                             duration=10) == 56
    esrgan = catalog.get("process:upscale_esrgan")
    assert [i.id for i in esrgan.inputs] == ["image", "scale"]
    assert esrgan.input("scale").enum == (2, 4) and credits("process:upscale_esrgan") == 2


def test_per_image_prices_count_the_images_asked_for_and_delivered():
    assert credits("generate:seedream_4") == 3
    assert credits("generate:seedream_4", num_images=4) == 12
    assert credits("generate:seedream_4", Usage(images=2), num_images=4) == 6  # delivered
    # A tier picked by a setting: Recraft's vector style costs twice as much.
    assert credits("generate:recraft_v3", style="vector_illustration") == 8
    assert credits("generate:ideogram_v3", rendering_speed="QUALITY", num_images=2) == 18


def test_per_megapixel_prices_follow_the_output_size():
    assert credits("generate:flux_1_dev", image_size="square_hd") == 3  # 1 MP × 2.5, rounded up
    assert credits("generate:flux_1_dev", image_size="square_hd", num_images=4) == 10
    assert credits("generate:flux_1_schnell", image_size="square") == 1  # 0.25 MP bills as 1
    # An upscale of a 1024² image ×2 is 4 MP; the charge follows the image delivered.
    assert credits("process:upscale_clarity", Usage(input_pixels=1024 * 1024)) == 12
    assert credits("process:upscale_clarity", Usage(megapixels=(9.0,))) == 27


def test_per_second_prices_follow_the_duration_and_its_tier():
    assert credits("generate:hailuo_02") == 27  # 6 s at 768P × $0.045
    assert credits("generate:hailuo_02", resolution="512P", duration="10") == 17
    assert credits("generate:veo_3_fast", duration="4s", generate_audio=False) == 40
    assert credits("generate:luma_ray_2", duration="9s", resolution="1080p") == 360


def test_per_character_prices_follow_the_text():
    assert credits("generate:tts_elevenlabs", text="x" * 1500) == 15
    assert credits("generate:tts_elevenlabs", text="") == 50  # unknown: the 5,000 most
    assert credits("generate:tts_elevenlabs", Usage(characters=120), text="") == 2  # as sent


def test_a_per_run_price_ignores_the_settings():
    assert credits("generate:music_lyria_2") == credits("generate:music_lyria_2", seed=3) == 10


def test_the_estimate_reads_a_wired_text_and_a_sized_input_off_the_graph():
    nodes = [node("t", "input:text", prompt="Hello there, welcome."),
             node("tts", "generate:tts_elevenlabs", text="stale inline text " * 100)]
    quote = estimate(nodes, edges=[edge("t", "tts", "text", "text")])
    assert quote["breakdown"][0]["credits"] == 1  # 21 characters, not the stale 1,800
    flux = node("f", "generate:flux_1_dev", prompt="a cat", image_size="square_hd")
    clarity = node("c", "process:upscale_clarity", upscale_factor=2)
    quote = estimate([flux, clarity], edges=[edge("f", "c", "image", "image")])
    assert {line["nodeId"]: line["credits"] for line in quote["breakdown"]} == {"f": 3, "c": 12}


def test_an_input_sized_through_a_chain_is_exact_and_an_unknown_one_a_ceiling():
    from django.conf import settings

    flux = node("f", "generate:flux_1_dev", prompt="a cat", image_size="landscape_4_3")
    clarity = node("c", "process:upscale_clarity", upscale_factor=2)
    seedvr = node("s", "process:upscale_seedvr", upscale_factor=2)
    chain = [edge("f", "c", "image", "image"), edge("c", "s", "image", "image")]
    quote = estimate([flux, clarity, seedvr], edges=chain)
    # 0.75 MP → ×2 = 3 MP (9 credits) → ×2 = 12 MP at 0.1 credit: the sizes follow the chain.
    lines = {line["nodeId"]: line for line in quote["breakdown"]}
    assert {key: line["credits"] for key, line in lines.items()} == {"f": 3, "c": 9, "s": 2}
    assert "bound" not in lines["s"] and not quote["warnings"]
    # A fractional scale is not exact from a pixel count; an upload's size is not known: the
    # node is quoted at the pixel cap, the most an image it delivers may have.
    cap = -(-settings.MEDIA_MAX_PIXELS // 1024 ** 2)
    clarity["data"]["config"]["upscale_factor"] = 1.5
    quote = estimate([flux, clarity, seedvr], edges=chain)
    lines = {line["nodeId"]: line for line in quote["breakdown"]}
    assert lines["s"]["bound"] == "ceiling" and lines["s"]["credits"] == -(-cap // 10)
    assert quote["estimateComplete"] is True and "pixel cap" in quote["warnings"][0]
    upload = node("u", "input:image", url="https://example.com/a.png")
    fill = node("fill", "process:flux_fill", prompt="a hat", num_images=2)
    quote = estimate([upload, fill], edges=[edge("u", "fill", "image", "image")])
    assert quote["breakdown"][0]["credits"] == 2 * cap * 5


def test_known_sizes_price_our_files_and_pinned_outputs_exactly():
    """What executions.sizing looked up: our file an Image Input names, a pinned output's files
    (every one of them as references, the first into a one-image port)."""
    from executions.pricing import KnownSizes

    photo = node("u", "input:image", url="/media/uploads/photo.png")
    pro = node("p", "generate:flux_2_pro", prompt="a hat", width=1024, height=1024)
    wired = [edge("u", "p", "reference_images", "image")]
    # 1 MP out (3) + a reference: unknown, 4 MP (3 + 1.5 × 4 = 9); 1600×1200, 2 MP (6).
    unknown = estimate([photo, pro], edges=wired)
    assert unknown["breakdown"][0]["credits"] == 9 and unknown["breakdown"][0]["bound"]
    sizes = KnownSizes(urls={"/media/uploads/photo.png": 1600 * 1200})
    exact = estimate([photo, pro], edges=wired, sizes=sizes)
    assert exact["breakdown"][0]["credits"] == 6 and "bound" not in exact["breakdown"][0]
    assert exact["warnings"] == []
    made = node("g", "generate:flux_1_dev", prompt="two hats", num_images=2)
    clarity = node("c", "process:upscale_clarity", upscale_factor=2)
    graph = [made, pro, clarity]
    edges = [edge("g", "p", "reference_images", "image"), edge("g", "c", "image", "image")]
    pinned = KnownSizes(outputs={("g", "image"): (1600 * 1200, 4096 * 4096)})
    lines = {line["nodeId"]: line["credits"] for line in estimate(
        graph, only={"p", "c"}, edges=edges, sizes=pinned)["breakdown"]}
    # References 2 MP + 4 MP (16 MP is billed as 4): 3 + 1.5 × 6 = 12; Clarity takes the
    # first, 1600×1200 × 2² → 8 MP × 3 = 24.
    assert lines == {"p": 12, "c": 24}


def test_every_image_an_upstream_generator_makes_is_quoted_as_a_reference():
    """A generator asked for `num_images` sends every one of them as a reference: each is
    quoted, up to the most the port takes (the largest of them, when more are wired)."""
    dev = node("g", "generate:flux_1_dev", prompt="hats", image_size="landscape_4_3",
               num_images=3)
    klein = node("k", "generate:flux_2_klein_9b", prompt="a hat", width=1024, height=1024)
    wired = [edge("g", "k", "reference_images", "image")]
    lines = {line["nodeId"]: line for line in estimate([dev, klein], edges=wired)["breakdown"]}
    # Three 1024×768 references, 1 MP billed each: 1.5 + 0.2 × 3 = 2.1 → 3 (one: 1.7 → 2).
    assert lines["k"]["credits"] == 3 and "bound" not in lines["k"]
    nano = node("n", "generate:nano_banana_2", prompt="hats", num_images=4, image_size="2K",
                aspect_ratio="1:1")
    local = node("l", "generate:local_preview", prompt="a hat", width=512, height=512)
    wired = [edge("n", "k", "reference_images", "image"),
             edge("l", "k", "reference_images", "image")]
    # Five images into a port that takes 4: the four 2048² ones (4 MP each) are quoted,
    # 1.5 + 0.2 × 16 = 4.7 → 5 (a ceiling: the 512² one, sent instead, would cost less).
    quote = estimate([nano, local, klein], edges=wired)
    lines = {line["nodeId"]: line for line in quote["breakdown"]}
    assert lines["k"]["credits"] == 5 and lines["k"]["bound"] == "ceiling"
    assert any("the largest are quoted" in warning for warning in quote["warnings"])


def test_a_charge_never_counts_more_images_than_were_asked_for():
    assert credits("generate:seedream_4", Usage(images=9), num_images=2) == 6
    assert credits("process:upscale_clarity", Usage(megapixels=(4.0, 4.0, 4.0))) == 12
    assert credits("process:flux_fill", Usage(images=3, megapixels=(1.0, 2.0, 9.0)),
                   num_images=2) == 15


def test_a_text_longer_than_the_vendor_takes_is_a_problem_while_editing():
    from graph.validation import validate_graph

    long = node("r", "generate:recraft_v3", prompt="x" * 1001)
    found = validate_graph([long], []).violations
    issues = [v for v in found if v.get("rule") == "text_too_long"]
    assert issues and issues[0]["input"] == "prompt" and "1,000" in issues[0]["message"]
    fits = validate_graph([node("r", "generate:recraft_v3", prompt="x" * 1000)], []).violations
    assert not [v for v in fits if v.get("rule") == "text_too_long"]


def test_a_declaration_refuses_what_cannot_be_priced():
    with pytest.raises(ValueError, match="unknown fields"):
        Model(node_type="generate:broken", label="x", vendor="x", provider="fal",
              endpoint="fal-ai/x", task="video", description="x",
              fields=(Field("prompt", "prompt"),), answer=MODELS[0].answer,
              price=Price("second", 0.1, seconds="duration"), checked="2026-12-03")
    with pytest.raises(ValueError, match="options"):
        Field("style", "enum")


def test_the_readme_table_is_the_declarations():
    text = README.read_text()
    start = text.index("<!-- model-library:start -->")
    end = text.index("<!-- model-library:end -->")
    assert text[start:end].split("\n", 1)[1].strip() == model_table().strip(), \
        "README's model table drifted: paste graph.catalog.library.model_table()"


def test_no_declaration_rests_on_a_price_remembered():
    """Every price and bound is the vendor's published one, or says plainly what it rests on
    (issue 19): no declaration may cite memory, and each names where it was read."""
    from graph.catalog.models_image import FLUX_2_PRO_EDIT_FAL, FLUX_2_PRO_FAL

    for model in (*MODELS, FLUX_2_PRO_FAL, FLUX_2_PRO_EDIT_FAL):
        assert model.source, model.node_type
        assert "remember" not in f"{model.source} {model.unconfirmed}".lower(), model.node_type
    # Figures the vendors' pages corrected on 2026-12-03: Imagen 4 on fal is $0.04 an image.
    assert credits("generate:imagen_4", num_images=2) == 8


@pytest.mark.django_db
def test_get_nodes_serves_the_library_with_task_vendor_and_price(api):
    answer = api.get("/api/v1/nodes")
    assert answer.status_code == 200
    nodes = {item["nodeType"]: item for item in answer.json()["nodes"]}
    assert len(nodes) >= 40
    hailuo = nodes["generate:hailuo_02"]
    assert (hailuo["task"], hailuo["vendor"], hailuo["model"]) == (
        "video", "MiniMax", "fal-ai/minimax/hailuo-02/standard/image-to-video")
    assert hailuo["credits"] == 27 and "768P 4.5" in hailuo["priceRule"]
    assert hailuo["modelChecked"] == "2026-12-03"
    duration = next(i for i in hailuo["inputs"] if i["id"] == "duration")
    assert duration["enum"] == ["6", "10"] and duration["default"] == "6"


@pytest.mark.django_db
def test_flux_2_pro_is_one_node_with_a_vendor_choice_priced_per_vendor(api):
    from graph.validation import validate_graph

    nodes = {item["nodeType"]: item for item in api.get("/api/v1/nodes").json()["nodes"]}
    assert not [t for t in nodes if t.startswith("generate:flux_2_pro") and t != (
        "generate:flux_2_pro")]  # one palette entry
    vendor = next(i for i in nodes["generate:flux_2_pro"]["inputs"] if i["id"] == "vendor")
    assert vendor["enum"] == ["bfl", "fal"] and vendor["default"] == "bfl"
    assert "at BFL and at fal alike" in nodes["generate:flux_2_pro"]["priceRule"]
    # Each vendor's estimate is its price rule: 2048×1024 = 2 MP → 3 + 1.5.
    for chosen in ("bfl", "fal"):
        assert credits("generate:flux_2_pro", vendor=chosen, width=2048, height=1024) == 5
    # fal takes a tolerance of 1–5: 0 is a problem while editing, with BFL it is not.
    for chosen, expected in (("fal", ["vendor_setting"]), ("bfl", [])):
        found = validate_graph([node("p", "generate:flux_2_pro", prompt="x", vendor=chosen,
                                     safety_tolerance=0)], []).violations
        assert [v["rule"] for v in found if v.get("input") == "safety_tolerance"] == expected
    refused = validate_graph([node("p", "generate:flux_2_pro", prompt="x", vendor="azure")],
                             []).violations
    assert any(v.get("input") == "vendor" for v in refused)
    # fal's schema holds each side to 2,560 (BFL's to 4,096): 3072×1024 is a fal problem only.
    for chosen, expected in (("fal", ["vendor_setting"]), ("bfl", [])):
        found = validate_graph([node("p", "generate:flux_2_pro", prompt="x", vendor=chosen,
                                     width=3072, height=1024)], []).violations
        assert [v["rule"] for v in found if v.get("input") == "width"] == expected, found
