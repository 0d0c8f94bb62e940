"""POST /media/upload with {"url"}: fetched within one deadline, and a URL that cannot be
reached is the client's 400 in the error shape, never a 500."""

from __future__ import annotations

import socket
import time

import pytest

from executions.models import Asset
from tests.servers import (
    PUBLIC_ADDRESS,
    RawServer,
    no_route_out,
    rebinding_dns,
    serve_drip,
    serve_png,
    serve_slow_redirect,
)

pytestmark = [pytest.mark.django_db, pytest.mark.storage]


@pytest.fixture
def loopback(settings, tmp_path):
    settings.FETCH_ALLOW_PRIVATE = True  # the loopback servers below stand for the internet
    settings.MEDIA_ROOT = tmp_path
    servers = []

    def start(handle):
        servers.append(RawServer(handle))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_url_fetched_from_a_loopback_server_is_stored(api, loopback, media_storage):
    server = loopback(serve_png)
    response = api.post("/api/v1/media/upload",
                        {"url": f"http://127.0.0.1:{server.port}/blue.png"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["data"]["width"] == 8
    assert media_storage.names() == [Asset.objects.get().file.name]


def test_media_by_url_to_a_closed_port_answers_400_fetch_failed(api, loopback):
    response = api.post("/api/v1/media/upload",
                        {"url": f"http://127.0.0.1:{closed_port()}/a.png"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "fetch_failed" and "ConnectError" in body["error"]
    assert Asset.objects.count() == 0


def test_a_server_dripping_a_byte_a_second_is_cut_off_at_the_fetch_deadline(api, loopback,
                                                                            settings):
    settings.FETCH_TIMEOUT = 2
    server = loopback(serve_drip)  # 8 bytes, one a second: each read well within 2 s
    started = time.monotonic()
    response = api.post("/api/v1/media/upload",
                        {"url": f"http://127.0.0.1:{server.port}/slow.png"}, format="json")
    elapsed = time.monotonic() - started
    assert response.status_code == 400 and response.json()["code"] == "fetch_failed"
    assert "deadline" in response.json()["error"]
    assert elapsed < 3, elapsed
    assert Asset.objects.count() == 0


def test_the_fetch_deadline_spans_every_redirect_hop(api, loopback, settings):
    settings.FETCH_TIMEOUT = 2
    server = loopback(serve_slow_redirect)  # 0.8 s a hop: 3.2 s for the 4 hops allowed
    started = time.monotonic()
    response = api.post("/api/v1/media/upload",
                        {"url": f"http://127.0.0.1:{server.port}/hop0"}, format="json")
    elapsed = time.monotonic() - started
    assert response.status_code == 400 and response.json()["code"] == "fetch_failed"
    assert elapsed < 2.6, elapsed
    assert len(server.requests) == 3


def test_media_by_url_to_a_name_rebinding_to_loopback_never_reaches_it(api, loopback, settings,
                                                                      monkeypatch):
    settings.FETCH_ALLOW_PRIVATE = False
    server = loopback(serve_png)
    rebinding_dns(monkeypatch, name="rebind.test", answers=[PUBLIC_ADDRESS, "127.0.0.1"])
    dialled = no_route_out(monkeypatch)
    response = api.post("/api/v1/media/upload",
                        {"url": f"http://rebind.test:{server.port}/a.png"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "fetch_failed"
    assert server.requests == [] and dialled == [(PUBLIC_ADDRESS, server.port)]
    assert Asset.objects.count() == 0
