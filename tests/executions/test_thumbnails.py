"""Thumbnails and posters: every image output and upload gets WebP thumbnails (768 and 256 px on
the long side), every video a poster frame too, made once right after the file is stored and
written through the storage API (both backends); the API hands them out signed beside `url`,
and files stored before thumbnails existed still answer (null, until `manage.py thumbnails`)."""

from __future__ import annotations

import io

import httpx
import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image

from executions import assets as asset_service
from executions.assets import asset_api, asset_from_output, asset_renditions_make
from executions.models import Asset, NodeRun
from executions.providers import OutputFile
from executions.selectors import execution_list, execution_poll_payload
from executions.services import execution_start
from tests.graph.builders import edge, node
from tests.media_files import fetched, pillow, video

pytestmark = [pytest.mark.django_db, pytest.mark.storage]


@pytest.fixture
def node_run(team, media_storage) -> NodeRun:
    execution = execution_start(team=team, nodes=[
        node("text", "input:text", {"prompt": "a kite"}),
        node("preview", "generate:local_preview", {"seed": 1, "width": 256, "height": 192}),
    ], edges=[edge("e1", "text", "prompt", "preview", "prompt")])
    return NodeRun.objects.get(execution=execution, node_id="preview")


@pytest.fixture
def principal_of(make_key):
    from accounts.selectors import principal_for_api_key

    return lambda team: principal_for_api_key(make_key(team).api_key)


def stored_image(name: str) -> Image.Image:
    with default_storage.open(name, "rb") as handle:
        image = Image.open(io.BytesIO(handle.read()))
        image.load()
    return image


def test_an_image_output_gets_webp_thumbnails_of_768_and_256_px_in_storage(
        node_run, media_storage, client):
    asset = asset_from_output(node_run=node_run, simulated=False,
                              output=OutputFile(pillow("PNG", (2000, 1000)), "image/png", "png"))
    asset.refresh_from_db()
    big, small = stored_image(asset.thumbnail.name), stored_image(asset.thumbnail_small.name)
    assert (big.format, big.size) == ("WEBP", (768, 384))
    assert (small.format, small.size) == ("WEBP", (256, 128))
    assert sorted(media_storage.names()) == sorted(
        [asset.file.name, asset.thumbnail.name, asset.thumbnail_small.name])
    assert asset.renditions_size == sum(default_storage.size(n) for n in
                                        (asset.thumbnail.name, asset.thumbnail_small.name))
    assert not asset.poster
    shaped = asset_api(asset)
    assert shaped["thumbnailUrl"] == shaped["thumbnails"]["768"] != shaped["url"]
    assert fetched(client, shaped["thumbnails"]["256"])[8:12] == b"WEBP"
    assert fetched(client, shaped["thumbnailUrl"])[8:12] == b"WEBP"
    if media_storage.kind == "filesystem":
        assert "signature=" in shaped["thumbnailUrl"]
    else:
        assert "X-Amz-Signature=" in shaped["thumbnailUrl"]
        assert httpx.get(shaped["thumbnailUrl"].split("?", 1)[0]).status_code == 403


def test_a_small_image_is_never_enlarged(node_run):
    asset = asset_from_output(node_run=node_run, simulated=False,
                              output=OutputFile(pillow("JPEG", (120, 90)), "image/jpeg", "jpg"))
    assert stored_image(asset.thumbnail.name).size == (120, 90)
    assert stored_image(asset.thumbnail_small.name).size == (120, 90)


def test_a_video_output_gets_a_poster_frame_and_thumbnails_of_it(node_run, media_storage,
                                                                 client):
    asset = asset_from_output(node_run=node_run, simulated=False,
                              output=OutputFile(video("mp4"), "video/mp4", "mp4"))
    poster = stored_image(asset.poster.name)
    assert (poster.format, poster.size) == ("WEBP", (64, 48))
    assert stored_image(asset.thumbnail.name).size == (64, 48)
    shaped = asset_api(asset)
    assert shaped["posterUrl"] and shaped["thumbnailUrl"]
    assert fetched(client, shaped["posterUrl"])[8:12] == b"WEBP"


def test_the_poll_history_and_events_shape_carry_the_thumbnails(node_run, media_storage):
    asset = asset_from_output(node_run=node_run, simulated=False,
                              output=OutputFile(pillow("PNG", (800, 600)), "image/png", "png"))
    NodeRun.objects.filter(pk=node_run.pk).update(outputs={"image": {"asset": str(asset.pk)}})
    payload = execution_poll_payload(node_run.execution)
    preview = next(r for r in payload["nodeResults"]["nodeRuns"] if r["nodeId"] == "preview")
    image = preview["output"]["images"][0]
    assert image["thumbnailUrl"] and set(image["thumbnails"]) == {"256", "768"}
    state = next(s for s in payload["nodeStates"] if s["nodeId"] == "preview")
    assert state["thumbnailUrl"] == image["thumbnailUrl"]
    assert state["thumbnailUrls"] == [image["thumbnailUrl"]] and state["posterUrl"] is None
    assert payload["finalOutput"] == {"url": image["url"], "thumbnailUrl": image["thumbnailUrl"],
                                      "posterUrl": None}


def test_a_file_stored_before_thumbnails_answers_null_until_the_command_makes_them(
        node_run, media_storage, principal_of):
    asset = asset_from_output(node_run=node_run, simulated=False,
                              output=OutputFile(pillow("PNG", (900, 300)), "image/png", "png"))
    # As a file stored before this change: no renditions.
    asset_service.storage_delete(asset_service.rendition_names(asset))
    Asset.objects.filter(pk=asset.pk).update(thumbnail="", thumbnail_small="", renditions_size=0)
    asset.refresh_from_db()
    NodeRun.objects.filter(pk=node_run.pk).update(outputs={"image": {"asset": str(asset.pk)}})
    shaped = asset_api(asset)
    assert shaped["thumbnailUrl"] is None and shaped["thumbnails"] is None
    assert shaped["url"]
    items, _ = execution_list(principal=principal_of(node_run.execution.team))
    # History falls back to the image itself (S3 presigns by the second: compare the paths).
    assert items[0]["thumbnailUrl"].split("?")[0] == shaped["url"].split("?")[0]
    out = io.StringIO()
    call_command("thumbnails", stdout=out)
    assert "made for 1 file(s)" in out.getvalue()
    asset.refresh_from_db()
    assert stored_image(asset.thumbnail.name).size == (768, 256)
    assert asset_renditions_make(asset_id=asset.pk) is False  # made once
    items, _ = execution_list(principal=principal_of(node_run.execution.team))
    assert items[0]["thumbnailUrl"].split("?")[0] == (
        asset_api(asset)["thumbnailUrl"].split("?")[0])


def test_an_upload_is_thumbnailed_by_a_worker_task_not_in_the_request(
        api, media_storage, django_capture_on_commit_callbacks, monkeypatch):
    from executions import tasks

    sent = []
    monkeypatch.setattr(tasks.make_renditions, "apply_async",
                        lambda args, **kw: sent.append(args[0]))
    buffer = io.BytesIO(pillow("PNG", (1600, 1200)))
    buffer.name = "a.png"
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/media/upload", {"file": buffer}, format="multipart")
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["thumbnailUrl"] is None and data["thumbnails"] is None
    assert sent == [data["id"]]
    tasks.make_renditions(data["id"])  # what the worker runs
    listed = api.get("/api/v1/media").json()["data"][0]
    assert listed["id"] == data["id"] and listed["thumbnails"]["256"]
    asset = Asset.objects.get(pk=data["id"])
    assert stored_image(asset.thumbnail_small.name).size == (256, 192)


def test_a_member_opens_a_thumbnail_by_its_expired_url_nobody_else_does(
        team, other_team, node_run, session_client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {}}}
    asset = asset_from_output(node_run=node_run, simulated=False,
                              output=OutputFile(pillow("PNG", (300, 300)), "image/png", "png"))
    path = f"/media/{asset.thumbnail.name}"  # no signature
    member, _ = session_client(team, role="viewer")
    assert member.get(path).status_code == 200
    stranger, _ = session_client(other_team, role="owner")
    assert stranger.get(path).status_code == 403


def test_a_thumbnail_that_fails_never_fails_the_node_its_file_is_kept(
        node_run, media_storage, monkeypatch):
    from executions import imaging

    def broken(image):
        raise OSError("encoder exploded")

    monkeypatch.setattr(imaging, "renditions", broken)
    asset = asset_from_output(node_run=node_run, simulated=False,
                              output=OutputFile(pillow("PNG", (300, 200)), "image/png", "png"))
    assert asset.pk and not asset.thumbnail and asset_api(asset)["thumbnailUrl"] is None
    assert media_storage.names() == [asset.file.name]


def test_thumbnails_that_cannot_be_stored_leave_none_behind(node_run, media_storage,
                                                            monkeypatch):
    from django.db.models.fields.files import FieldFile

    save = FieldFile.save

    def flaky(self, name, content, *args, **kwargs):
        if self.field.name == "thumbnail_small":
            raise OSError("the store went away")
        return save(self, name, content, *args, **kwargs)

    monkeypatch.setattr(FieldFile, "save", flaky)
    asset = asset_from_output(node_run=node_run, simulated=False,
                              output=OutputFile(pillow("PNG", (300, 200)), "image/png", "png"))
    asset.refresh_from_db()
    assert not asset.thumbnail and not asset.thumbnail_small
    assert media_storage.names() == [asset.file.name]  # the half-stored one deleted
