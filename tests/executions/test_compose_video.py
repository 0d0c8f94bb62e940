"""compose:video, run as the engine runs it (a Job of stored clips and sounds into the local
provider) and read back with ffmpeg: a video and an audio stream, H.264 yuv420p + AAC,
faststart, the expected frame size and the expected duration (the clips' sum less the
crossfades). Clips differ in size, frame rate, container and whether they have sound."""

from __future__ import annotations

import io
import os
import re
import subprocess
import tempfile

import imageio_ffmpeg
import pytest
from PIL import Image, ImageChops, ImageStat

from executions import video
from executions.providers.base import Job, Media, ProviderError
from executions.providers.local import LocalProvider
from graph.catalog import catalog
from tests.media_files import audio, clip, fetched, loudness, probe, stored


def compose(clips: list[Media], *, voice: Media | None = None, music: Media | None = None,
            captions: str | None = None, **config) -> bytes:
    spec = catalog.get("compose:video")
    inputs: dict[str, list] = {"clips": clips}
    if voice is not None:
        inputs["voice"] = [voice]
    if music is not None:
        inputs["music"] = [music]
    if captions is not None:
        inputs["captions"] = [captions]
    result = LocalProvider().submit(Job(node_type="compose:video", model=None,
                                        config={**spec.defaults(), **config}, inputs=inputs))
    (output,) = result.outputs.values()
    assert (output.mime, output.extension) == ("video/mp4", "mp4")
    return output.data


def streams(data: bytes) -> tuple[dict, dict, dict]:
    info = probe(data, "mp4")
    kinds = [s["kind"] for s in info["streams"]]
    assert kinds == ["video", "audio"], info
    picture, sound = info["streams"]
    assert (picture["codec"], picture["pix_fmt"]) == ("h264", "yuv420p")
    assert (sound["codec"], sound["channels"], sound["sample_rate"]) == ("aac", 2, 48000)
    assert info["faststart"], "moov must come before mdat"
    return info, picture, sound


def frame_at(data: bytes, seconds: float) -> Image.Image:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "cut.mp4")
        with open(path, "wb") as handle:
            handle.write(data)
        done = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-ss",
                               f"{seconds}", "-i", path, "-frames:v", "1", "-f", "image2pipe",
                               "-c:v", "png", "-"], capture_output=True, check=True)
    return Image.open(io.BytesIO(done.stdout)).convert("RGB")


MIXED = [  # different sizes, frame rates, containers; with and without sound
    {"seconds": 2.0, "size": (320, 180), "fps": 25, "sound": False},
    {"seconds": 1.5, "size": (240, 320), "fps": 30, "sound": True},
    {"seconds": 2.5, "size": (200, 200), "fps": 24, "sound": True, "container": "mov"},
    {"seconds": 1.0, "size": (256, 144), "fps": 15, "sound": False, "container": "webm"},
]


def mixed_clips() -> list[Media]:
    return [stored(clip(**spec), spec.get("container", "mp4")) for spec in MIXED]


def test_clips_of_every_kind_concatenate_with_hard_cuts(media_root):
    made = compose(mixed_clips())
    info, picture, _ = streams(made)
    assert (picture["width"], picture["height"]) == (1280, 720)
    assert picture["fps"] == 30
    assert info["duration"] == pytest.approx(7.0, abs=0.1)


def test_crossfades_shorten_the_cut_by_each_overlap(media_root):
    made = compose(mixed_clips(), transition="fade", transition_duration=0.4)
    info, _, _ = streams(made)
    assert info["duration"] == pytest.approx(7.0 - 3 * 0.4, abs=0.1)


def test_a_crossfade_longer_than_half_the_shortest_clip_is_held_to_it(media_root):
    made = compose(mixed_clips(), transition="dissolve", transition_duration=3)
    info, _, _ = streams(made)
    assert info["duration"] == pytest.approx(7.0 - 3 * 0.5, abs=0.1)  # the 1 s clip: 0.5 s


@pytest.mark.parametrize("aspect, resolution, size", [
    ("9:16", 720, (720, 1280)), ("1:1", 480, (480, 480)), ("4:5", 1080, (1080, 1350)),
    ("16:9", 480, (854, 480))])
def test_the_cut_fits_the_aspect_ratio_asked(media_root, aspect, resolution, size):
    made = compose([stored(clip(1.0), "mp4")], aspect_ratio=aspect, resolution=resolution)
    _, picture, _ = streams(made)
    assert (picture["width"], picture["height"]) == size


def test_pad_keeps_the_whole_clip_with_bars_and_crop_fills_the_frame(media_root):
    wide = stored(clip(1.0, size=(320, 180), colour="white"), "mp4")
    padded = frame_at(compose([wide], aspect_ratio="9:16", fit="pad", resolution=480), 0.5)
    cropped = frame_at(compose([wide], aspect_ratio="9:16", fit="crop", resolution=480), 0.5)
    assert padded.size == cropped.size == (480, 854)
    assert max(padded.getpixel((240, 20))) < 30  # a black bar above the clip
    assert min(padded.getpixel((240, 427))) > 220  # the clip in the middle
    assert min(cropped.getpixel((240, 20))) > 220  # filled to the edge


def test_voice_and_music_are_laid_and_the_music_ducks_under_the_voice(media_root):
    silent = [stored(clip(3.0, sound=False), "mp4"), stored(clip(3.0, sound=False), "mp4")]
    voice = stored(audio("mp3", 2.0, frequency=300, volume=1.0), "mp3")  # speaks 0–2 s
    music = stored(audio("wav", 1.5, frequency=900, volume=1.0), "wav")  # loops to 6 s
    ducked = compose(silent, voice=voice, music=music, music_volume=1.0, ducking=True)
    plain = compose(silent, voice=voice, music=music, music_volume=1.0, ducking=False)
    info, _, _ = streams(ducked)
    assert info["duration"] == pytest.approx(6.0, abs=0.1)
    # Music alone (after the voice ends, before its fade-out) is as loud either way; under
    # the voice the ducked music is quieter, so the whole mix there is quieter.
    assert band_loudness(ducked, 0.3, 1.8, 900) < band_loudness(plain, 0.3, 1.8, 900) - 4
    assert band_loudness(ducked, 3.0, 4.4, 900) == pytest.approx(
        band_loudness(plain, 3.0, 4.4, 900), abs=1.5)
    music_only = compose(silent, music=music, music_volume=1.0)
    assert loudness(music_only, "mp4") > -40  # the music loops over the whole cut


def test_a_longer_voice_over_holds_the_last_frame_or_slows_the_last_clip_or_is_cut(
        media_root):
    clips = [stored(clip(1.0, colour="red"), "mp4"), stored(clip(1.0, fps=25), "mp4")]
    voice = stored(audio("mp3", 3.0, frequency=300, volume=1.0), "mp3")
    spoken = probe(voice.read(), "mp3")["duration"]  # what decodes: 3 s and the MP3's padding
    cuts = {how: compose(clips, voice=voice, long_voice=how) for how in ("hold", "slow", "cut")}
    for how in ("hold", "slow"):  # the cut lasts as long as the voice: no word is cut off
        info, _, _ = streams(cuts[how])
        assert info["duration"] == pytest.approx(spoken, abs=0.1), how
        assert band_loudness(cuts[how], 2.2, 2.9, 300) > -35, how  # still speaking at the end
    assert streams(cuts["cut"])[0]["duration"] == pytest.approx(2.0, abs=0.1)
    # Held: the test pattern stops on its last frame (the same picture, but for the
    # encoder's noise); slowed: it keeps moving, slower.
    def change(made: bytes) -> float:
        first, second = (frame_at(made, t) for t in (2.3, 2.8))
        return ImageStat.Stat(ImageChops.difference(first, second)).mean[0]

    assert change(cuts["hold"]) < 1 and change(cuts["slow"]) > 2
    assert catalog.get("compose:video").defaults()["long_voice"] == "hold"
    # A voice-over shorter than the clips leaves them as they are.
    short = stored(audio("mp3", 1.0, frequency=300, volume=1.0), "mp3")
    assert streams(compose(clips, voice=short))[0]["duration"] == pytest.approx(2.0, abs=0.1)


def band_loudness(data: bytes, start: float, end: float, frequency: int) -> float:
    """The loudness (LUFS) of one tone's band between two times of the cut's sound."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "cut.mp4")
        with open(path, "wb") as handle:
            handle.write(data)
        done = subprocess.run(
            [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", path,
             "-map", "0:a:0", "-af", f"atrim={start}:{end},bandpass=f={frequency}:w=80,ebur128",
             "-f", "null", "-"], capture_output=True, text=True, check=False)
    summary = done.stderr.rsplit("Summary:", 1)[-1]
    return float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))


def test_captions_are_burned_in_at_their_times(media_root):
    black = [stored(clip(2.0, colour="black"), "mp4") for _ in range(2)]
    made = compose(black, captions="First scene\nSecond scene", resolution=480)
    streams(made)
    lit = [bright_pixels(frame_at(made, t)) for t in (0.5, 1.5, 2.5, 3.5)]
    assert all(count > 200 for count in lit), lit
    first, second = frame_at(made, 0.5), frame_at(made, 2.5)
    assert bright_box(first) != bright_box(second)  # a different caption
    assert bright_box(first)[1] > 480 * 0.6  # at the bottom


def test_srt_captions_keep_their_own_times(media_root):
    black = [stored(clip(4.0, colour="black"), "mp4")]
    subtitles = "1\n00:00:00,500 --> 00:00:01,500\nHello there\n\n" \
                "2\n00:00:03,000 --> 00:00:03,800\nBye now\n"
    made = compose(black, captions=subtitles, resolution=480, caption_position="top")
    assert bright_pixels(frame_at(made, 1.0)) > 200
    assert bright_pixels(frame_at(made, 2.2)) < 20  # between the two
    assert bright_pixels(frame_at(made, 3.4)) > 200
    assert bright_box(frame_at(made, 1.0))[3] < 480 * 0.4  # at the top


def test_broken_srt_fails_clearly(media_root):
    with pytest.raises(ProviderError) as refused:
        compose([stored(clip(1.0), "mp4")], captions="1\n00:00:xx --> soon\nHi\n")
    assert "SRT" in refused.value.message and refused.value.kind == "invalid"


def bright_pixels(frame: Image.Image) -> int:
    return sum(frame.convert("L").histogram()[201:])


def bright_box(frame: Image.Image) -> tuple[int, int, int, int]:
    return frame.convert("L").point(lambda v: 255 if v > 200 else 0).getbbox()


def test_plain_captions_one_per_clip_follow_the_clips_and_others_are_even():
    clips = [video.Clip("a", "mp4", 2.0, False, 10, 10), video.Clip("b", "mp4", 3.0, False, 10,
                                                                     10)]
    settings = video.Assembly(transition="fade", transition_duration=0.5)
    total = video.total_duration(settings, clips)
    assert total == 4.5
    spans = video.clip_spans(settings, clips)
    per_clip = video.captions_parse("one\ntwo", spans=spans, total=total)
    assert [(c.start, c.end) for c in per_clip] == [(0.0, 1.75), (1.75, 4.5)]
    even = video.captions_parse("One. Two! Three?", spans=spans, total=total)
    assert [c.text for c in even] == ["One.", "Two!", "Three?"]
    assert [c.end for c in even] == pytest.approx([1.5, 3.0, 4.5])


def test_a_clip_that_is_not_a_video_fails_clearly(media_root):
    with pytest.raises(ProviderError) as refused:
        compose([stored(audio("mp3"), "mp3")])
    assert "Clip 1 is not a video" in refused.value.message


# --- through the API, with a real worker -------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_prompt_to_two_clips_and_a_voice_over_makes_one_finished_cut(api, live_worker):
    """text → preview image → two pan-and-zoom clips → Assemble Video with an uploaded
    voice-over and captions from a Text Input: an MP4 with both streams, of the sum of the
    clips less the crossfade, for 0 credits."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.api.test_executions import create, poll_until_done
    from tests.graph.builders import edge, node

    file = SimpleUploadedFile("voice.mp3", audio("mp3", 2.5), content_type="audio/mpeg")
    voice_url = api.post("/api/v1/media/upload", {"file": file},
                         format="multipart").json()["data"]["url"]
    nodes = [node("prompt", "input:text", {"prompt": "a lighthouse at dawn"}),
             node("still", "generate:local_preview", {"seed": 5, "width": 320, "height": 240}),
             node("in", "generate:image_to_video_local", {"duration": 2, "fps": 12,
                                                           "direction": "in"}),
             node("left", "generate:image_to_video_local", {"duration": 3, "fps": 12,
                                                             "direction": "left"}),
             node("voice", "input:audio", {"url": voice_url}),
             node("lines", "input:text", {"prompt": "Dawn breaks\nThe light turns"}),
             node("cut", "compose:video", {"transition": "fade", "transition_duration": 0.5,
                                           "aspect_ratio": "9:16", "fit": "crop",
                                           "resolution": 480})]
    edges = [edge("e1", "prompt", "prompt", "still", "prompt"),
             edge("e2", "still", "image", "in", "image"),
             edge("e3", "still", "image", "left", "image"),
             edge("e4", "in", "video", "cut", "clips"),
             edge("e5", "left", "video", "cut", "clips"),
             edge("e6", "voice", "audio", "cut", "voice"),
             edge("e7", "lines", "text", "cut", "captions")]
    workflow_id = create(api, {"name": "Cut", "nodes": nodes, "edges": edges})
    run = api.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json")
    assert run.status_code == 201, run.json()
    result = poll_until_done(api, run["Location"], timeout=240)
    assert result["status"] == "COMPLETED", result
    runs = {r["nodeId"]: r for r in result["nodeResults"]["nodeRuns"]}
    (cut,) = runs["cut"]["output"]["videos"]
    assert cut["duration"] == pytest.approx(4.5, abs=0.1)
    assert (cut["width"], cut["height"]) == (480, 854) and cut["posterUrl"]
    info, picture, _ = streams(fetched(api, cut["url"]))
    assert info["duration"] == pytest.approx(4.5, abs=0.1) and picture["fps"] == 30
    assert result["finalOutput"]["url"] == cut["url"]
