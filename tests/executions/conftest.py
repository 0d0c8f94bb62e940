"""The provider simulator on loopback, and settings that point the real providers at it."""

from __future__ import annotations

import copy

import httpx
import pytest



@pytest.fixture
def simulator(simulator_server):
    httpx.post(f"{simulator_server.url}/__sim/reset")
    simulator_server.state.latency = 0.3
    return simulator_server


def point_providers_at(settings, url: str, **overrides) -> None:
    providers = copy.deepcopy(settings.PROVIDERS)
    for alias in ("bfl", "google", "fal"):
        providers[alias]["OPTIONS"].update(base_url=url, api_key="test-key", **overrides)
    settings.PROVIDERS = providers


@pytest.fixture
def simulated(settings, simulator, tmp_path):
    """Real providers → the simulator; media into a temporary folder."""
    settings.MEDIA_ROOT = tmp_path
    point_providers_at(settings, simulator.url, timeout=5)
    return simulator


def sim_stats(simulator) -> dict:
    return httpx.get(f"{simulator.url}/__sim/stats").json()["stats"]


def sim_script(simulator, path_prefix: str, responses: list[int]) -> None:
    httpx.post(f"{simulator.url}/__sim/script",
               json={"path_prefix": path_prefix, "responses": responses})
