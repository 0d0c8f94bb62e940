"""Audio as a media type: POST /media/upload takes MP3, WAV, M4A, AAC, Ogg (Vorbis, Opus) and
FLAC, told from the content and proven by decoding the sound whole; each is stored as what it
is, with its duration, channels and sample rate read back, and its waveform drawn by the
worker. An Audio Input node takes such a file, and the poll shows it under `output.audios`."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from executions.assets import asset_renditions_make
from executions.fetch import fetch_media_asset
from executions.models import Asset
from executions.providers import ProviderError
from tests.api.test_executions import create, poll_until_done
from tests.graph.builders import node
from tests.media_files import audio, audio_only_mp4, pillow, video

pytestmark = pytest.mark.django_db


@pytest.fixture
def media_root(settings, media_storage):
    settings.FETCH_ALLOW_PRIVATE = True
    return media_storage


def upload(api, data: bytes, *, name: str = "sound.bin", content_type: str = ""):
    file = SimpleUploadedFile(name, data, content_type=content_type or "application/octet-stream")
    return api.post("/api/v1/media/upload", {"file": file}, format="multipart")


SOUNDS = [
    pytest.param("mp3", "audio/mpeg", "mp3", 44100, id="mp3"),
    pytest.param("wav", "audio/wav", "wav", 44100, id="wav"),
    pytest.param("m4a", "audio/mp4", "m4a", 44100, id="m4a"),
    pytest.param("aac", "audio/aac", "aac", 44100, id="aac-adts"),
    pytest.param("ogg", "audio/ogg", "ogg", 44100, id="ogg-vorbis"),
    pytest.param("opus", "audio/ogg", "ogg", 48000, id="ogg-opus"),
    pytest.param("flac", "audio/flac", "flac", 44100, id="flac"),
]


@pytest.mark.parametrize("fmt, mime, extension, rate", SOUNDS)
def test_each_audio_format_is_stored_as_what_it_is_with_its_duration_read_back(
        api, media_root, fmt, mime, extension, rate):
    response = upload(api, audio(fmt), name="voice.exe", content_type=mime)
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert (data["type"], data["mime"]) == ("audio", mime)
    assert data["url"].split("?", 1)[0].endswith(f".{extension}")
    assert data["width"] is None and data["height"] is None
    assert data["duration"] == pytest.approx(1.5, abs=0.08)
    asset = Asset.objects.get()
    assert asset.kind == "audio" and asset.file.name.endswith(f".{extension}")
    assert (asset.channels, asset.sample_rate) == (2, rate)


@pytest.mark.parametrize("fmt, mime, extension, rate", SOUNDS)
def test_an_undeclared_sound_takes_its_type_from_the_content(api, media_root, fmt, mime,
                                                             extension, rate):
    response = upload(api, audio(fmt), name="notes.txt")
    assert response.status_code == 201, response.json()
    assert response.json()["data"]["mime"] == mime


def test_common_other_names_of_audio_types_are_accepted(api, media_root):
    for fmt, declared in (("mp3", "audio/mp3"), ("wav", "audio/x-wav"), ("m4a", "audio/x-m4a"),
                          ("flac", "audio/x-flac"), ("opus", "audio/opus")):
        response = upload(api, audio(fmt), content_type=declared)
        assert response.status_code == 201, (declared, response.json())


def test_an_mp4_holding_only_sound_is_stored_as_m4a(api, media_root):
    response = upload(api, audio_only_mp4(), name="speech.mp4", content_type="video/mp4")
    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert (data["type"], data["mime"]) == ("audio", "audio/mp4")
    assert data["duration"] == pytest.approx(1.0, abs=0.08)


def test_a_video_is_still_a_video_and_a_sound_sent_as_an_image_is_refused(api, media_root):
    assert upload(api, video("mp4"), content_type="video/mp4").json()["data"]["type"] == "video"
    refused = upload(api, audio("mp3"), content_type="image/png")
    assert refused.status_code == 415 and refused.json()["code"] == "media_type_mismatch"
    refused = upload(api, pillow("PNG"), content_type="audio/mpeg")
    assert refused.status_code == 415 and refused.json()["code"] == "media_type_mismatch"


def _cut(data: bytes, keep: int) -> bytes:
    return data[:keep]


@pytest.mark.parametrize("make", [
    pytest.param(lambda: _cut(audio("wav"), 300), id="wav-cut-in-its-header"),
    pytest.param(lambda: _cut(audio("m4a"), len(audio("m4a")) // 2), id="m4a-without-index"),
    pytest.param(lambda: _cut(audio("flac"), len(audio("flac")) // 2), id="flac-cut"),
    pytest.param(lambda: _cut(audio("ogg"), len(audio("ogg")) // 2), id="ogg-cut"),
    pytest.param(lambda: b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\0" * 400, id="mp3-tag-only"),
    pytest.param(lambda: b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\xff" * 64, id="wav-garbage"),
])
def test_a_sound_that_does_not_decode_is_refused_400_and_nothing_is_stored(api, media_root,
                                                                          make):
    response = upload(api, make())
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid_media"
    assert Asset.objects.count() == 0 and media_root.names() == []


def test_a_sound_s_thumbnails_are_its_waveform_4_to_1_drawn_once(api, media_root):
    response = upload(api, audio("mp3", 3.0), content_type="audio/mpeg")
    asset = Asset.objects.get(pk=response.json()["data"]["id"])
    assert asset_renditions_make(asset_id=asset.pk)  # the worker's task, run here
    asset.refresh_from_db()
    for field, width in (("thumbnail", 768), ("thumbnail_small", 256)):
        with getattr(asset, field).open("rb") as handle:
            picture = Image.open(io.BytesIO(handle.read()))
        assert picture.format == "WEBP" and picture.size == (width, width // 4)
        alpha = picture.getchannel("A")
        # A steady tone draws bars across the whole width, about the middle line.
        columns = [any(alpha.getpixel((x, y)) > 0 for y in range(picture.height))
                   for x in range(picture.width)]
        assert sum(columns) > picture.width * 0.4
    assert not asset_renditions_make(asset_id=asset.pk)  # made once
    media = api.get("/api/v1/media").json()["data"][0]
    assert media["type"] == "audio" and media["thumbnailUrl"]


def test_the_waveform_follows_the_loudness_of_the_sound(media_root):
    from executions import audio as sound

    quiet_then_loud = _concat_wavs(audio("wav", 1.0, volume=0.05), audio("wav", 1.0, volume=0.9))
    levels = sound.peaks(quiet_then_loud, container="wav", buckets=20)
    assert min(levels[11:]) > 10 * max(levels[:9]) > 0


def _concat_wavs(first: bytes, second: bytes) -> bytes:
    """Two 16-bit PCM WAVs of the same format, one after the other (header fixed up)."""
    import struct

    def pcm(data: bytes) -> tuple[bytes, bytes]:
        at = data.index(b"data") + 8
        return data[:at - 8], data[at:]

    head, a = pcm(first)
    _, b = pcm(second)
    body = a + b
    head = head[:4] + struct.pack("<I", len(head) - 8 + 8 + len(body)) + head[8:]
    return head + b"data" + struct.pack("<I", len(body)) + body


# --- the Audio Input node and the poll --------------------------------------------------------

def test_an_audio_input_takes_an_uploaded_sound_and_refuses_an_image(api, team, media_root):
    sound_url = upload(api, audio("mp3")).json()["data"]["url"]
    image_url = upload(api, pillow("PNG")).json()["data"]["url"]
    assert fetch_media_asset(team=team, url=sound_url, kind="audio").kind == "audio"
    with pytest.raises(ProviderError) as refused:
        fetch_media_asset(team=team, url=image_url, kind="audio")
    assert "is an image, not an audio" in refused.value.message


def test_an_audio_port_joins_only_an_audio_input(api):
    nodes = [node("sound", "input:audio", {"url": "https://example.com/a.mp3"}),
             node("up", "process:upscale_local", {"scale": 2})]
    edges = [{"id": "e1", "source": "sound", "sourceHandle": "out-audio", "target": "up",
              "targetHandle": "in-image"}]
    body = api.post("/api/v1/workflows/lint", {"nodes": nodes, "edges": edges},
                    format="json").json()["data"]
    assert not body["ok"]
    assert any(v["edgeId"] == "e1" and "audio" in v["message"] for v in body["violations"])


@pytest.mark.django_db(transaction=True)
def test_a_run_of_an_audio_input_shows_the_sound_under_output_audios(api, live_worker):
    uploaded = upload(api, audio("m4a", 2.0), content_type="audio/mp4").json()["data"]
    workflow_id = create(api, {"name": "Sound", "nodes": [
        node("voice", "input:audio", {"url": uploaded["url"]})], "edges": []})
    run = api.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json")
    assert run.status_code == 201, run.json()
    result = poll_until_done(api, run["Location"])
    assert result["status"] == "COMPLETED", result
    (voice,) = result["nodeResults"]["nodeRuns"]
    output = voice["output"]
    assert output["images"] == [] and output["videos"] == []
    (sound,) = output["audios"]
    assert sound["id"] == uploaded["id"] and sound["mime"] == "audio/mp4"
    assert sound["duration"] == pytest.approx(2.0, abs=0.08) and sound["channels"] == 2
    assert result["nodeStates"][0]["outputUrl"] == sound["url"]
    assert result["finalOutput"]["url"] == sound["url"]
    schema = api.get(f"/api/v1/workflows/{workflow_id}/run").json()["inputs"]
    assert schema[0]["type"] == "audio"


@pytest.mark.parametrize("fmt, mime, extension", [
    ("mp3", "audio/mpeg", "mp3"), ("wav", "audio/wav", "wav"), ("m4a", "audio/mp4", "m4a"),
    ("flac", "audio/flac", "flac"), ("ogg", "audio/ogg", "ogg")])
def test_a_vendor_s_sound_is_taken_as_the_format_its_bytes_are(fmt, mime, extension):
    from executions.providers.http import output_file

    made = output_file(audio(fmt), "application/octet-stream", vendor="fal")
    assert (made.mime, made.extension) == (mime, extension)
    with pytest.raises(ProviderError):
        output_file(b"<html>not a sound</html>", "audio/mpeg", vendor="fal")
