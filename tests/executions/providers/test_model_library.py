"""Every model the library declares, run by the one fal provider against the simulator, which
holds each request to the same declaration; and the simulator refusing, in fal's 422 shape,
each kind of rule a declared schema has."""

from __future__ import annotations

import base64
import hashlib
import io
import subprocess

import httpx
import imageio_ffmpeg
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from executions import imaging
from executions.providers import Job, Media, get_provider
from executions.simulator import media as sim_media
from graph.catalog import catalog
from graph.catalog.library import image_size
from graph.catalog.registry import MODELS
from tests.executions.conftest import sim_requests, until_done
from tests.media_files import probe

FAL = {"Authorization": "Key 00000000-0000-4000-8000-000000000000:"
                        "0123456789abcdef0123456789abcdef"}
FAL_MODELS = [model for model in MODELS if model.provider == "fal"]


def _video_media() -> Media:
    data = sim_media.video(2, "16:9")
    name = default_storage.save("inputs/input.mp4", ContentFile(data))
    return Media(kind="video", storage_name=name, mime="video/mp4",
                 sha256=hashlib.sha256(data).hexdigest(), width=320, height=180)


def _job(model, make_media) -> Job:
    spec = catalog.get(model.node_type)
    inputs = {}
    for port in spec.ports():
        if port.type == "image":
            inputs[port.id] = [make_media((64, 48))] * (2 if port.multiple else 1)
        elif port.type == "video":
            inputs[port.id] = [_video_media()]
        elif port.type == "text":
            inputs[port.id] = ["a lighthouse at dusk"]
    return Job(node_type=model.node_type, model=model.endpoint, config=spec.defaults(),
               inputs=inputs, seed=7)


def _sound_codecs(data: bytes, suffix: str) -> set[str]:
    """The codecs of a file's audio streams, as ffmpeg reads them."""
    return {s["codec"] for s in probe(data, suffix)["streams"] if s["kind"] == "audio"}


@pytest.mark.parametrize("model", FAL_MODELS, ids=lambda m: m.node_type)
def test_each_declared_model_runs_against_the_simulator(simulated, make_media, model):
    provider = get_provider("fal")
    job = _job(model, make_media)
    result = until_done(provider, job, provider.submit(job), timeout=60)
    sent = sim_requests(simulated, "fal")[-1]
    assert sent["status"] == 200 and sent["ignored"] == []  # every field sent is in the schema
    output = result.outputs[model.answer.output_port]
    files = output if isinstance(output, list) else [output]
    spec = catalog.get(model.node_type)
    if model.answer.type == "image":
        wanted = job.config.get("num_images", 1)
        assert len(files) == wanted == result.meta["usage"]["images"]
        input_size = (64, 48) if model.size and model.size.rule == "input" else None
        vendor_values = {f.name: job.config.get(f.input_id) for f in model.fields}
        expected = image_size(model, {k: v for k, v in vendor_values.items() if v is not None},
                              input_size)
        for file in files:
            mime, width, height = imaging.image_info(file.data)
            assert (width, height) == expected
            if model.answer.transparent:
                assert mime == "image/png"
                assert Image.open(io.BytesIO(file.data)).mode == "RGBA"
    elif model.answer.type == "video":
        info = imaging.video_info(files[0].data)
        seconds = float(str(job.config.get("duration", 5)).removesuffix("s"))
        assert abs(info["duration"] - seconds) < 0.5
        if model.task == "audio":  # MMAudio: the video comes back with a soundtrack
            assert "aac" in _sound_codecs(files[0].data, "mp4")
    else:
        assert files[0].mime == "audio/mpeg" and "mp3" in _sound_codecs(files[0].data, "mp3")
    usage = result.meta["usage"]
    assert spec.credits(job.config, _usage(usage)) >= 0


def _usage(said):
    from executions.outputs import result_usage
    from executions.providers import Result

    return result_usage(Result({}, meta={"usage": said}))


@pytest.mark.parametrize("model", [m for m in FAL_MODELS if m.answer.type == "audio"],
                         ids=lambda m: m.node_type)
def test_audio_models_answer_real_audio_of_the_asked_length(simulator, model):
    """The simulator's own answer for each audio model: an MP3 ffmpeg reads, as long as the
    request asks (or as the text takes to say)."""
    body = {f.name: "the quick brown fox jumps over the lazy dog" for f in model.fields
            if f.kind == "prompt"}
    if model.answer.seconds:
        body[model.answer.seconds] = 3
    submitted = httpx.post(f"{simulator.url}/{model.endpoint}", json=body, headers=FAL)
    assert submitted.status_code == 200, submitted.text
    for _ in range(200):
        status = httpx.get(submitted.json()["status_url"], headers=FAL)
        if status.status_code == 200:
            break
    answer = httpx.get(submitted.json()["response_url"], headers=FAL).json()
    file = answer[model.answer.key]
    assert file["content_type"] == "audio/mpeg"
    data = httpx.get(file["url"]).content
    duration = _duration(data)
    expected = 3 if model.answer.seconds else model.answer.default_seconds \
        if model.price.unit != "kchars" else 43 / 15
    assert abs(duration - expected) <= max(0.6, expected * 0.03)  # MP3 frames pad the end


def _duration(data: bytes) -> float:
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".mp3") as handle:
        handle.write(data)
        handle.flush()
        said = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i",
                               handle.name], capture_output=True, text=True).stderr
    stamp = said.split("Duration: ", 1)[1].split(",", 1)[0]
    hours, minutes, seconds = stamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


# --- refusals: one per kind of rule a declared schema has -------------------------------------

def _png() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 10, 10)).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.mark.parametrize("endpoint, body, field, kind", [
    # a required field left out
    ("fal-ai/flux/dev", {"num_images": 1}, "prompt", "missing"),
    # wrong types: string, integer, number, boolean, list
    ("fal-ai/flux/dev", {"prompt": 42}, "prompt", "string_type"),
    ("fal-ai/flux/dev", {"prompt": "x", "num_inference_steps": 2.5}, "num_inference_steps",
     "int_type"),
    ("fal-ai/flux/dev", {"prompt": "x", "guidance_scale": "high"}, "guidance_scale",
     "float_type"),
    ("fal-ai/flux/dev", {"prompt": "x", "enable_safety_checker": "yes"},
     "enable_safety_checker", "bool_type"),
    ("fal-ai/bytedance/seedream/v4/edit", {"prompt": "x", "image_urls": "one"}, "image_urls",
     "list_type"),
    # out of range, both ends
    ("fal-ai/flux/dev", {"prompt": "x", "num_images": 0}, "num_images", "greater_than_equal"),
    ("fal-ai/veo3/fast", {"prompt": "x", "seed": 1.5}, "seed", "int_type"),
    ("fal-ai/clarity-upscaler", {"image_url": _png(), "upscale_factor": 5}, "upscale_factor",
     "less_than_equal"),
    # not among the options (and the same value of another type is not it either)
    ("fal-ai/ideogram/v3", {"prompt": "x", "rendering_speed": "FAST"}, "rendering_speed",
     "literal_error"),
    ("fal-ai/minimax/hailuo-02/standard/image-to-video",
     {"prompt": "x", "image_url": _png(), "duration": 6}, "duration", "literal_error"),
    # too long: a string, a list
    ("fal-ai/recraft/v3/text-to-image", {"prompt": "x" * 1001}, "prompt", "string_too_long"),
    ("fal-ai/bytedance/seedream/v4/edit", {"prompt": "x", "image_urls": [_png()] * 11},
     "image_urls", "too_long"),
    # media that is not a readable data URI
    ("fal-ai/bria/background/remove", {"image_url": "https://example.com/cat.png"},
     "image_url", "value_error"),
    ("fal-ai/mmaudio-v2", {"video_url": "data:video/mp4;base64,!!"}, "video_url",
     "value_error"),
    # an empty required prompt
    ("fal-ai/imagen4/preview", {"prompt": "  "}, "prompt", "string_too_short"),
    # FLUX.2 [pro] on fal (a route of generate:flux_2_pro): its tolerance is "1"–"5" as a
    # string, its custom size whole pixels
    ("fal-ai/flux-2-pro", {"prompt": "x", "safety_tolerance": "6"}, "safety_tolerance",
     "literal_error"),
    ("fal-ai/flux-2-pro", {"prompt": "x", "safety_tolerance": 2}, "safety_tolerance",
     "literal_error"),
    ("fal-ai/flux-2-pro", {"prompt": "x", "image_size": {"width": "wide", "height": 512}},
     "image_size", "model_attributes_type"),
    ("fal-ai/flux-2-pro", {"prompt": "x", "image_size": "huge"}, "image_size",
     "literal_error"),
])
def test_the_simulator_refuses_what_the_schema_refuses(simulator, endpoint, body, field, kind):
    answer = httpx.post(f"{simulator.url}/{endpoint}", json=body, headers=FAL)
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert any(d["loc"] == ["body", field] and d["type"] == kind for d in detail), detail
    assert all({"loc", "msg", "type"} <= set(d) for d in detail)
    assert httpx.get(f"{simulator.url}/__sim/stats").json()["stats"].get("fal.submit", 0) == 0


def test_a_field_outside_the_schema_is_ignored_and_logged_as_fal_does(simulator):
    answer = httpx.post(f"{simulator.url}/fal-ai/flux/schnell", headers=FAL,
                        json={"prompt": "x", "width": 512})
    assert answer.status_code == 200
    assert sim_requests(simulator, "fal")[-1]["ignored"] == ["width"]


def test_flux_2_pro_with_vendor_fal_goes_to_fal_with_its_size_and_tolerance(simulated,
                                                                          make_media):
    spec = catalog.get("generate:flux_2_pro")
    config = {**spec.defaults(), "vendor": "fal", "width": 1536, "height": 1024,
              "safety_tolerance": 3, "output_format": "png"}
    route = spec.route(config)
    assert (route.provider, route.model) == ("fal", "fal-ai/flux-2-pro")
    assert spec.route(spec.defaults()).provider == "bfl"  # BFL's own API by default
    provider = get_provider(route.provider)
    job = Job(node_type=spec.node_type, model=route.model, config=config,
              inputs={"prompt": ["a lighthouse at dusk"]}, seed=7)
    result = until_done(provider, job, provider.submit(job), timeout=60)
    sent = next(entry for entry in reversed(sim_requests(simulated, "fal"))
                if isinstance(entry.get("body"), dict) and "prompt" in entry["body"])
    assert sent["status"] == 200 and sent["ignored"] == []
    assert sent["body"]["image_size"] == {"width": 1536, "height": 1024}
    assert sent["body"]["safety_tolerance"] == "3" and sent["body"]["seed"] == 7
    (image,) = result.outputs["image"] if isinstance(result.outputs["image"], list) \
        else [result.outputs["image"]]
    assert imaging.image_info(image.data) == ("image/png", 1536, 1024)
    assert sent["path"] == "/fal-ai/flux-2-pro"


def test_flux_2_pro_on_fal_with_reference_images_goes_to_its_edit_app(simulated, make_media):
    """fal serves FLUX.2 [pro] edits at fal-ai/flux-2-pro/edit (prompt and `image_urls`); the
    same node with reference images goes there, a reference over 4 MP scaled down first, and
    the megapixels sent are the run's usage (fal bills input megapixels, as BFL does)."""
    spec = catalog.get("generate:flux_2_pro")
    config = {**spec.defaults(), "vendor": "fal", "width": 1024, "height": 768,
              "safety_tolerance": 4}
    provider = get_provider("fal")
    small, large = make_media((64, 48)), make_media((2600, 2000))  # 5.2 MP, over fal's 4
    job = Job(node_type=spec.node_type, model=spec.route(config).model, config=config,
              inputs={"prompt": ["put the cat on the boat"],
                      "reference_images": [small, large]}, seed=9)
    result = until_done(provider, job, provider.submit(job), timeout=60)
    submit = [e for e in sim_requests(simulated, "fal") if e["method"] == "POST"][-1]
    assert submit["path"] == "/fal-ai/flux-2-pro/edit" and submit["status"] == 200
    assert submit["ignored"] == []
    body = submit["body"]
    assert len(body["image_urls"]) == 2 and body["image_size"] == {"width": 1024,
                                                                   "height": 768}
    assert body["safety_tolerance"] == "4" and body["seed"] == 9
    references = result.meta["usage"]["references"]
    assert references[0] == round(64 * 48 / 1024 ** 2, 6)
    assert 3.99 < references[1] <= 4.0  # scaled to 4 MP before it was sent
    image = result.outputs["image"]
    image = image[0] if isinstance(image, list) else image
    assert imaging.image_info(image.data)[1:] == (1024, 768)
    # Without reference images the same node stays on the text-to-image app.
    plain = Job(node_type=spec.node_type, model=job.model, config=config,
                inputs={"prompt": ["a boat"]}, seed=9)
    until_done(provider, plain, provider.submit(plain), timeout=60)
    assert [e["path"] for e in sim_requests(simulated, "fal")
            if e["method"] == "POST"][-1] == "/fal-ai/flux-2-pro"


def test_fal_flux_2_pro_edit_app_refuses_what_fal_refuses(simulator):
    """The edit app requires `image_urls` (a list of data URIs / URLs), takes image_size
    "auto", a preset or {width, height}, and safety_tolerance "1"–"5" only."""
    url = f"{simulator.url}/fal-ai/flux-2-pro/edit"
    missing = httpx.post(url, headers=FAL, json={"prompt": "x"})
    assert missing.status_code == 422
    assert {"loc": ["body", "image_urls"], "msg": "Field required", "type": "missing"} in \
        missing.json()["detail"]
    image = _png()
    for bad, field in (({"image_urls": image}, "image_urls"),
                       ({"image_urls": [image], "safety_tolerance": "6"}, "safety_tolerance"),
                       ({"image_urls": [image], "image_size": "huge"}, "image_size")):
        answer = httpx.post(url, headers=FAL, json={"prompt": "x", **bad})
        assert answer.status_code == 422, bad
        assert [d["loc"] for d in answer.json()["detail"]] == [["body", field]]
    ok = httpx.post(url, headers=FAL, json={"prompt": "x", "image_urls": [image],
                                             "image_size": "auto"})
    assert ok.status_code == 200, ok.text


def test_fal_flux_2_pro_refuses_a_side_over_2560_as_its_schema_does(simulator):
    url = f"{simulator.url}/fal-ai/flux-2-pro"
    for size, kind in (({"width": 3072, "height": 1024}, "less_than_equal"),
                       ({"width": 1024, "height": 128}, "greater_than_equal")):
        answer = httpx.post(url, headers=FAL, json={"prompt": "x", "image_size": size})
        assert answer.status_code == 422, size
        assert [(d["loc"], d["type"]) for d in answer.json()["detail"]] == [
            (["body", "image_size"], kind)]
    ok = httpx.post(url, headers=FAL, json={"prompt": "x",
                                             "image_size": {"width": 2560, "height": 1536}})
    assert ok.status_code == 200, ok.text


def _jpeg_media() -> Media:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 140, 60)).save(buffer, "JPEG")
    data = buffer.getvalue()
    name = default_storage.save("inputs/input.jpg", ContentFile(data))
    return Media(kind="image", storage_name=name, mime="image/jpeg",
                 sha256=hashlib.sha256(data).hexdigest(), width=40, height=30)


def test_recraft_crisp_takes_png_only_and_a_jpeg_is_converted_before_it_is_sent(simulated,
                                                                                simulator):
    """fal's crisp upscale says its input "must be in PNG format": the simulator refuses a
    JPEG, and the provider sends any other image as a PNG."""
    url = f"{simulator.url}/fal-ai/recraft/upscale/crisp"
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30)).save(buffer, "JPEG")
    jpeg = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
    refused = httpx.post(url, headers=FAL, json={"image_url": jpeg})
    assert refused.status_code == 422
    assert [d["loc"] for d in refused.json()["detail"]] == [["body", "image_url"]]
    assert httpx.post(url, headers=FAL, json={"image_url": _png()}).status_code == 200
    provider = get_provider("fal")
    job = Job(node_type="process:upscale_recraft_crisp", model="fal-ai/recraft/upscale/crisp",
              config={}, inputs={"image": [_jpeg_media()]}, seed=None)
    result = until_done(provider, job, provider.submit(job), timeout=60)
    sent = [e for e in sim_requests(simulated, "fal") if e["method"] == "POST"][-1]
    assert sent["status"] == 200 and sent["path"] == "/fal-ai/recraft/upscale/crisp"
    assert imaging.image_info(result.outputs["image"].data)[1:] == (160, 120)  # ×4
