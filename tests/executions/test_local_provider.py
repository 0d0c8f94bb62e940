"""The local provider, run the way the engine runs it: a Job in, files out, checked on pixels."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile

import imageio_ffmpeg
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageChops

from executions import imaging
from executions.providers.base import Job, Media, OutputFile, ProviderError
from executions.providers.local import LocalProvider

BLUE, RED, WHITE, BLACK = (20, 40, 220), (230, 20, 20), (255, 255, 255), (0, 0, 0)


@pytest.fixture
def media_root(media_storage):
    """Inputs stored on each media backend (the file system and the loopback S3 server)."""
    return media_storage


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def stored(data: bytes, *, name: str = "input.png", mime: str = "image/png") -> Media:
    saved = default_storage.save(name, ContentFile(data))
    return Media(kind="image", storage_name=saved, mime=mime,
                 sha256=hashlib.sha256(data).hexdigest())


def run(node_type: str, *, image: Image.Image | bytes | None = None, seed: int | None = None,
        texts: dict[str, str] | None = None, **config) -> OutputFile:
    """Submit one job to the local provider and return its single file output."""
    inputs: dict[str, list] = {port: [text] for port, text in (texts or {}).items()}
    if image is not None:
        data = image if isinstance(image, bytes) else png_bytes(image)
        inputs["image"] = [stored(data)]
    result = LocalProvider().submit(Job(node_type=node_type, model=None, config=config,
                                        inputs=inputs, seed=seed))
    (output,) = result.outputs.values()
    assert isinstance(output, OutputFile)
    return output


def opened(output: OutputFile) -> Image.Image:
    assert output.mime == "image/png" and output.extension == "png"
    image = Image.open(io.BytesIO(output.data))
    assert image.format == "PNG"
    return image


def ink_box(before: Image.Image, after: Image.Image) -> tuple[int, int, int, int] | None:
    """The bounding box of the pixels an operation changed."""
    return ImageChops.difference(before.convert("RGB"), after.convert("RGB")).getbbox()


def halves(left: tuple, right: tuple, size: tuple[int, int] = (400, 200)) -> Image.Image:
    image = Image.new("RGB", size, left)
    image.paste(right, (size[0] // 2, 0, size[0], size[1]))
    return image


def video_frames(data: bytes) -> list[Image.Image]:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "clip.mp4")
        with open(path, "wb") as handle:
            handle.write(data)
        reader = imageio_ffmpeg.read_frames(path)
        size = next(reader)["size"]
        return [Image.frombytes("RGB", size, frame) for frame in reader]


def share(image: Image.Image, colour: tuple, tolerance: int = 60) -> float:
    """The fraction of pixels within `tolerance` of `colour` on every channel."""
    data = image.convert("RGB").tobytes()
    pixels = list(zip(data[0::3], data[1::3], data[2::3]))
    near = sum(all(abs(a - b) <= tolerance for a, b in zip(p, colour)) for p in pixels)
    return near / len(pixels)


# --- preview ----------------------------------------------------------------------------------

def test_preview_is_a_png_of_the_requested_size_and_the_same_for_the_same_prompt_and_seed():
    texts = {"prompt": "a lighthouse in a storm"}
    first = run("generate:local_preview", seed=7, texts=texts, width=640, height=384)
    again = run("generate:local_preview", seed=7, texts=texts, width=640, height=384)
    assert opened(first).size == (640, 384)
    assert first.data == again.data


def test_preview_changes_with_the_seed_and_with_the_prompt():
    def pixels(prompt: str, seed: int) -> bytes:
        image = imaging.preview_image(prompt=prompt, seed=seed, width=256, height=256)
        return image.tobytes()

    assert pixels("a fox", 1) != pixels("a fox", 2)
    assert pixels("a fox", 1) != pixels("a wolf", 1)


def test_preview_is_visibly_labelled_in_yellow_in_the_top_left_corner():
    image = opened(run("generate:local_preview", seed=3, texts={"prompt": "x"},
                       width=512, height=512)).convert("RGB")
    label = image.crop((0, 0, 160, 60))
    assert share(label, (255, 214, 0), tolerance=40) > 0.03


def test_preview_marks_its_result_as_a_preview():
    result = LocalProvider().submit(Job(node_type="generate:local_preview", model=None,
                                        config={"width": 64, "height": 64, "prompt": "inline"},
                                        seed=1))
    assert result.meta == {"preview": True}


# --- upscale and resize -----------------------------------------------------------------------

@pytest.mark.parametrize("scale", [2, 4])
def test_upscale_multiplies_each_side(media_root, scale):
    output = run("process:upscale_local", image=Image.new("RGB", (90, 50), BLUE), scale=scale)
    assert opened(output).size == (90 * scale, 50 * scale)


def test_upscale_keeps_transparency(media_root):
    source = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    source.paste((255, 0, 0, 255), (10, 10, 30, 30))
    image = opened(run("process:upscale_local", image=source, scale=2))
    assert image.mode == "RGBA"
    assert image.getpixel((2, 2))[3] == 0 and image.getpixel((40, 40))[3] == 255


@pytest.mark.parametrize("mode", ["cover", "contain"])
@pytest.mark.parametrize("ratio, expected", [("16:9", 16 / 9), ("9:16", 9 / 16), ("1:1", 1.0)])
def test_resize_crop_gives_the_asked_aspect_ratio(media_root, mode, ratio, expected):
    source = Image.new("RGB", (600, 500), BLUE)
    image = opened(run("process:resize_crop", image=source, aspect_ratio=ratio, width=None,
                       mode=mode))
    assert image.width == 600  # no width: the image's own
    assert image.width / image.height == pytest.approx(expected, abs=0.01)


def test_resize_crop_cover_keeps_the_centre_and_contain_letterboxes(media_root):
    source = Image.new("RGB", (400, 400), RED)
    source.paste(BLUE, (50, 0, 350, 400))  # red edges, blue middle (wider than a 9:16 crop)
    cover = opened(run("process:resize_crop", image=source, aspect_ratio="9:16", width=180,
                       mode="cover")).convert("RGB")
    assert cover.size == (180, 320)
    assert share(cover, BLUE) > 0.95  # the red sides were cropped off

    contain = opened(run("process:resize_crop", image=source, aspect_ratio="16:9", width=320,
                         mode="contain")).convert("RGB")
    assert contain.size == (320, 180)
    assert contain.getpixel((5, 90)) == BLACK and contain.getpixel((315, 90)) == BLACK
    assert share(contain.crop((80, 0, 240, 180)), RED) > 0.1  # the whole source is inside


def test_resize_crop_original_only_resizes(media_root):
    image = opened(run("process:resize_crop", image=Image.new("RGB", (300, 200), RED),
                       aspect_ratio="original", width=150, mode="cover"))
    assert image.size == (150, 100)


# --- text overlay -----------------------------------------------------------------------------

@pytest.mark.parametrize("position, band", [("top", (0, 0, 400, 100)),
                                            ("center", (0, 100, 400, 200)),
                                            ("bottom", (0, 200, 400, 300))])
def test_text_overlay_writes_in_the_given_colour_where_asked(media_root, position, band):
    source = Image.new("RGB", (400, 300), BLACK)
    image = opened(run("compose:text_overlay", image=source, texts={"text": "Hello"},
                       font_size=40, color="#f00", background="", position=position))
    box = ink_box(source, image)
    assert box is not None
    assert band[1] <= box[1] and box[3] <= band[3]  # all ink inside the expected third
    assert share(image.convert("RGB").crop(box), RED) > 0.1


def test_text_overlay_draws_a_band_in_the_background_colour(media_root):
    source = Image.new("RGB", (400, 300), BLACK)
    image = opened(run("compose:text_overlay", image=source, texts={"text": "Caption"},
                       font_size=32, color="#ffffff", background="#00ff00",
                       position="bottom")).convert("RGB")
    assert image.getpixel((2, 295)) == (0, 255, 0)  # the band spans the full width
    assert image.getpixel((2, 5)) == BLACK


def test_text_overlay_wraps_long_text_to_the_image_width(media_root):
    source = Image.new("RGB", (300, 400), BLACK)
    text = "a rather long caption that cannot possibly fit on one line of this image"
    image = opened(run("compose:text_overlay", image=source, texts={"text": text},
                       font_size=30, color="#ffffff", background="", position="center"))
    left, top, right, bottom = ink_box(source, image)
    assert left >= 0 and right <= 300
    assert bottom - top > 3 * 30  # several lines


def test_text_overlay_uses_a_scalable_font(media_root):
    source = Image.new("RGB", (600, 300), BLACK)
    heights = []
    for size in (20, 80):
        image = imaging.text_overlay(source, text="Hg", font_size=size, color="#fff",
                                     background="", position="center")
        _, top, _, bottom = ink_box(source, image)
        heights.append(bottom - top)
    assert heights[1] > 3 * heights[0]


def test_text_overlay_takes_its_text_from_a_wired_edge_or_the_inline_setting(media_root):
    source = Image.new("RGB", (200, 100), BLACK)
    wired = run("compose:text_overlay", image=source, texts={"text": "Wired"}, font_size=20,
                color="#fff", background="", position="center")
    inline = run("compose:text_overlay", image=source, text="Wired", font_size=20,
                 color="#fff", background="", position="center")
    assert wired.data == inline.data
    assert ink_box(source, opened(wired)) is not None


# --- video ------------------------------------------------------------------------------------

def test_pan_zoom_is_an_h264_mp4_with_the_right_frames_and_duration(media_root):
    output = run("generate:image_to_video_local", image=Image.new("RGB", (321, 241), BLUE),
                 duration=2, fps=15, zoom=1.2, direction="in")
    assert output.mime == "video/mp4" and output.extension == "mp4"
    info = imaging.video_info(output.data)
    assert info["codec"].startswith("h264")
    assert abs(info["frames"] - 30) <= 1 and abs(info["duration"] - 2.0) <= 0.1
    assert (info["width"], info["height"]) == (320, 240)  # even sides for yuv420p
    assert output.data.find(b"moov") < output.data.find(b"mdat")  # +faststart


def test_pan_zoom_caps_the_longest_side(media_root):
    source = imaging.preview_image(prompt="wide", seed=1, width=2000, height=1000)
    data = imaging.pan_zoom_video(source, duration=1, fps=12, zoom=1.0, direction="in")
    info = imaging.video_info(data)
    assert (info["width"], info["height"]) == (imaging.MAX_VIDEO_SIDE, 640)


@pytest.mark.parametrize("direction, first, last", [
    ("in", 0.25, 1.0), ("out", 1.0, 0.25),
])
def test_zoom_moves_between_the_whole_image_and_its_centre(direction, first, last):
    source = Image.new("RGB", (200, 200), BLACK)
    source.paste(WHITE, (50, 50, 150, 150))  # the middle half is white
    frames = video_frames(imaging.pan_zoom_video(source, duration=1, fps=12, zoom=2.0,
                                                 direction=direction))
    assert share(frames[0], WHITE) == pytest.approx(first, abs=0.05)
    assert share(frames[-1], WHITE) == pytest.approx(last, abs=0.05)


@pytest.mark.parametrize("direction, first, last", [("left", BLUE, RED), ("right", RED, BLUE)])
def test_pan_travels_across_the_image(direction, first, last):
    frames = video_frames(imaging.pan_zoom_video(halves(RED, BLUE), duration=1, fps=12, zoom=2.0,
                                                 direction=direction))
    assert share(frames[0], first) > 0.9 and share(frames[-1], last) > 0.9


# --- probes and errors ------------------------------------------------------------------------

def test_probes_measure_images_and_refuse_garbage():
    assert imaging.image_info(png_bytes(Image.new("RGB", (12, 8)))) == ("image/png", 12, 8)
    for probe in (imaging.image_info, imaging.video_info):
        with pytest.raises(ProviderError) as raised:
            probe(b"definitely not media")
        assert raised.value.kind == "invalid"


@pytest.mark.parametrize("fmt, mime", [("png", "image/png"), ("jpeg", "image/jpeg"),
                                       ("webp", "image/webp")])
def test_encode_image_writes_the_asked_format(fmt, mime):
    output = imaging.encode_image(Image.new("RGBA", (10, 6)), fmt=fmt)
    assert output.mime == mime
    assert imaging.image_info(output.data) == (mime, 10, 6)


def test_undecodable_input_is_an_invalid_job(media_root):
    with pytest.raises(ProviderError) as raised:
        run("process:upscale_local", image=b"\x89PNG but not really", scale=2)
    assert raised.value.kind == "invalid" and "not a readable image" in raised.value.message


def test_a_missing_image_is_an_invalid_job():
    with pytest.raises(ProviderError) as raised:
        run("process:upscale_local", scale=2)
    assert raised.value.kind == "invalid"


@pytest.mark.parametrize("config", [
    {"color": "red", "background": "", "position": "top", "font_size": 20},
    {"color": "#fff", "background": "#12345", "position": "top", "font_size": 20},
    {"color": "#fff", "background": "", "position": "sideways", "font_size": 20},
    {"color": "#fff", "background": "", "position": "top", "font_size": None},
])
def test_bad_settings_are_an_invalid_job(media_root, config):
    with pytest.raises(ProviderError) as raised:
        run("compose:text_overlay", image=Image.new("RGB", (50, 50)), texts={"text": "x"},
            **config)
    assert raised.value.kind == "invalid"


def test_an_oversized_result_is_refused_before_it_is_made(media_root):
    with pytest.raises(ProviderError) as raised:
        run("process:resize_crop", image=Image.new("RGB", (100, 100)), aspect_ratio="9:16",
            width=8192, mode="cover")
    assert raised.value.kind == "invalid" and "too large" in raised.value.message


def test_an_unknown_node_type_is_a_configuration_error():
    with pytest.raises(ProviderError) as raised:
        LocalProvider().submit(Job(node_type="generate:flux_2_pro", model=None, config={}))
    assert raised.value.kind == "config"
