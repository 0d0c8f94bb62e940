"""Contract tests: the vendors' own Python SDKs, unchanged but for base URL/host and key, talk
to the simulator and get what the vendor would answer. If an SDK cannot, the simulator is
wrong. Black Forest Labs publishes no SDK covering FLUX.2 (PyPI `blackforest` 0.1.3 knows
FLUX.1 models only), so BFL has none here.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from google import genai
from google.genai import errors, types
from PIL import Image

from executions.simulator import SimulatorServer
from executions.simulator.keys import FAL_KEY, GEMINI_KEY
from tests.executions.conftest import sim_requests

FLASH, PRO = "gemini-3.1-flash-image", "gemini-3-pro-image"
FAL_SCENARIOS = Path(__file__).with_name("fal_sdk_scenarios.py")


def gemini(url: str, *, version: str = "v1beta", key: str = GEMINI_KEY) -> genai.Client:
    """The official client, pointed at the simulator. Keep a reference while using
    `.models`: a dropped Client closes its HTTP pool."""
    return genai.Client(api_key=key,
                        http_options=types.HttpOptions(base_url=url, api_version=version))


@pytest.fixture
def client(simulator):
    with gemini(simulator.url) as client:
        yield client


def image_config(**image) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(response_modalities=["IMAGE"],
                                       image_config=types.ImageConfig(**image))


def images_of(response) -> list[tuple[bool, tuple[int, int]]]:
    """(is a thought, pixel size) of each image part of the first candidate."""
    return [(bool(part.thought), Image.open(io.BytesIO(part.inline_data.data)).size)
            for part in response.candidates[0].content.parts if part.inline_data]


# --- google-genai ----------------------------------------------------------------------------
@pytest.mark.parametrize(("model", "ratio", "size", "pixels"), [
    (FLASH, "16:9", "512", (672, 384)),
    (FLASH, "1:8", "1K", (384, 3072)),
    (PRO, "1:1", "1K", (1024, 1024)),
    (PRO, "3:4", "2K", (1728, 2368)),
])
def test_genai_text_to_image_comes_back_in_the_size_asked_for(client, simulator, model, ratio,
                                                              size, pixels):
    response = client.models.generate_content(
        model=model, contents="a lighthouse at dusk",
        config=image_config(aspect_ratio=ratio, image_size=size))
    assert images_of(response) == [(False, pixels)]
    candidate = response.candidates[0]
    assert candidate.finish_reason == types.FinishReason.STOP
    assert candidate.content.parts[-1].thought_signature
    assert response.model_version == model and response.response_id
    assert response.usage_metadata.candidates_token_count > 0
    sent = sim_requests(simulator, "google")[-1]
    assert sent["body"]["generationConfig"]["imageConfig"] == {"aspectRatio": ratio,
                                                               "imageSize": size}


def test_genai_reference_images_as_pil_and_bytes_arrive_inline(client, simulator):
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "blue").save(buffer, "PNG")
    response = client.models.generate_content(
        model=PRO, config=image_config(aspect_ratio="4:3"),
        contents=["put them side by side", Image.new("RGB", (48, 40), "red"),
                  types.Part.from_bytes(data=buffer.getvalue(), mime_type="image/png")])
    assert images_of(response) == [(False, (1184, 864))]
    parts = sim_requests(simulator, "google")[-1]["body"]["contents"][0]["parts"]
    assert parts[0] == {"text": "put them side by side"}
    assert [part["inlineData"]["data"] for part in parts[1:]] == [
        parts[1]["inlineData"]["data"], f"<{len(buffer.getvalue())} bytes>"]


def test_genai_sees_thought_parts_when_it_asks_for_them(client, simulator):
    config = image_config(aspect_ratio="1:1", image_size="1K")
    config.thinking_config = types.ThinkingConfig(include_thoughts=True)
    response = client.models.generate_content(
        model=FLASH, contents="a fox", config=config)
    parts = response.candidates[0].content.parts
    assert [bool(part.thought) for part in parts] == [True, True, False]
    assert parts[0].text and images_of(response) == [(True, (512, 512)), (False, (1024, 1024))]
    assert response.usage_metadata.thoughts_token_count > 0


def test_genai_blocked_prompt_withheld_image_and_no_image(client, simulator):
    blocked = client.models.generate_content(model=PRO, contents="sim:request-moderated")
    assert blocked.prompt_feedback.block_reason == types.BlockedReason.PROHIBITED_CONTENT
    assert not blocked.candidates
    withheld = client.models.generate_content(model=PRO, contents="sim:content-moderated")
    assert withheld.candidates[0].finish_reason == types.FinishReason.IMAGE_SAFETY
    assert withheld.candidates[0].content is None
    failed = client.models.generate_content(model=FLASH, contents="sim:error")
    assert failed.candidates[0].finish_reason == types.FinishReason.NO_IMAGE
    text = client.models.generate_content(model=FLASH, contents="sim:text-only")
    assert text.text and not images_of(text)


def test_genai_429_carries_retry_info_and_5xx_is_a_server_error(client, simulator):
    with pytest.raises(errors.ClientError) as limited:
        client.models.generate_content(model=PRO, contents="sim:429")
    assert limited.value.code == 429 and limited.value.status == "RESOURCE_EXHAUSTED"
    details = limited.value.details["error"]["details"]
    assert details[0]["@type"] == "type.googleapis.com/google.rpc.RetryInfo"
    assert limited.value.response.headers["retry-after"] == "1"
    with pytest.raises(errors.ServerError) as broken:
        client.models.generate_content(model=PRO, contents="sim:500")
    assert broken.value.code == 500 and broken.value.status == "INTERNAL"
    httpx.post(f"{simulator.url}/__sim/script",
               json={"path_prefix": "/v1beta/", "responses": [503]}).raise_for_status()
    with pytest.raises(errors.ServerError) as overloaded:
        client.models.generate_content(model=PRO, contents="a dog")
    assert overloaded.value.code == 503 and overloaded.value.status == "UNAVAILABLE"


@pytest.mark.parametrize("model", ["gemini-3.1-flash-image-preview", "gemini-2.0-flash-exp"])
def test_genai_unknown_and_retired_models_are_404_with_googles_message(client, model):
    with pytest.raises(errors.ClientError) as missing:
        client.models.generate_content(model=model, contents="x")
    assert missing.value.code == 404 and missing.value.status == "NOT_FOUND"
    assert missing.value.message == (
        f"models/{model} is not found for API version v1beta, or is not supported for "
        "generateContent. Call ListModels to see the list of available models and their "
        "supported methods.")


def test_genai_malformed_key_is_api_key_invalid(simulator):
    with gemini(simulator.url, key="AIza-too-short") as bad, \
            pytest.raises(errors.ClientError) as refused:
        bad.models.generate_content(model=PRO, contents="x")
    assert refused.value.code == 400 and refused.value.status == "INVALID_ARGUMENT"
    assert refused.value.message == "API key not valid. Please pass a valid API key."
    info = refused.value.details["error"]["details"][0]
    assert info["reason"] == "API_KEY_INVALID" and info["domain"] == "googleapis.com"


def test_genai_refuses_what_google_refuses(client):
    for model, config in [(PRO, image_config(aspect_ratio="1:8")),
                          (PRO, image_config(image_size="512")),
                          (FLASH, image_config(image_size="1k")),
                          (FLASH, types.GenerateContentConfig(candidate_count=2))]:
        with pytest.raises(errors.ClientError) as refused:
            client.models.generate_content(model=model, contents="x", config=config)
        assert refused.value.code == 400 and refused.value.status == "INVALID_ARGUMENT"
    assert "Multiple candidates" in refused.value.message


@pytest.mark.parametrize("version", ["v1beta", "v1"])
def test_genai_models_get_and_generate_on_both_api_versions(simulator, version):
    with gemini(simulator.url, version=version) as client:
        check_models_and_generate(client)
    assert sim_requests(simulator, "google")[-1]["path"].startswith(f"/{version}/models/")


def check_models_and_generate(client: genai.Client) -> None:
    model = client.models.get(model=PRO)
    assert model.name == f"models/{PRO}" and "generateContent" in model.supported_actions
    assert {m.name for m in client.models.list()} == {f"models/{FLASH}", f"models/{PRO}"}
    response = client.models.generate_content(model=FLASH, contents="a boat",
                                              config=image_config(aspect_ratio="9:16"))
    assert images_of(response) == [(False, (768, 1344))]


@pytest.fixture(scope="module")
def tls_simulator(tls_files):
    cert, key = tls_files
    with SimulatorServer(latency=0.3, tls_cert=cert, tls_key=key) as server:
        yield server


def test_genai_over_https_trusting_the_certificate_through_ssl_cert_file(
        tls_simulator, tls_files, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", tls_files[0])
    assert tls_simulator.url.startswith("https://127.0.0.1:")
    with gemini(tls_simulator.url) as client:
        response = client.models.generate_content(
            model=FLASH, contents="a kite", config=image_config(image_size="512"))
    assert images_of(response) == [(False, (512, 512))]


# --- fal-client ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fal(tls_simulator, tls_files) -> dict:
    """Every fal-client scenario, run once in one subprocess against the HTTPS simulator."""
    env = {**os.environ, "FAL_QUEUE_RUN_HOST": tls_simulator.url.removeprefix("https://"),
           "SSL_CERT_FILE": tls_files[0], "SIM_URL": tls_simulator.url,
           "FAL_SAMPLE_KEY": FAL_KEY}
    env.pop("FAL_KEY", None)
    done = subprocess.run([sys.executable, str(FAL_SCENARIOS)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    outcomes = json.loads(done.stdout)
    crashed = {name: o["crashed"] for name, o in outcomes.items() if "crashed" in o}
    assert not crashed, "\n".join(crashed.values())
    return outcomes


def test_fal_esrgan_queue_status_logs_metrics_and_result(fal):
    run = fal["esrgan_with_logs"]
    assert run["kinds"][0] == "Queued" and run["kinds"][-1] == "Completed"
    assert "InProgress" in run["kinds"] and run["error"] is None
    assert run["in_progress_logs"][-1][0]["level"] == "INFO"
    assert [line["message"] for line in run["completed_logs"]][-1] == "Finished"
    assert run["metrics"]["inference_time"] > 0
    assert run["status_without_logs"] is None
    assert run["size"] == [120, 90]  # 40×30 at scale 3
    image = run["result"]["image"]
    assert image["content_type"] == "image/png" and (image["width"], image["height"]) == (120, 90)


def test_fal_kling_through_subscribe_ignores_aspect_ratio(fal):
    run = fal["kling_subscribe"]
    assert run["updates"][-1] == "Completed" and run["mime"] == "video/mp4"
    assert run["result"]["video"]["file_size"] == run["bytes"] > 0
    assert run["ignored"] == ["aspect_ratio"]
    assert run["body"]["image_url"].endswith(" bytes>")


def test_fal_cancel_a_slow_job(fal):
    run = fal["cancel_a_slow_job"]
    assert run["first"] == {"status": None}  # 202 CANCELLATION_REQUESTED: no error
    assert run["status"] == "Completed" and run["error"] == "Request was cancelled"
    assert run["again"]["status"] == 400 and "ALREADY_COMPLETED" in run["again"]["detail"]
    assert run["result"]["status"] == 400


def test_fal_validation_unknown_app_and_bad_key(fal):
    assert fal["missing_kling_prompt"]["status"] == 422
    assert fal["missing_kling_prompt"]["detail"] == [
        {"loc": ["body", "prompt"], "msg": "Field required", "type": "missing"}]
    assert fal["unknown_app"]["status"] == 404
    assert fal["malformed_key"]["status"] == 401


def test_fal_retries_a_429_itself_and_surfaces_a_500(fal):
    assert fal["retried_after_429"]["request_id"]
    assert fal["retried_after_429"]["statuses"] == [429, 200]
    assert fal["server_error"]["status"] == 500 and fal["server_error"]["attempts"] == 1


def test_fal_moderation_is_a_422_content_policy_violation(fal):
    moderated = fal["moderated"]
    assert moderated["status"] == 422
    assert moderated["detail"][0]["type"] == "content_policy_violation"
