"""POST /media/upload takes a short list of formats, told from the content: PNG, JPEG, WebP,
GIF, MP4, MOV and WebM here (sounds: tests/api/test_audio_uploads.py). Each hole this closes
has its own case, and each was accepted with 201 before: BMP, TIFF, PPM, EPS or ICO sent as
image/png, a PNG sent as video/mp4, a header-only 13000×13000 PNG and a real 12000×12000 one.
Refused files leave nothing behind, neither a row nor a file. The files are built here with
Pillow and with the ffmpeg of the imageio-ffmpeg wheel."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from executions import imaging
from executions.fetch import fetch_image_asset
from executions.media_types import MediaRefused
from executions.models import Asset
from executions.providers import ProviderError
from tests.media_files import header_only_png, pillow, real_bomb_png, video
from tests.servers import RawServer, answer

pytestmark = [pytest.mark.django_db, pytest.mark.storage]


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8"/></svg>'
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


@pytest.fixture
def media_root(settings, media_storage):
    """Each test on both media backends (the file system and the loopback S3 server)."""
    settings.FETCH_ALLOW_PRIVATE = True  # the loopback servers stand for the internet
    return media_storage


def upload(api, data: bytes, *, name: str, content_type: str):
    file = SimpleUploadedFile(name, data, content_type=content_type)
    return api.post("/api/v1/media/upload", {"file": file}, format="multipart")


def stored_nothing(store) -> bool:
    return Asset.objects.count() == 0 and store.names() == []


# --- refused: formats not on the list, whatever they are sent as ------------------------------

REFUSED_FORMATS = [
    pytest.param(lambda: pillow("BMP"), "image/png", id="bmp-as-png"),
    pytest.param(lambda: pillow("TIFF"), "image/png", id="tiff-as-png"),
    pytest.param(lambda: pillow("PPM"), "image/png", id="ppm-as-png"),
    pytest.param(lambda: pillow("EPS"), "image/png", id="eps-as-png"),
    pytest.param(lambda: pillow("ICO"), "image/png", id="ico-as-png"),
    pytest.param(lambda: pillow("BMP"), "image/bmp", id="bmp-as-itself"),
    pytest.param(lambda: pillow("TIFF"), "application/octet-stream", id="tiff-undeclared"),
    pytest.param(lambda: SVG, "image/svg+xml", id="svg"),
    pytest.param(lambda: SVG, "image/png", id="svg-as-png"),
    pytest.param(lambda: HTML, "image/png", id="html-as-png"),
    pytest.param(lambda: HTML, "video/mp4", id="html-as-mp4"),
    pytest.param(lambda: b"", "image/png", id="empty"),
]


@pytest.mark.parametrize("make, content_type", REFUSED_FORMATS)
def test_a_format_not_on_the_list_is_refused_415_whatever_it_is_sent_as(
        api, media_root, make, content_type):
    response = upload(api, make(), name="picture.png", content_type=content_type)
    assert response.status_code == 415, response.json()
    assert response.json()["code"] == "unsupported_media_type"
    assert stored_nothing(media_root)


# --- refused: a declared type that disagrees with the content --------------------------------

MISMATCHES = [
    pytest.param(lambda: pillow("PNG"), "video/mp4", id="png-as-mp4"),
    pytest.param(lambda: video("mp4"), "image/png", id="mp4-as-png"),
    pytest.param(lambda: pillow("JPEG"), "image/png", id="jpeg-as-png"),
    pytest.param(lambda: pillow("GIF"), "image/webp", id="gif-as-webp"),
    pytest.param(lambda: video("webm"), "video/mp4", id="webm-as-mp4"),
    pytest.param(lambda: pillow("PNG"), "text/html", id="png-as-html"),
]


@pytest.mark.parametrize("make, content_type", MISMATCHES)
def test_a_declared_type_that_disagrees_with_the_content_is_refused_415(
        api, media_root, make, content_type):
    response = upload(api, make(), name="clip.bin", content_type=content_type)
    assert response.status_code == 415, response.json()
    body = response.json()
    assert body["code"] == "media_type_mismatch" and content_type in body["error"]
    assert stored_nothing(media_root)


# --- accepted: each allowed format, stored as what it is -------------------------------------

ALLOWED = [
    pytest.param(lambda: pillow("PNG"), "image/png", "image", "png", id="png"),
    pytest.param(lambda: pillow("JPEG"), "image/jpeg", "image", "jpg", id="jpeg"),
    pytest.param(lambda: pillow("WEBP"), "image/webp", "image", "webp", id="webp"),
    pytest.param(lambda: pillow("GIF"), "image/gif", "image", "gif", id="gif"),
    pytest.param(lambda: video("mp4"), "video/mp4", "video", "mp4", id="mp4"),
    pytest.param(lambda: video("mov"), "video/quicktime", "video", "mov", id="mov"),
    pytest.param(lambda: video("webm"), "video/webm", "video", "webm", id="webm"),
]


@pytest.mark.parametrize("make, mime, kind, extension", ALLOWED)
def test_each_allowed_format_is_stored_with_the_extension_and_mime_of_its_content(
        api, media_root, make, mime, kind, extension):
    response = upload(api, make(), name="upload.exe", content_type=mime)
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert (data["type"], data["mime"]) == (kind, mime)
    assert data["url"].split("?", 1)[0].endswith(f".{extension}")  # a signature may follow
    assert (data["width"], data["height"]) == ((24, 16) if kind == "image" else (64, 48))
    asset = Asset.objects.get()
    assert asset.file.name.endswith(f".{extension}") and asset.mime == mime
    if kind == "video":
        assert asset.frame_count == 10 and asset.duration == pytest.approx(1, abs=0.15)


@pytest.mark.parametrize("make, mime, kind, extension", ALLOWED)
def test_an_undeclared_file_takes_its_extension_and_mime_from_the_content_not_its_name(
        api, media_root, make, mime, kind, extension):
    response = upload(api, make(), name="notes.txt", content_type="application/octet-stream")
    assert response.status_code == 201, response.json()
    assert response.json()["data"]["mime"] == mime
    assert Asset.objects.get().file.name.endswith(f".{extension}")


def test_image_jpg_names_jpeg_too(api, media_root):
    response = upload(api, pillow("JPEG"), name="a.jpg", content_type="image/jpg")
    assert response.status_code == 201 and response.json()["data"]["mime"] == "image/jpeg"


# --- refused: pixel bombs (422) and broken files (400) ---------------------------------------

def test_a_header_only_png_claiming_13000_by_13000_is_refused_422_image_too_large(
        api, media_root):
    bomb = header_only_png(13000, 13000)
    assert len(bomb) < 80
    response = upload(api, bomb, name="bomb.png", content_type="image/png")
    assert response.status_code == 422, response.json()
    assert response.json()["code"] == "image_too_large"
    assert stored_nothing(media_root)


def test_a_real_12000_by_12000_png_is_refused_422_image_too_large(api, media_root):
    response = upload(api, real_bomb_png(), name="big.png", content_type="image/png")
    assert response.status_code == 422, response.json()
    assert response.json()["code"] == "image_too_large"
    assert stored_nothing(media_root)


def test_the_pixel_cap_is_the_media_max_pixels_setting(api, media_root, settings):
    settings.MEDIA_MAX_PIXELS = 20 * 20
    assert upload(api, pillow("PNG", (20, 20)), name="a.png",
                  content_type="image/png").status_code == 201
    response = upload(api, pillow("PNG", (21, 20)), name="b.png", content_type="image/png")
    assert response.status_code == 422 and response.json()["code"] == "image_too_large"


def test_a_video_whose_frames_exceed_the_pixel_cap_is_refused_422_before_decoding(
        api, media_root, settings):
    settings.MEDIA_MAX_PIXELS = 64 * 48 - 1
    response = upload(api, video("mp4"), name="clip.mp4", content_type="video/mp4")
    assert response.status_code == 422, response.json()
    assert response.json()["code"] == "image_too_large" and "video" in response.json()["error"]
    assert stored_nothing(media_root)


def _truncated(data: bytes) -> bytes:
    return data[: len(data) * 2 // 3]


BROKEN = [
    pytest.param(lambda: _truncated(pillow("PNG", (64, 64))), "image/png", id="truncated-png"),
    pytest.param(lambda: _truncated(pillow("JPEG", (64, 64))), "image/jpeg",
                 id="truncated-jpeg"),
    pytest.param(lambda: _truncated(pillow("WEBP", (64, 64))), "image/webp",
                 id="truncated-webp"),
    pytest.param(lambda: _truncated(video("mp4")), "video/mp4", id="truncated-mp4"),
    pytest.param(lambda: _truncated(video("webm")), "video/webm", id="truncated-webm"),
    pytest.param(lambda: b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "image/png", id="png-magic-only"),
    pytest.param(lambda: header_only_png(8, 8), "image/png", id="png-without-pixels"),
]


@pytest.mark.parametrize("make, content_type", BROKEN)
def test_a_broken_or_truncated_file_is_refused_400_invalid_media(
        api, media_root, make, content_type):
    response = upload(api, make(), name="broken", content_type=content_type)
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid_media"
    assert stored_nothing(media_root)


# --- media by URL and input:image fetches go through the same checks -------------------------

@pytest.fixture
def serve(media_root):
    servers = []

    def start(body: bytes, content_type: str) -> str:
        servers.append(RawServer(lambda server, conn: answer(conn, body,
                                                             content_type=content_type)))
        return f"http://127.0.0.1:{servers[-1].port}/file"

    yield start
    for server in servers:
        server.close()


BY_URL = [
    pytest.param(lambda: pillow("BMP"), "image/png", 415, "unsupported_media_type",
                 id="bmp-as-png"),
    pytest.param(lambda: pillow("EPS"), "image/png", 415, "unsupported_media_type",
                 id="eps-as-png"),
    pytest.param(lambda: SVG, "image/svg+xml", 415, "unsupported_media_type", id="svg"),
    pytest.param(lambda: pillow("PNG"), "video/mp4", 415, "media_type_mismatch",
                 id="png-as-mp4"),
    pytest.param(lambda: header_only_png(13000, 13000), "image/png", 422, "image_too_large",
                 id="header-only-bomb"),
    pytest.param(lambda: _truncated(pillow("PNG", (64, 64))), "image/png", 400,
                 "invalid_media", id="truncated-png"),
]


@pytest.mark.parametrize("make, content_type, status, code", BY_URL)
def test_media_by_url_refuses_what_a_file_upload_refuses(
        api, media_root, serve, make, content_type, status, code):
    url = serve(make(), content_type)
    response = api.post("/api/v1/media/upload", {"url": url}, format="json")
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    assert stored_nothing(media_root)


def test_media_by_url_stores_what_the_content_is_not_what_the_server_says(
        api, media_root, serve):
    url = serve(pillow("WEBP"), "application/octet-stream")
    response = api.post("/api/v1/media/upload", {"url": url + ".png"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["data"]["mime"] == "image/webp"
    assert Asset.objects.get().file.name.endswith(".webp")


@pytest.mark.parametrize("make, content_type", [
    pytest.param(lambda: pillow("BMP"), "image/png", id="bmp-as-png"),
    pytest.param(lambda: video("mp4"), "video/mp4", id="a-video"),
    pytest.param(lambda: header_only_png(13000, 13000), "image/png", id="bomb"),
])
def test_an_input_image_url_is_checked_as_an_upload_is(team, media_root, serve, make,
                                                       content_type):
    with pytest.raises(MediaRefused) as refused:
        fetch_image_asset(team=team, url=serve(make(), content_type))
    assert refused.value.kind == "invalid"  # the node fails with the reason; no retry
    assert stored_nothing(media_root)


def test_an_input_image_naming_an_uploaded_video_fails_as_not_an_image(api, team, media_root):
    url = upload(api, video("mp4"), name="clip.mp4",
                 content_type="video/mp4").json()["data"]["url"]
    with pytest.raises(ProviderError) as refused:
        fetch_image_asset(team=team, url=url)
    assert refused.value.kind == "invalid" and "not an image" in refused.value.message


# --- Pillow never opens a format off the list --------------------------------------------------

def test_open_image_never_hands_eps_to_pillow_s_ghostscript_plugin():
    eps = pillow("EPS")
    with Image.open(io.BytesIO(eps)) as unguarded:
        assert unguarded.format == "EPS"  # what a bare Image.open would do with it
    with pytest.raises(ProviderError):
        imaging.open_image(eps)


def test_the_schema_documents_415_and_422_on_the_media_upload(api):
    schema = api.get("/api/v1/schema?format=json").json()
    responses = schema["paths"]["/api/v1/media/upload"]["post"]["responses"]
    assert {"400", "415", "422"} <= set(responses)
