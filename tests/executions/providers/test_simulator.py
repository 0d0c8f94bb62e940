"""The simulator itself: the vendors' key formats, model ids and validation, BFL's cost and
regional polling host, Gemini's image sizes and field spellings, fal's logs and metrics, the
request log, expiring delivery URLs, control endpoints, many jobs in flight, random failures,
and the management command's clean shutdown (also over TLS)."""

from __future__ import annotations

import base64
import io
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from PIL import Image

from executions import imaging
from executions.providers import Job, Pending, ProviderError, get_provider
from executions.simulator.keys import BFL_KEY, FAL_KEY, GEMINI_KEY
from tests.executions.conftest import sim_requests, sim_stats, until_done

ROOT = Path(__file__).resolve().parents[3]


def flux(prompt="a quiet harbour", size=256) -> Job:
    return Job(node_type="generate:flux_2_pro", model="flux-2-pro",
               config={"width": size, "height": size, "output_format": "jpeg"},
               inputs={"prompt": [prompt]}, seed=3)


BFL = {"x-key": BFL_KEY}
GOOGLE = {"x-goog-api-key": GEMINI_KEY}
FAL = {"Authorization": f"Key {FAL_KEY}"}
KLING = "fal-ai/kling-video/v2.1/standard/image-to-video"


def png_base64(size=(64, 64)) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 60, 90)).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_requests_without_the_vendors_auth_header_are_refused(simulator):
    bfl = httpx.post(f"{simulator.url}/v1/flux-2-pro", json={"prompt": "x"})
    assert bfl.status_code == 403 and bfl.json() == {"detail": "Not authenticated"}
    google = httpx.post(f"{simulator.url}/v1beta/models/gemini-3-pro-image:generateContent",
                        json={})
    assert google.status_code == 403 and google.json()["error"]["status"] == "PERMISSION_DENIED"
    assert httpx.post(f"{simulator.url}/fal-ai/esrgan", json={}).status_code == 401
    bearer = {"Authorization": f"Bearer {FAL_KEY}"}
    assert httpx.post(f"{simulator.url}/fal-ai/esrgan", json={}, headers=bearer).status_code == 401
    assert sim_stats(simulator).get("bfl.submit") is None and sim_requests(simulator) == []


def test_malformed_keys_get_each_vendors_own_answer(simulator):
    bfl = httpx.post(f"{simulator.url}/v1/flux-2-pro", json={"prompt": "x"},
                     headers={"x-key": "test-key"})
    assert bfl.status_code == 403 and "detail" in bfl.json()
    google = httpx.post(f"{simulator.url}/v1beta/models/gemini-3-pro-image:generateContent",
                        json={}, headers={"x-goog-api-key": "simulator-key"})
    error = google.json()["error"]
    assert google.status_code == 400 and error["status"] == "INVALID_ARGUMENT"
    assert error["message"] == "API key not valid. Please pass a valid API key."
    assert error["details"][0]["reason"] == "API_KEY_INVALID"
    fal = httpx.post(f"{simulator.url}/fal-ai/esrgan", json={},
                     headers={"Authorization": "Key test-key"})
    assert fal.status_code == 401 and isinstance(fal.json()["detail"], str)
    by_query = httpx.get(f"{simulator.url}/v1beta/models/gemini-3-pro-image?key={GEMINI_KEY}")
    assert by_query.status_code == 200 and by_query.json()["name"] == "models/gemini-3-pro-image"


def test_unknown_models_are_404_in_each_vendors_shape(simulator):
    bfl = httpx.post(f"{simulator.url}/v1/flux-pro-1.1", json={"prompt": "x"}, headers=BFL)
    assert bfl.status_code == 404 and bfl.json() == {"detail": "Not Found"}
    for version in ("v1", "v1beta"):
        google = httpx.post(f"{simulator.url}/{version}/models/gemini-3.1-flash-image-preview"
                            ":generateContent", json={"contents": [{"parts": [{"text": "x"}]}]},
                            headers=GOOGLE)
        assert google.status_code == 404 and google.json()["error"]["message"].startswith(
            f"models/gemini-3.1-flash-image-preview is not found for API version {version}")
    fal = httpx.post(f"{simulator.url}/fal-ai/no-such-model", json={"prompt": "x"}, headers=FAL)
    assert fal.status_code == 404 and "not found" in fal.json()["detail"]


@pytest.mark.parametrize(("model", "body", "field", "kind"), [
    ("flux-2-pro", {"width": 1000, "height": 1024}, "width", "multiple_of"),
    ("flux-2-pro", {"width": 48, "height": 1024}, "width", "greater_than_equal"),
    ("flux-2-pro", {"width": 2048, "height": 2560}, None, "value_error"),
    ("flux-2-pro", {"safety_tolerance": 7}, "safety_tolerance", "less_than_equal"),
    ("flux-2-pro", {"output_format": "webp"}, "output_format", "enum"),
    ("flux-2-pro", {"prompt": None}, "prompt", "missing"),
    ("flux-2-pro", {"prompt": ""}, "prompt", "string_too_short"),
    ("flux-2-pro", {"seed": "seven"}, "seed", "int_type"),
    ("flux-2-pro", {"input_image": "bm90IGFuIGltYWdl"}, "input_image", "value_error"),
    ("flux-2-flex", {"steps": 60}, "steps", "less_than_equal"),
    ("flux-2-flex", {"guidance": 1.0}, "guidance", "greater_than_equal"),
])
def test_bfl_refuses_what_bfl_refuses_with_a_fastapi_422(simulator, model, body, field, kind):
    request = {"prompt": "a harbour", "width": 1024, "height": 1024, **body}
    answer = httpx.post(f"{simulator.url}/v1/{model}",
                        json={k: v for k, v in request.items() if v is not None}, headers=BFL)
    assert answer.status_code == 422
    problem = answer.json()["detail"][0]
    assert problem["type"] == kind and problem["loc"] == (["body", field] if field else ["body"])
    assert sim_stats(simulator).get("bfl.submit") is None


def test_bfl_charges_published_prices_and_polls_on_the_other_host(simulator):
    assert "127.0.0.1" in {info[4][0] for info in socket.getaddrinfo("localhost", None)}
    port = simulator.url.rsplit(":", 1)[1]
    reference = png_base64((1024, 1024))
    pro = httpx.post(f"{simulator.url}/v1/flux-2-pro", headers=BFL, json={
        "prompt": "a harbour", "width": 2048, "height": 1024, "input_image": reference,
        "steps": 30, "prompt_upsampling": True}).json()
    assert (pro["cost"], pro["input_mp"], pro["output_mp"]) == (6.0, 1.0, 2.0)  # 3 + 1.5 × 2
    assert pro["polling_url"] == f"http://localhost:{port}/v1/get_result?id={pro['id']}"
    assert sim_requests(simulator, "bfl")[-1]["ignored"] == ["prompt_upsampling", "steps"]
    klein = httpx.post(f"{simulator.url}/v1/flux-2-klein-4b", headers=BFL, json={
        "prompt": "x", "width": 1024, "height": 1024, "input_image": png_base64(),
        "input_image_2": f"data:image/png;base64,{png_base64()}"}).json()
    assert klein["cost"] == 1.6  # 1.4 + 0.1 × (0 + 1 + 1)
    via_localhost = httpx.post(f"http://localhost:{port}/v1/flux-2-max", headers=BFL,
                               json={"prompt": "x", "width": 1456, "height": 1456}).json()
    assert via_localhost["cost"] == 13.0  # 2.02 MP: 7 + 3 × (3 − 1)
    assert via_localhost["polling_url"].startswith(simulator.url + "/v1/get_result?id=")
    deadline = time.monotonic() + 10
    while (answer := httpx.get(pro["polling_url"], headers=BFL).json())["status"] == "Pending":
        assert time.monotonic() < deadline and "cost" not in answer
        time.sleep(0.05)
    assert answer["status"] == "Ready" and "cost" not in answer
    image = httpx.get(answer["result"]["sample"]).content
    assert imaging.image_info(image)[1:] == (2048, 1024)


def test_gemini_reads_snake_case_honours_image_size_and_refuses_unknown_fields(simulator):
    url = f"{simulator.url}/v1/models/gemini-3-pro-image:generateContent"
    body = {"contents": [{"role": "user", "parts": [
        {"text": "a dune"}, {"inline_data": {"mime_type": "image/png", "data": png_base64()}}]}],
        "generation_config": {"response_modalities": ["IMAGE"],
                              "image_config": {"aspect_ratio": "4:5", "image_size": "2K"}}}
    answer = httpx.post(url, json=body, headers=GOOGLE, timeout=30).json()
    part = answer["candidates"][0]["content"]["parts"][-1]
    data = base64.b64decode(part["inlineData"]["data"])
    assert imaging.image_info(data)[1:] == (1792, 2304) and part["thoughtSignature"]
    assert answer["usageMetadata"]["totalTokenCount"] > 0 and answer["responseId"]
    refused = httpx.post(url, headers=GOOGLE, json={**body, "generation_config": {
        "image_config": {"aspectRatio": "1:1", "quality": "high"}}})
    assert refused.status_code == 400 and 'Unknown name "quality"' in \
        refused.json()["error"]["message"]
    no_contents = httpx.post(url, headers=GOOGLE, json={"contents": []})
    assert no_contents.status_code == 400
    assert "contents is not specified" in no_contents.json()["error"]["message"]
    ignored_402 = httpx.post(url, headers=GOOGLE, json={"contents": [{"parts": [
        {"text": "sim:402"}]}], "generationConfig": {"imageConfig": {"imageSize": "1K"}}})
    assert ignored_402.status_code == 200  # Google has no 402


def test_fal_validates_each_apps_schema(simulator):
    image = f"data:image/png;base64,{png_base64()}"
    for body, field, kind in [
        ({"image_url": image}, "prompt", "missing"),
        ({"image_url": image, "prompt": "x", "duration": 5}, "duration", "literal_error"),
        ({"image_url": image, "prompt": "x", "cfg_scale": 2}, "cfg_scale", "less_than_equal"),
    ]:
        answer = httpx.post(f"{simulator.url}/{KLING}", json=body, headers=FAL)
        assert answer.status_code == 422
        assert answer.json()["detail"][0]["loc"] == ["body", field]
        assert answer.json()["detail"][0]["type"] == kind
    scale = httpx.post(f"{simulator.url}/fal-ai/esrgan", json={"image_url": image, "scale": 9},
                       headers=FAL)
    assert scale.status_code == 422
    locked = httpx.post(f"{simulator.url}/fal-ai/esrgan", headers=FAL,
                        json={"image_url": image, "note": "sim:402"})
    assert locked.status_code == 403 and "User is locked" in locked.json()["detail"]


def test_fal_status_carries_logs_and_metrics(simulator):
    # Long enough that the first status read lands before the job ends on a loaded machine.
    httpx.post(f"{simulator.url}/__sim/config", json={"latency": 3.0}).raise_for_status()
    image = f"data:image/png;base64,{png_base64()}"
    submitted = httpx.post(f"{simulator.url}/{KLING}", headers=FAL, json={
        "image_url": image, "prompt": "a pan", "aspect_ratio": "9:16"}).json()
    assert set(submitted) == {"request_id", "response_url", "status_url", "cancel_url",
                              "queue_position"}
    assert submitted["status_url"].startswith(f"{simulator.url}/fal-ai/kling-video/requests/")
    first = httpx.get(submitted["status_url"], headers=FAL)
    assert first.status_code == 202 and first.json()["logs"] is None
    deadline = time.monotonic() + 10
    while (status := httpx.get(submitted["status_url"], params={"logs": 1},
                               headers=FAL)).status_code == 202:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    done = status.json()
    assert done["status"] == "COMPLETED" and done["metrics"]["inference_time"] > 0
    assert {"message", "level", "source", "timestamp"} <= set(done["logs"][0])
    video = httpx.get(submitted["response_url"], headers=FAL).json()["video"]
    assert video["content_type"] == "video/mp4"
    assert sim_requests(simulator, "fal")[0]["ignored"] == ["aspect_ratio"]


def test_the_request_log_redacts_images_and_is_cleared_by_reset(simulator):
    data = png_base64()
    httpx.post(f"{simulator.url}/v1/flux-2-pro", headers=BFL,
               json={"prompt": "x", "width": 512, "height": 512, "input_image": data})
    entry = sim_requests(simulator)[-1]
    assert entry["vendor"] == "bfl" and entry["method"] == "POST"
    assert entry["path"] == "/v1/flux-2-pro" and entry["status"] == 200
    assert entry["body"]["input_image"] == f"<{len(base64.b64decode(data))} bytes>"
    httpx.post(f"{simulator.url}/__sim/reset").raise_for_status()
    assert sim_requests(simulator) == []


def test_delivery_urls_expire_like_bfls(simulated):
    simulated.state.delivery_lifetime = 0.5
    provider = get_provider("bfl")
    pending = provider.submit(flux())
    headers = {"x-key": BFL_KEY}
    deadline = time.monotonic() + 10
    while (answer := httpx.get(pending.handle["polling_url"], headers=headers).json())[
            "status"] != "Ready":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    sample = answer["result"]["sample"]  # on the host that was polled: the other one
    assert sample.startswith(simulated.url.replace("127.0.0.1", "localhost") + "/delivery/")
    http = provider.http
    data, mime = http.download(sample)
    assert mime == "image/jpeg" and imaging.image_info(data)[1:] == (256, 256)
    with pytest.raises(ProviderError) as not_json:
        http.send_json("GET", sample)  # a 200 that is not JSON is a broken answer
    assert not_json.value.kind == "server"
    time.sleep(0.6)
    with pytest.raises(ProviderError) as expired:
        http.download(sample)
    assert expired.value.status == 404 and "Expired" in expired.value.message


def test_a_hundred_and_twenty_jobs_in_flight_each_submitted_once(simulated):
    simulated.state.latency = 2.0
    provider = get_provider("bfl")
    jobs = [flux(f"harbour {n}", size=128) for n in range(120)]
    with ThreadPoolExecutor(max_workers=24) as pool:
        pending = list(pool.map(provider.submit, jobs))
        assert sim_stats(simulated)["max_active"] == 120
        results = list(pool.map(lambda pair: until_done(provider, *pair, timeout=30),
                                zip(jobs, pending)))
    assert all(imaging.image_info(r.outputs["image"].data)[1:] == (128, 128) for r in results)
    stats = sim_stats(simulated)
    assert stats["bfl.submit"] == 120 and stats["delivery"] == 120


def test_slow_jobs_stay_pending_past_the_normal_latency(simulated):
    provider = get_provider("bfl")
    job = flux("sim:slow")
    pending = provider.submit(job)
    time.sleep(simulated.state.latency + 0.2)
    later = provider.poll(job, pending.handle)
    assert isinstance(later, Pending) and later.progress < 0.1


def test_fail_rate_and_reset_through_the_control_endpoints(simulated):
    httpx.post(f"{simulated.url}/__sim/config", json={"fail_rate": 1.0}).raise_for_status()
    with pytest.raises(ProviderError) as raised:
        get_provider("bfl").submit(flux())
    assert raised.value.kind == "server" and raised.value.status == 503
    httpx.post(f"{simulated.url}/__sim/reset").raise_for_status()
    pending = get_provider("bfl").submit(flux())
    httpx.post(f"{simulated.url}/__sim/reset").raise_for_status()
    with pytest.raises(ProviderError) as forgotten:
        get_provider("bfl").poll(flux(), pending.handle)
    assert forgotten.value.kind == "not_found"
    assert httpx.get(f"{simulated.url}/__sim/stats").json()["fail_rate"] == 0.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serve_until(signum: int, *options: str):
    """Run `provider_simulator` with `options`; yields (port, banner line) to a `with` body,
    then sends `signum` and checks that the command stopped cleanly."""
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "wireflow_site.test_settings"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "provider_simulator", "--port", str(port),
         "--latency", "0.1", *options], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        yield port, process.stdout.readline()
        process.send_signal(signum)
        output, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0 and "stopped" in output


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_command_serves_until_a_signal_then_stops_cleanly(signum):
    with serve_until(signum) as (port, banner):
        assert f"http://127.0.0.1:{port}" in banner, banner
        assert httpx.get(f"http://127.0.0.1:{port}/__sim/stats").json()["latency"] == 0.1


def test_the_command_serves_https_with_a_certificate(tls_files):
    cert, key = tls_files
    with serve_until(signal.SIGTERM, "--tls-cert", cert, "--tls-key", key) as (port, banner):
        assert f"https://127.0.0.1:{port}" in banner, banner
        with httpx.Client(verify=ssl_context(cert)) as client:
            assert client.get(f"https://127.0.0.1:{port}/__sim/stats").json()["latency"] == 0.1
            answer = client.post(f"https://localhost:{port}/v1/flux-2-pro",
                                 headers=BFL, json={"prompt": "x", "width": 256, "height": 256})
            assert answer.json()["polling_url"].startswith(f"https://127.0.0.1:{port}/")
        with pytest.raises(httpx.ConnectError):  # an untrusted certificate is refused
            httpx.get(f"https://127.0.0.1:{port}/__sim/stats")


def ssl_context(cafile: str):
    import ssl

    return ssl.create_default_context(cafile=cafile)


def test_settings_fill_in_the_simulators_sample_keys():
    from django.conf import settings

    from executions.simulator.keys import SAMPLE_KEYS, well_formed

    expected = {"BFL_API_KEY": SAMPLE_KEYS["bfl"], "GEMINI_API_KEY": SAMPLE_KEYS["google"],
                "FAL_KEY": SAMPLE_KEYS["fal"], "OPENAI_API_KEY": SAMPLE_KEYS["openai"],
                "OPENROUTER_API_KEY": SAMPLE_KEYS["openrouter"]}
    in_settings = settings.SIMULATOR_KEYS
    assert in_settings == expected
    assert all(well_formed(vendor, key) for vendor, key in SAMPLE_KEYS.items())
