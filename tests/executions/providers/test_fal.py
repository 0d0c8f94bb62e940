"""The real fal provider (ESRGAN upscale, Kling image-to-video) against the simulator's queue."""

from __future__ import annotations

import time

import pytest

from executions import imaging
from executions.providers import Job, Pending, ProviderError, Result, get_provider
from tests.executions.conftest import point_providers_at, sim_script, sim_stats, until_done

KLING = "fal-ai/kling-video/v2.1/standard/image-to-video"


def esrgan(media, scale=2) -> Job:
    return Job(node_type="process:upscale_esrgan", model="fal-ai/esrgan",
               config={"scale": scale}, inputs={"image": [media]})


def kling(media, prompt="slow pan", **config) -> Job:
    settings = {"duration": 5, "aspect_ratio": "16:9", "negative_prompt": "", **config}
    return Job(node_type="generate:kling_video", model=KLING, config=settings,
               inputs={"image": [media], "prompt": [prompt]})


def test_esrgan_upscales_the_image_it_was_sent(simulated, make_media):
    provider = get_provider("fal")
    job = esrgan(make_media((64, 48)), scale=4)
    pending = provider.submit(job)
    root = f"{simulated.url}/fal-ai/esrgan/requests/{pending.handle['request_id']}"
    assert pending.handle == {"request_id": pending.handle["request_id"],
                              "status_url": f"{root}/status", "response_url": root,
                              "cancel_url": f"{root}/cancel"}
    result = until_done(provider, job, pending)
    assert imaging.image_info(result.outputs["image"].data) == ("image/png", 256, 192)
    stats = sim_stats(simulated)
    assert stats["fal.submit"] == 1 and stats["fal.result"] == 1


def test_kling_returns_a_real_mp4(simulated, make_media):
    provider = get_provider("fal")
    job = kling(make_media((160, 90)))
    video = until_done(provider, job, provider.submit(job), timeout=60).outputs["video"]
    info = imaging.video_info(video.data)
    assert (video.mime, video.extension) == ("video/mp4", "mp4")
    assert info["frames"] == 60 and info["duration"] == 5.0 and info["width"] > info["height"]


@pytest.mark.parametrize("prompt, kind, reason", [
    ("sim:content-moderated", "moderated", "content checker"),  # a content policy violation
    ("sim:error", "failed", "Simulated model error"),  # the vendor's own error, carried
])
def test_a_failed_job_fails_with_the_vendors_reason(simulated, make_media, prompt, kind, reason):
    provider = get_provider("fal")
    job = kling(make_media(), prompt=prompt)
    with pytest.raises(ProviderError) as raised:
        until_done(provider, job, provider.submit(job))
    assert raised.value.kind == kind and reason in raised.value.message


def test_an_exhausted_balance_is_a_payment_error(simulated, make_media):
    """fal locks an account out of credit with a 403, not a 402."""
    with pytest.raises(ProviderError) as raised:
        get_provider("fal").submit(kling(make_media(), prompt="sim:402"))
    assert raised.value.kind == "payment" and raised.value.status == 403
    assert "Exhausted balance" in raised.value.message


def test_429_then_success_and_5xx(simulated, make_media):
    provider = get_provider("fal")
    job = esrgan(make_media())
    sim_script(simulated, "/fal-ai/esrgan", [429, 502])
    with pytest.raises(ProviderError) as limited:
        provider.submit(job)
    assert limited.value.kind == "rate_limited" and limited.value.retry_after == 1.0
    with pytest.raises(ProviderError) as server:
        provider.submit(job)
    assert server.value.kind == "server" and server.value.transient
    assert isinstance(until_done(provider, job, provider.submit(job)), Result)
    assert sim_stats(simulated)["fal.submit"] == 1


def test_a_submit_whose_answer_is_lost_is_not_retried(settings, simulated, make_media):
    point_providers_at(settings, simulated.url, timeout=0.5)
    with pytest.raises(ProviderError) as raised:
        get_provider("fal").submit(kling(make_media(), prompt="sim:hang"))
    assert raised.value.kind == "failed" and not raised.value.transient


def test_cancel_stops_a_queued_request_and_ignores_a_finished_one(simulated, make_media):
    simulated.state.latency = 30
    provider = get_provider("fal")
    job = esrgan(make_media())
    pending = provider.submit(job)
    provider.cancel(pending.handle)
    assert sim_stats(simulated)["fal.cancel"] == 1
    with pytest.raises(ProviderError) as raised:
        provider.poll(job, pending.handle)
    assert raised.value.kind == "failed" and "cancelled" in raised.value.message
    provider.cancel(pending.handle)  # already completed: a 400 the provider ignores
    provider.cancel({})
    assert sim_stats(simulated)["fal.cancel"] == 1


def test_an_unknown_request_is_not_found(simulated, make_media):
    root = f"{simulated.url}/fal-ai/esrgan/requests/gone"
    handle = {"request_id": "gone", "status_url": f"{root}/status", "response_url": root,
              "cancel_url": f"{root}/cancel"}
    with pytest.raises(ProviderError) as raised:
        get_provider("fal").poll(esrgan(make_media()), handle)
    assert raised.value.kind == "not_found"
    get_provider("fal").cancel(handle)  # 404: nothing to cancel, no error


def test_polls_while_queued_are_pending(simulated, make_media):
    simulated.state.latency = 5
    provider = get_provider("fal")
    job = esrgan(make_media())
    pending = provider.submit(job)
    time.sleep(0.3)
    assert isinstance(provider.poll(job, pending.handle), Pending)
    provider.cancel(pending.handle)
