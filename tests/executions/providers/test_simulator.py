"""The simulator itself: auth, expiring delivery URLs, control endpoints, many jobs in flight,
random failures, and the management command's clean shutdown."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from executions import imaging
from executions.providers import Job, Pending, ProviderError, get_provider
from tests.executions.conftest import sim_stats, until_done

ROOT = Path(__file__).resolve().parents[3]


def flux(prompt="a quiet harbour", size=256) -> Job:
    return Job(node_type="generate:flux_2_pro", model="flux-2-pro",
               config={"width": size, "height": size, "output_format": "jpeg"},
               inputs={"prompt": [prompt]}, seed=3)


def test_requests_without_the_vendors_auth_header_are_refused(simulator):
    assert httpx.post(f"{simulator.url}/v1/flux-2-pro", json={"prompt": "x"}).status_code == 403
    google = httpx.post(f"{simulator.url}/v1beta/models/m:generateContent", json={})
    assert google.status_code == 403 and google.json()["error"]["status"] == "PERMISSION_DENIED"
    assert httpx.post(f"{simulator.url}/fal-ai/esrgan", json={}).status_code == 401
    bearer = {"Authorization": "Bearer x"}
    assert httpx.post(f"{simulator.url}/fal-ai/esrgan", json={}, headers=bearer).status_code == 401
    assert sim_stats(simulator).get("bfl.submit") is None


def test_delivery_urls_expire_like_bfls(simulated):
    simulated.state.delivery_lifetime = 0.5
    provider = get_provider("bfl")
    pending = provider.submit(flux())
    headers = {"x-key": "test-key"}
    deadline = time.monotonic() + 10
    while (answer := httpx.get(pending.handle["polling_url"], headers=headers).json())[
            "status"] != "Ready":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    sample = answer["result"]["sample"]
    assert sample.startswith(simulated.url + "/delivery/")
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


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_command_serves_until_a_signal_then_stops_cleanly(signum):
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "wireflow_site.test_settings"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "provider_simulator", "--port", str(port),
         "--latency", "0.1"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        banner = process.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner, banner
        assert httpx.get(f"http://127.0.0.1:{port}/__sim/stats").json()["latency"] == 0.1
        process.send_signal(signum)
        output, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0 and "stopped" in output
