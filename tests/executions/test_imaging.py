"""The local provider's image work, checked on the pixels it produces."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from executions import imaging
from executions.providers import ProviderError


def test_the_preview_is_deterministic_sized_and_seed_dependent():
    one = imaging.preview_image(prompt="a fox", seed=1, width=320, height=200)
    again = imaging.preview_image(prompt="a fox", seed=1, width=320, height=200)
    other = imaging.preview_image(prompt="a fox", seed=2, width=320, height=200)
    assert one.size == (320, 200)
    assert one.tobytes() == again.tobytes() and one.tobytes() != other.tobytes()
    # The PREVIEW label sits in the top-left corner on a dark box, in yellow.
    corner = one.crop((0, 0, 120, 40)).getcolors(maxcolors=100_000)
    assert any(r > 200 and g > 150 and b < 80 for _, (r, g, b) in corner)


@pytest.mark.parametrize("ratio, mode, size", [
    ("16:9", "cover", (640, 360)), ("1:1", "contain", (640, 640)), ("original", "cover",
                                                                     (640, 480)),
])
def test_resize_crop_gives_the_aspect_ratio(ratio, mode, size):
    source = Image.new("RGB", (800, 600), (0, 200, 0))
    result = imaging.resize_crop(source, aspect_ratio=ratio, width=640, mode=mode)
    assert result.size == size
    if mode == "contain":  # letterboxed: black bars above and below a 4:3 picture
        assert result.getpixel((320, 5)) == (0, 0, 0) and result.getpixel((320, 320))[1] > 150


def test_text_overlay_draws_in_the_given_colour_where_asked():
    source = Image.new("RGB", (400, 300), (0, 0, 0))
    result = imaging.text_overlay(source, text="HELLO WORLD", font_size=40, color="#ff0000",
                                  background="", position="bottom")
    bottom = result.crop((0, 200, 400, 300)).getcolors(maxcolors=100_000)
    top = result.crop((0, 0, 400, 100)).getcolors(maxcolors=100_000)
    assert any(r > 200 and g < 60 for _, (r, g, b) in bottom)
    assert top == [(400 * 100, (0, 0, 0))]


def test_upscale_and_undecodable_input():
    assert imaging.upscale(Image.new("RGB", (30, 20)), scale=4).size == (120, 80)
    with pytest.raises(ProviderError) as raised:
        imaging.decode(b"not an image")
    assert raised.value.kind == "invalid"


def test_the_video_reads_back_as_h264_with_the_right_frames():
    data = imaging.pan_zoom_video(Image.new("RGB", (333, 201), (90, 90, 200)), duration=2,
                                  fps=12, zoom=1.5, direction="out")
    info = imaging.video_info(data)
    assert info["codec"].startswith("h264") and info["frames"] == 24
    assert abs(info["duration"] - 2.0) < 0.1 and info["width"] % 2 == 0
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, "PNG")
    assert imaging.image_info(png.getvalue()) == ("image/png", 8, 8)


def test_every_image_open_in_the_code_goes_through_open_image():
    """Pillow opened with no `formats=` tries every plugin it has (EPS reaches Ghostscript
    where it is installed): only imaging.open_image calls Image.open, with the short list."""
    root = Path(__file__).resolve().parents[2]
    callers = [str(path.relative_to(root))
               for package in ("executions", "graph", "accounts", "wireflow_site", "frontend")
               for path in (root / package).rglob("*.py")
               if "Image.open(" in path.read_text()]
    assert callers == ["executions/imaging.py"]
    source = (root / "executions" / "imaging.py").read_text()
    assert source.count("Image.open(") == 1
    assert "Image.open(io.BytesIO(data), formats=list(formats))" in source


def test_a_source_no_larger_than_the_small_thumbnail_is_encoded_once(monkeypatch):
    """Both thumbnails of a 200×150 image are that image: one WebP encode, the same bytes."""
    encoded = []
    webp = imaging._webp
    monkeypatch.setattr(imaging, "_webp", lambda image: encoded.append(image.size) or webp(image))
    made = imaging.renditions(Image.new("RGB", (200, 150), (10, 120, 200)))
    assert encoded == [(200, 150)] and made[768] == made[256]
    assert Image.open(io.BytesIO(made[256])).size == (200, 150)
    encoded.clear()
    made = imaging.renditions(Image.new("RGB", (1000, 500), (10, 120, 200)))
    assert encoded == [(768, 384), (256, 128)] and made[768] != made[256]
