"""The real Gemini (Nano Banana 2) provider against the simulator: one synchronous call."""

from __future__ import annotations

import time

import pytest

from executions import imaging
from executions.providers import Job, ProviderError, Result, get_provider
from tests.executions.conftest import point_providers_at, sim_script, sim_stats

MODEL = "gemini-3.1-flash-image-preview"


def banana(prompt="a cow on the moon", aspect_ratio="16:9", references=()) -> Job:
    return Job(node_type="generate:nano_banana_2", model=MODEL,
               config={"num_images": 1, "aspect_ratio": aspect_ratio},
               inputs={"prompt": [prompt], "reference_images": list(references)}, seed=1)


def test_the_image_comes_back_inline_from_submit(simulated, make_media):
    result = get_provider("google").submit(banana(references=[make_media()]))
    assert isinstance(result, Result)
    image = result.outputs["image"]
    assert image.mime == "image/png"
    assert imaging.image_info(image.data) == ("image/png", 1344, 768)
    assert result.meta == {"model_version": MODEL}
    assert sim_stats(simulated)["google.submit"] == 1


@pytest.mark.parametrize("trigger, words", [
    ("sim:request-moderated", "blocked the prompt (PROHIBITED_CONTENT)"),
    ("sim:content-moderated", "IMAGE_SAFETY"),
])
def test_blocked_prompts_and_withheld_images_are_moderation(simulated, trigger, words):
    with pytest.raises(ProviderError) as raised:
        get_provider("google").submit(banana(f"something {trigger}"))
    assert raised.value.kind == "moderated" and words in raised.value.message


def test_402_is_a_payment_error(simulated):
    with pytest.raises(ProviderError) as raised:
        get_provider("google").submit(banana("sim:402"))
    assert raised.value.kind == "payment" and not raised.value.transient


def test_resource_exhausted_then_success(simulated):
    provider = get_provider("google")
    sim_script(simulated, f"/v1beta/models/{MODEL}", [429])
    with pytest.raises(ProviderError) as limited:
        provider.submit(banana())
    assert limited.value.kind == "rate_limited" and limited.value.retry_after == 1.0
    assert "RESOURCE_EXHAUSTED" in limited.value.message
    assert isinstance(provider.submit(banana()), Result)
    stats = sim_stats(simulated)
    assert stats["google.submit"] == 1 and stats["google.rejected"] == 1


def test_5xx_is_a_transient_server_error(simulated):
    with pytest.raises(ProviderError) as raised:
        get_provider("google").submit(banana("sim:500"))
    assert raised.value.kind == "server" and raised.value.transient
    assert "INTERNAL" in raised.value.message


def test_a_hanging_vendor_times_out(settings, simulated):
    point_providers_at(settings, simulated.url, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ProviderError) as raised:
        get_provider("google").submit(banana("sim:hang"))
    assert raised.value.kind == "timeout" and time.monotonic() - started < 3


def test_a_missing_key_header_is_refused_as_a_config_error(settings, simulated):
    point_providers_at(settings, simulated.url)
    provider = get_provider("google")
    response = provider.http.client.post(
        f"{simulated.url}/v1beta/models/{MODEL}:generateContent", json={"contents": []})
    assert response.status_code == 403
    assert provider.http.error_for(response).kind == "config"
