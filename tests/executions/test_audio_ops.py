"""The local audio nodes (trim, loudness normalisation, two-track mix), run as the engine runs
them: a Job with stored sounds in, a file out, read back with ffmpeg (duration, channels,
loudness). And one run through the API with a real worker: upload → Audio Input → Trim."""

from __future__ import annotations

import pytest

from executions.providers.base import Job, Media, ProviderError
from executions.providers.local import LocalProvider
from graph.catalog import catalog
from tests.media_files import audio, fetched, loudness, probe, stored


def run(node_type: str, sounds: dict[str, Media], **config):
    spec = catalog.get(node_type)
    result = LocalProvider().submit(Job(node_type=node_type, model=None,
                                        config={**spec.defaults(), **config},
                                        inputs={port: [m] for port, m in sounds.items()}))
    (output,) = result.outputs.values()
    assert (output.mime, output.extension) == ("audio/mp4", "m4a")
    return output.data


def only_audio(data: bytes) -> dict:
    info = probe(data, "m4a")
    (stream,) = info["streams"]
    assert stream["kind"] == "audio" and stream["codec"] == "aac"
    return {**stream, "duration": info["duration"], "faststart": info["faststart"]}


def test_trim_keeps_the_part_between_start_and_end(media_root):
    made = only_audio(run("audio:trim", {"audio": stored(audio("wav", 4.0), "wav")},
                          start=1.0, end=2.5))
    assert made["duration"] == pytest.approx(1.5, abs=0.05)
    assert made["channels"] == 2 and made["sample_rate"] == 44100 and made["faststart"]


def test_trim_with_no_end_keeps_to_the_end_and_an_end_past_it_is_the_end(media_root):
    sound = stored(audio("mp3", 3.0, channels=1), "mp3")
    assert only_audio(run("audio:trim", {"audio": sound}, start=0.5))["duration"] == \
        pytest.approx(2.5, abs=0.06)
    made = only_audio(run("audio:trim", {"audio": sound}, start=2.0, end=60))
    assert made["duration"] == pytest.approx(1.0, abs=0.06) and made["channels"] == 1


def test_trim_past_the_end_fails_with_the_sound_s_length(media_root):
    with pytest.raises(ProviderError) as refused:
        run("audio:trim", {"audio": stored(audio("wav", 1.0), "wav")}, start=5.0)
    assert refused.value.kind == "invalid" and "1 s long" in refused.value.message


def test_trim_end_before_start_is_a_validation_error():
    from graph.validation import validate_graph

    nodes = [{"id": "t", "type": "basedNode", "position": {"x": 0, "y": 0},
              "data": {"nodeType": "audio:trim", "config": {"start": 3, "end": 2}}}]
    report = validate_graph(nodes, [])
    assert any(v["rule"] == "invalid_setting" and v.get("input") == "end"
               for v in report.violations)


@pytest.mark.parametrize("volume", [0.02, 0.9])
def test_normalise_brings_a_quiet_or_a_loud_sound_to_the_target_loudness(media_root, volume):
    source = audio("wav", 6.0, volume=volume, frequency=220)
    before = loudness(source, "wav")
    made = run("audio:normalize", {"audio": stored(source, "wav")}, target=-16)
    after = loudness(made, "m4a")
    assert abs(after - -16) < 1.0 and abs(before - -16) > 3, (before, after)
    info = only_audio(made)
    assert info["duration"] == pytest.approx(6.0, abs=0.06) and info["sample_rate"] == 44100


def test_normalise_refuses_silence(media_root):
    with pytest.raises(ProviderError) as refused:
        run("audio:normalize", {"audio": stored(audio("wav", 2.0, volume=0.0), "wav")})
    assert "silent" in refused.value.message


def test_mix_plays_two_tracks_together_as_long_as_the_longer_one(media_root):
    voice = stored(audio("mp3", 2.0, channels=1, frequency=300), "mp3")
    music = stored(audio("ogg", 3.0, frequency=500), "ogg")
    made = run("audio:mix", {"audio": voice, "audio_b": music}, volume_b=0.3)
    info = only_audio(made)
    assert info["duration"] == pytest.approx(3.0, abs=0.06) and info["channels"] == 2
    first = only_audio(run("audio:mix", {"audio": voice, "audio_b": music}, duration="first"))
    assert first["duration"] == pytest.approx(2.0, abs=0.06)


def test_mix_volumes_change_the_loudness_of_the_result(media_root):
    a = stored(audio("wav", 3.0, frequency=300), "wav")
    b = stored(audio("wav", 3.0, frequency=700), "wav")
    loud = loudness(run("audio:mix", {"audio": a, "audio_b": b}), "m4a")
    quiet = loudness(run("audio:mix", {"audio": a, "audio_b": b}, volume_a=0.25,
                         volume_b=0.25), "m4a")
    assert loud - quiet == pytest.approx(12, abs=1.5)  # a quarter of each: -12 dB


def test_an_audio_node_with_no_sound_fails_clearly(media_root):
    with pytest.raises(ProviderError) as refused:
        run("audio:trim", {}, start=0)
    assert "No sound arrived on the 'audio' input" in refused.value.message


# --- through the API, with a real worker -------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_upload_audio_input_trim_then_normalise_runs_to_completed_for_free(api, live_worker):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.api.test_executions import create, poll_until_done
    from tests.graph.builders import edge, node

    file = SimpleUploadedFile("voice.wav", audio("wav", 3.0, volume=0.05),
                              content_type="audio/wav")
    url = api.post("/api/v1/media/upload", {"file": file},
                   format="multipart").json()["data"]["url"]
    workflow_id = create(api, {"name": "Voice", "nodes": [
        node("voice", "input:audio", {"url": url}),
        node("trim", "audio:trim", {"start": 0.5, "end": 2.5}),
        node("loud", "audio:normalize", {"target": -14})], "edges": [
        edge("e1", "voice", "audio", "trim", "audio"),
        edge("e2", "trim", "audio", "loud", "audio")]})
    estimate = api.post(f"/api/v1/workflows/{workflow_id}/estimate", {}, format="json")
    assert estimate.json()["data"]["estimatedCredits"] == 0
    run = api.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json")
    result = poll_until_done(api, run["Location"])
    assert result["status"] == "COMPLETED", result
    runs = {r["nodeId"]: r for r in result["nodeResults"]["nodeRuns"]}
    (sound,) = runs["loud"]["output"]["audios"]
    assert sound["duration"] == pytest.approx(2.0, abs=0.06) and sound["mime"] == "audio/mp4"
    assert result["credits"]["charged"] == 0
    data = fetched(api, sound["url"])
    assert loudness(data, "m4a") == pytest.approx(-14, abs=1.0)
