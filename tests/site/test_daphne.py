"""The app as daphne serves it (a real daphne on loopback, as `make run` starts it)."""

from __future__ import annotations

import httpx
import pytest

from tests.samples import offline_chain

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def daphne():
    from tests.conftest import _free_port
    from tests.live import LiveServer

    server = LiveServer(url=f"http://127.0.0.1:{_free_port()}").start()
    yield server
    server.stop()


@pytest.fixture
def key(team, make_key):
    return make_key(team).raw_key


@pytest.mark.parametrize("body", [b"", b"garbage", b"--x\r\nnot a part\r\n"],
                         ids=["empty", "garbage", "broken-part"])
def test_a_malformed_multipart_body_is_a_400_in_the_error_shape_with_a_request_id(
        daphne, key, body):
    response = httpx.post(f"{daphne.url}/api/v1/media/upload", content=body, headers={
        "Authorization": f"Bearer {key}",
        "Content-Type": "multipart/form-data; boundary=x"}, timeout=10)
    assert response.status_code == 400
    assert response.headers.get("X-Request-Id")
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()
    assert error["error"] and error["code"] in {"invalid_request", "malformed_body"}


def test_access_log_never_shows_the_status_secret_or_the_webhook_id(daphne, api):
    from executions.models import Execution

    hook = api.post("/api/v1/workflows", offline_chain(), format="json").json()["data"]
    webhook_id = hook["webhookUrl"].rstrip("/").split("/")[-2]
    trigger = f"{daphne.url}/api/v1/workflow/{webhook_id}/trigger"
    with httpx.Client(timeout=10) as http:
        started = http.post(trigger, json={"text-input-1": "a lighthouse"})
        assert started.status_code == 202, started.text
        status_url = started.json()["statusUrl"]
        secret = Execution.objects.get(pk=started.json()["executionId"]).status_secret
        assert f"secret={secret}" in status_url
        assert http.get(status_url).status_code == 200
        # Refusals are logged by Django as well as by daphne ("Bad Request: <path>").
        refused = http.post(trigger, content=b"{not json", headers={
            "Content-Type": "application/json"})
        assert refused.status_code == 400
        assert http.get(trigger).status_code == 200
    daphne.stop()  # every line written
    log = daphne.log.read_text()
    assert webhook_id not in log and secret not in log
    # The lines are there, cut to a prefix: the requests were logged, not dropped.
    assert f'"POST /api/v1/workflow/{webhook_id[:4]}.../trigger" 202' in log
    assert f'/status?secret={secret[:4]}..." 200' in log
    assert f"Bad Request: /api/v1/workflow/{webhook_id[:4]}.../trigger" in log


def test_the_assets_zip_is_served_by_daphne_as_a_stream(daphne, key):
    """Under ASGI the view hands Django an asynchronous iterator (a synchronous one Django
    would read whole before sending: its documented rule); this proves the archive it makes
    arrives whole and right through daphne."""
    import io
    import zipfile

    from tests.media_files import pillow

    sent = []
    with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {key}"}) as http:
        for size in ((64, 48), (80, 60), (96, 72)):
            data = pillow("PNG", size)
            uploaded = http.post(f"{daphne.url}/api/v1/media/upload",
                                 files={"file": ("a.png", data, "image/png")})
            assert uploaded.status_code == 201, uploaded.text
            sent.append((uploaded.json()["data"]["id"], data))
        with http.stream("POST", f"{daphne.url}/api/v1/assets/zip",
                         json={"ids": [pk for pk, _ in sent]}) as response:
            assert response.status_code == 200
            assert response.headers["Content-Type"] == "application/zip"
            # Streamed: no length known up front, the body comes in chunks.
            assert "content-length" not in response.headers
            body = b"".join(response.iter_bytes())
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert [archive.read(name) for name in archive.namelist()] == [data for _, data in sent]
