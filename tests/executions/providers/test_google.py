"""The real Gemini provider (Nano Banana 2 and Pro) against the simulator: one synchronous call
per image, each image that arrives delivered, nothing retried that Google may have billed."""

from __future__ import annotations

import time

import pytest

from executions import imaging
from executions.providers import Job, ProviderError, Result, get_provider
from tests.executions.conftest import point_providers_at, sim_script, sim_stats

MODEL = "gemini-3.1-flash-image"


def banana(prompt="a cow on the moon", aspect_ratio="16:9", references=(), model=MODEL,
           **config) -> Job:
    return Job(node_type="generate:nano_banana_2", model=model,
               config={"num_images": 1, "aspect_ratio": aspect_ratio, "image_size": "1K",
                       **config},
               inputs={"prompt": [prompt], "reference_images": list(references)}, seed=1)


def test_the_image_comes_back_inline_from_submit(simulated, make_media):
    result = get_provider("google").submit(banana(references=[make_media()]))
    assert isinstance(result, Result)
    [image] = result.outputs["image"]
    assert image.mime == "image/png"
    assert imaging.image_info(image.data) == ("image/png", 1344, 768)
    assert result.meta == {"model_version": MODEL, "usage": {"images": 1}}
    assert sim_stats(simulated)["google.submit"] == 1


def test_image_size_is_sent_and_honoured(simulated):
    result = get_provider("google").submit(banana(aspect_ratio="1:1", image_size="2K"))
    assert imaging.image_info(result.outputs["image"][0].data)[1:] == (2048, 2048)


def test_num_images_makes_that_many_requests_and_delivers_each_image(simulated):
    result = get_provider("google").submit(banana(num_images=4))
    images = result.outputs["image"]
    assert len(images) == 4 and result.meta["usage"] == {"images": 4}
    assert len({image.data for image in images}) == 4  # one seed each: four different images
    assert sim_stats(simulated)["google.submit"] == 4


def test_an_image_that_does_not_arrive_is_neither_delivered_nor_counted(simulated):
    sim_script(simulated, f"/v1beta/models/{MODEL}", [500])
    result = get_provider("google").submit(banana(num_images=3))
    assert len(result.outputs["image"]) == 2 and result.meta["usage"] == {"images": 2}
    assert "INTERNAL" in result.meta["missing"][0]


def test_when_no_image_arrives_the_node_fails_with_the_most_telling_reason(simulated):
    with pytest.raises(ProviderError) as raised:
        get_provider("google").submit(banana("sim:content-moderated", num_images=2))
    assert raised.value.kind == "moderated" and "IMAGE_SAFETY" in raised.value.message


@pytest.mark.parametrize("trigger, words", [
    ("sim:request-moderated", "blocked the prompt (PROHIBITED_CONTENT)"),
    ("sim:content-moderated", "IMAGE_SAFETY"),
])
def test_blocked_prompts_and_withheld_images_are_moderation(simulated, trigger, words):
    with pytest.raises(ProviderError) as raised:
        get_provider("google").submit(banana(f"something {trigger}"))
    assert raised.value.kind == "moderated" and words in raised.value.message


def test_an_answer_without_an_image_may_be_retried(simulated):
    with pytest.raises(ProviderError) as raised:
        get_provider("google").submit(banana("sim:error"))
    assert raised.value.transient and raised.value.kind == "retryable"


def test_a_retired_or_unknown_model_fails_with_googles_message(simulated):
    for model in ("gemini-3.1-flash-image-preview", "gemini-9-imaginary"):
        with pytest.raises(ProviderError) as raised:
            get_provider("google").submit(banana(model=model))
        assert raised.value.kind == "not_found" and not raised.value.transient
        assert f"models/{model} is not found" in raised.value.message


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


def test_a_lost_answer_is_not_retried_as_google_may_have_billed_it(settings, simulated):
    point_providers_at(settings, simulated.url, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(ProviderError) as raised:
        get_provider("google").submit(banana("sim:hang"))
    assert raised.value.kind == "failed" and not raised.value.transient
    assert "did not answer within 0.5 s; not retried" in raised.value.message
    assert time.monotonic() - started < 3


def test_a_malformed_key_is_refused_as_a_config_error(settings, simulated):
    point_providers_at(settings, simulated.url, api_key="not-a-google-key")
    with pytest.raises(ProviderError) as raised:
        get_provider("google").submit(banana())
    assert raised.value.kind == "config" and "API key not valid" in raised.value.message


def test_a_missing_key_header_is_refused_as_a_config_error(settings, simulated):
    point_providers_at(settings, simulated.url)
    provider = get_provider("google")
    response = provider.http.client.post(
        f"{simulated.url}/v1beta/models/{MODEL}:generateContent", json={"contents": []})
    assert response.status_code == 403
    assert provider.http.error_for(response).kind == "config"


def test_model_check_looks_the_model_up(simulated):
    provider = get_provider("google")
    assert provider.model_check(MODEL) is None
    assert provider.model_check("gemini-3-pro-image") is None
    assert "not found" in provider.model_check("gemini-3.1-flash-image-preview")
