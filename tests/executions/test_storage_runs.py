"""A whole local run through a live worker process on each media backend: the worker reads its
inputs from and writes its outputs to the storage (S3: the loopback S3 server, nothing on a
local disk), and every URL the poll hands out fetches the file."""

from __future__ import annotations

import httpx
import pytest
from PIL import Image

from executions.models import Asset, NodeRun
from executions.selectors import execution_poll_payload
from executions.services import execution_start
from tests.conftest import FILESYSTEM_STORAGE, S3_STORAGE
from tests.executions.test_scheduler import chain, wait_done
from tests.media_files import fetched

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.storage]


@pytest.fixture(params=["filesystem", "s3"])
def worker_storage(request, settings):
    """The live worker of this backend, with this process's storage and queues matching it."""
    if request.param == "filesystem":
        request.getfixturevalue("live_worker")
        settings.STORAGES = {**settings.STORAGES,
                             "default": {"BACKEND": FILESYSTEM_STORAGE, "OPTIONS": {}}}
        return "filesystem"
    s3 = request.getfixturevalue("s3_server")
    worker = request.getfixturevalue("s3_live_worker")
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": S3_STORAGE, "OPTIONS": s3.storage_options()}}
    settings.CELERY_TASK_DEFAULT_QUEUE = worker.queue
    settings.CELERY_REMOTE_QUEUE = f"{worker.queue}.remote"
    return "s3"


def test_a_local_chain_through_the_live_worker_stores_and_serves_its_files(
        team, worker_storage, client, s3_server):
    execution = wait_done(execution_start(team=team, nodes=chain()[0], edges=chain()[1]))
    assert execution.status == "COMPLETED", execution.error
    runs = {r.node_id: r for r in NodeRun.objects.filter(execution=execution)}
    upscaled = Asset.objects.get(pk=runs["upscale"].outputs["image"]["asset"])
    with upscaled.file.open("rb") as handle:  # through this process's storage API
        assert Image.open(handle).size == (512, 384)
    video = runs["video"].assets.get()
    assert video.mime == "video/mp4" and video.frame_count == 12
    stored = s3_server.keys()
    for asset in Asset.objects.filter(node_run__execution=execution):
        assert (asset.file.name in stored) == (worker_storage == "s3")
        # Its thumbnails were made by the worker, in the same storage.
        assert asset.thumbnail and (asset.thumbnail.name in stored) == (worker_storage == "s3")
    payload = execution_poll_payload(execution)
    final = payload["finalOutput"]["url"]
    assert final.startswith("http")
    assert fetched(client, final)[4:8] == b"ftyp"  # the last node's MP4
    image_url = payload["nodeStates"][2]["outputUrl"]
    assert fetched(client, image_url)[:8] == b"\x89PNG\r\n\x1a\n"
    assert fetched(client, payload["nodeStates"][2]["thumbnailUrl"])[8:12] == b"WEBP"
    assert fetched(client, payload["finalOutput"]["posterUrl"])[8:12] == b"WEBP"
    # Private: the same URLs without their signature are refused.
    unsigned = final.split("?", 1)[0]
    if worker_storage == "filesystem":
        assert "signature=" in final
        assert client.get("/media/" + unsigned.split("/media/", 1)[1]).status_code == 403
    else:
        assert "X-Amz-Signature=" in final
        assert httpx.get(unsigned).status_code == 403


def test_an_upload_is_thumbnailed_by_the_live_worker_in_the_same_storage(
        team, worker_storage, client, key_client, s3_server):
    import io
    import time

    from tests.media_files import pillow

    api = key_client(team)
    image = io.BytesIO(pillow("PNG", (1200, 900)))
    image.name = "big.png"
    uploaded = api.post("/api/v1/media/upload", {"file": image}, format="multipart").json()
    assert uploaded["data"]["thumbnailUrl"] is None  # a worker's to make
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        listed = api.get("/api/v1/media").json()["data"][0]
        if listed["thumbnailUrl"]:
            break
        time.sleep(0.2)
    assert listed["thumbnailUrl"], "the worker made no thumbnail"
    small = Image.open(io.BytesIO(fetched(client, listed["thumbnails"]["256"])))
    assert (small.format, small.size) == ("WEBP", (256, 192))
    asset = Asset.objects.get(pk=listed["id"])
    stored = s3_server.keys()
    assert (asset.thumbnail_small.name in stored) == (worker_storage == "s3")
