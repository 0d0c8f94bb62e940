"""The real BFL, Gemini and fal providers against the protocol simulator, through their public
methods only: success, moderation, 402, 429 then success, 5xx, timeouts, cancel, credentials."""

from __future__ import annotations

import io
import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from executions import imaging
from executions.providers import Job, Media, Pending, ProviderError, Result, get_provider
from tests.executions.conftest import sim_script, sim_stats

pytestmark = pytest.mark.django_db


def flux_job(prompt="a red fox in snow", **config) -> Job:
    settings = {"width": 512, "height": 384, "output_format": "png", "safety_tolerance": 2,
                "prompt_upsampling": False, **config}
    return Job(node_type="generate:flux_2_pro", model="flux-2-pro", config=settings,
               inputs={"prompt": [prompt]}, seed=42)


def image_media(size=(64, 48)) -> Media:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, "PNG")
    name = default_storage.save("tests/input.png", ContentFile(buffer.getvalue()))
    return Media(kind="image", storage_name=name, mime="image/png", sha256="x",
                 width=size[0], height=size[1])


def until_done(provider, job, outcome, timeout=15):
    deadline = time.monotonic() + timeout
    while isinstance(outcome, Pending):
        assert time.monotonic() < deadline, "the job never finished"
        time.sleep(0.1)
        outcome = provider.poll(job, outcome.handle)
    return outcome


def test_bfl_submits_once_polls_the_returned_url_and_downloads_a_real_image(simulated):
    bfl = get_provider("bfl")
    job = flux_job()
    pending = bfl.submit(job)
    assert isinstance(pending, Pending)
    assert pending.handle["polling_url"].startswith(simulated.url + "/v1/get_result?id=")
    result = until_done(bfl, job, pending)
    assert isinstance(result, Result)
    image = result.outputs["image"]
    assert image.mime == "image/png" and imaging.image_info(image.data)[1:] == (512, 384)
    stats = sim_stats(simulated)
    assert stats["bfl.submit"] == 1 and stats["bfl.poll"] >= 1


@pytest.mark.parametrize("mark, kind, words", [
    ("sim:request-moderated", "moderated", "request moderated"),
    ("sim:content-moderated", "moderated", "content moderated"),
    ("sim:error", "failed", "error"),
])
def test_bfl_moderation_and_errors_fail_with_the_vendors_reason(simulated, mark, kind, words):
    bfl = get_provider("bfl")
    job = flux_job(f"a picture {mark}")
    with pytest.raises(ProviderError) as raised:
        until_done(bfl, job, bfl.submit(job))
    assert raised.value.kind == kind and words in raised.value.message.lower()
    assert not raised.value.transient


def test_bfl_402_is_a_payment_error_and_task_not_found_is_reported(simulated):
    bfl = get_provider("bfl")
    with pytest.raises(ProviderError) as raised:
        bfl.submit(flux_job("sim:402"))
    assert raised.value.kind == "payment" and not raised.value.transient
    with pytest.raises(ProviderError) as missing:
        bfl.poll(flux_job(), {"id": "gone", "polling_url": f"{simulated.url}/v1/get_result?id=gone"})
    assert missing.value.kind == "not_found"


def test_bfl_429_then_success_and_5xx_are_transient(simulated):
    bfl = get_provider("bfl")
    sim_script(simulated, "/v1/flux-2-pro", [429, 500])
    with pytest.raises(ProviderError) as limited:
        bfl.submit(flux_job())
    assert limited.value.kind == "rate_limited" and limited.value.retry_after == 1
    with pytest.raises(ProviderError) as server:
        bfl.submit(flux_job())
    assert server.value.kind == "server" and server.value.transient
    assert isinstance(until_done(bfl, flux_job(), bfl.submit(flux_job())), Result)


def test_a_hanging_vendor_times_out(settings, simulated):
    from tests.executions.conftest import point_providers_at

    point_providers_at(settings, simulated.url, timeout=0.5)
    with pytest.raises(ProviderError) as raised:
        get_provider("bfl").submit(flux_job("sim:hang"))
    assert raised.value.kind == "timeout" and raised.value.transient


def test_gemini_answers_inline_base64_and_blocks_are_moderation(simulated):
    google = get_provider("google")
    job = Job(node_type="generate:nano_banana_2", model="gemini-3.1-flash-image-preview",
              config={"num_images": 1, "aspect_ratio": "16:9"}, inputs={"prompt": ["a cow"]},
              seed=1)
    result = google.submit(job)
    mime, width, height = imaging.image_info(result.outputs["image"].data)
    assert mime == "image/png" and width / height == pytest.approx(16 / 9, rel=0.01)
    blocked = Job(node_type=job.node_type, model=job.model, config=job.config,
                  inputs={"prompt": ["sim:content-moderated"]})
    with pytest.raises(ProviderError) as raised:
        google.submit(blocked)
    assert raised.value.kind == "moderated" and "SAFETY" in raised.value.message
    sim_script(simulated, "/v1beta/", [429])
    with pytest.raises(ProviderError) as limited:
        google.submit(job)
    assert limited.value.kind == "rate_limited" and "RESOURCE_EXHAUSTED" in limited.value.message


def test_fal_upscales_the_image_it_was_sent_and_makes_a_real_video(simulated):
    fal = get_provider("fal")
    media = image_media((64, 48))
    upscale = Job(node_type="process:upscale_esrgan", model="fal-ai/esrgan",
                  config={"scale": 4}, inputs={"image": [media]})
    result = until_done(fal, upscale, fal.submit(upscale))
    assert imaging.image_info(result.outputs["image"].data)[1:] == (256, 192)
    video_job = Job(node_type="generate:kling_video",
                    model="fal-ai/kling-video/v2.1/standard/image-to-video",
                    config={"duration": 5, "aspect_ratio": "16:9", "negative_prompt": ""},
                    inputs={"image": [media], "prompt": ["slow pan"]})
    video = until_done(fal, video_job, fal.submit(video_job), timeout=60).outputs["video"]
    info = imaging.video_info(video.data)
    assert video.mime == "video/mp4" and info["frames"] == 60 and info["duration"] == 5.0


def test_fal_cancel_stops_a_queued_job(simulated):
    simulated.state.latency = 30
    fal = get_provider("fal")
    job = Job(node_type="process:upscale_esrgan", model="fal-ai/esrgan", config={"scale": 2},
              inputs={"image": [image_media()]})
    pending = fal.submit(job)
    fal.cancel(pending.handle)
    assert sim_stats(simulated)["fal.cancel"] == 1


def test_no_credentials_means_a_clear_error_never_a_made_up_result(settings, simulated):
    from tests.executions.conftest import point_providers_at

    point_providers_at(settings, simulated.url)
    for alias in ("bfl", "google", "fal"):
        settings.PROVIDERS[alias]["OPTIONS"]["api_key"] = ""
    settings.PROVIDERS = dict(settings.PROVIDERS)
    with pytest.raises(ProviderError) as raised:
        get_provider("bfl").submit(flux_job())
    assert raised.value.kind == "config" and "BFL_API_KEY is not set" in raised.value.message
    with pytest.raises(ProviderError) as google:
        get_provider("google").submit(flux_job())
    assert "GEMINI_API_KEY" in google.value.message
    assert sim_stats(simulated) == {}
