"""Pure image and video work for the local provider, and probes the engine uses on every file.

Pillow does the pixels; imageio-ffmpeg's bundled ffmpeg encodes and reads H.264. Nothing here
touches the network or the database. Bad input raises ProviderError(kind="invalid").
"""

from __future__ import annotations

import colorsys
import functools
import hashlib
import io
import math
import os
import random
import re
import subprocess
import tempfile
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import imageio_ffmpeg
from django.conf import settings
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from executions.providers.base import OutputFile, ProviderError

FORMATS = {"png": ("PNG", "image/png", "png"), "jpeg": ("JPEG", "image/jpeg", "jpg"),
           "jpg": ("JPEG", "image/jpeg", "jpg"), "webp": ("WEBP", "image/webp", "webp")}
MIME_BY_FORMAT = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp",
                  "GIF": "image/gif"}
# The only formats Pillow may open, anywhere: with no list it tries every plugin it has, and
# EPS would reach Ghostscript where that is installed.
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
MAX_PIXELS = 8192 * 8192  # largest image we decode or produce (a 2048² image ×4)
VIDEO_MIMES = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm"}
VIDEO_PROBE_TIMEOUT = 120  # seconds for ffmpeg to decode a whole upload (25 MB at most)
MAX_VIDEO_SIDE = 1280
PAN_MIN_ZOOM = 1.1  # a pan needs some room to travel even when zoom is 1.0
_HEX = re.compile(r"#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_DECODE_ERRORS = (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError)

Box = tuple[float, float, float, float]


def font(size: float) -> ImageFont.FreeTypeFont:
    """Pillow's bundled scalable font (FreeType), so text is real at any size."""
    return ImageFont.load_default(size=max(6, int(size)))


def hex_color(value: str) -> tuple[int, int, int]:
    """"#rgb" or "#rrggbb" → (r, g, b); anything else is an invalid setting."""
    match = _HEX.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ProviderError(f"{value!r} is not a hex colour such as #ff8800", kind="invalid")
    digits = match.group(1)
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def _choice(options: dict[str, Any], key: str, what: str) -> Any:
    if key not in options:
        raise ProviderError(f"Unknown {what} {key!r}: use one of {', '.join(options)}",
                            kind="invalid")
    return options[key]


def _check_size(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise ProviderError(f"A {width}×{height} image is too large: the limit is "
                            f"{MAX_PIXELS:,} pixels", kind="invalid")


class ImageTooLarge(ProviderError):
    """An image whose pixels exceed MEDIA_MAX_PIXELS (a decompression bomb, or just too big)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="invalid")


def media_max_pixels() -> int:
    """The pixel cap for decoding: settings.MEDIA_MAX_PIXELS (the simulator may run without
    Django settings, and then the built-in cap holds)."""
    return settings.MEDIA_MAX_PIXELS if settings.configured else MAX_PIXELS


def open_image(data: bytes, *, formats: Sequence[str] = IMAGE_FORMATS,
               draft_side: int | None = None) -> Image.Image:
    """Bytes → a fully decoded Pillow image of one of `formats` (never any other plugin), its
    pixel count checked against the cap from the header before a pixel is decoded. With
    `draft_side`, a JPEG is decoded straight at the nearest size above that (`draft`).
    ImageTooLarge over the cap, ProviderError("invalid") when it does not decode whole."""
    limit = media_max_pixels()
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check warns first and raises only at twice its limit.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=list(formats))
            width, height = image.size
            if width * height > limit:
                raise ImageTooLarge(f"A {width}×{height} image is too large: the limit is "
                                    f"{limit:,} pixels")
            if draft_side and image.format == "JPEG":
                image.draft("RGB", (draft_side, draft_side))
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(f"The image is too large: {exc}") from exc
    except _DECODE_ERRORS as exc:
        raise ProviderError(f"Not a readable image: {exc}", kind="invalid") from exc
    return image


def decode(data: bytes) -> Image.Image:
    """Bytes → an upright RGB image (RGBA when it has transparency), or ProviderError."""
    try:
        image = ImageOps.exif_transpose(open_image(data))
    except ImageTooLarge:
        raise
    except ProviderError as exc:
        # "Not a readable image: …" → "The input is not a readable image: …"
        raise ProviderError(f"The input is {exc.message[:1].lower()}{exc.message[1:]}",
                            kind="invalid") from exc
    return image.convert("RGBA" if image.has_transparency_data else "RGB")


def _flatten(image: Image.Image) -> Image.Image:
    """RGB, with any transparency laid on black (video and JPEG have no alpha)."""
    if image.mode != "RGBA":
        return image.convert("RGB")
    canvas = Image.new("RGB", image.size, (0, 0, 0))
    canvas.paste(image, mask=image.getchannel("A"))
    return canvas


def wrap(text: str, *, face: ImageFont.FreeTypeFont, max_width: float) -> list[str]:
    """Lines of `text` no wider than `max_width`, breaking at spaces (inside a word if needed)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if face.getlength(candidate) <= max_width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = word
            while len(line) > 1 and face.getlength(line) > max_width:
                cut = len(line) - 1
                while cut > 1 and face.getlength(line[:cut]) > max_width:
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line)
    return lines


# --- generation --------------------------------------------------------------------------------

def _palette(rng: random.Random) -> list[tuple[int, int, int]]:
    """Three harmonious colours: one random hue and its neighbours on the colour wheel."""
    hue, spread = rng.random(), rng.choice((0.08, 0.15, 0.5))
    colours = [colorsys.hsv_to_rgb((hue + step * spread) % 1, rng.uniform(0.45, 0.85),
                                   rng.uniform(0.6, 0.98)) for step in (0, 1, -1)]
    return [(round(r * 255), round(g * 255), round(b * 255)) for r, g, b in colours]


def _gradient(angle: float, *, width: int, height: int) -> Image.Image:
    """A full-range 0→255 ramp tilted by `angle` degrees (the centre of a rotated ramp)."""
    ramp = Image.linear_gradient("L").rotate(angle, resample=Image.Resampling.BICUBIC)
    return ImageOps.autocontrast(ramp.crop((38, 38, 218, 218))).resize((width, height))


def _label(draw: ImageDraw.ImageDraw, *, width: int, height: int) -> None:
    """A yellow "PREVIEW" tag on a dark box in the top-left corner."""
    face = font(max(12, min(width, height) // 12))
    pad = face.size // 3
    box = draw.textbbox((pad, pad), "PREVIEW", font=face)
    draw.rectangle((0, 0, box[2] + pad, box[3] + pad), fill=(0, 0, 0, 170))
    draw.text((pad, pad), "PREVIEW", font=face, fill=(255, 214, 0, 255))


def _caption(draw: ImageDraw.ImageDraw, text: str, *, width: int, height: int,
             max_lines: int = 4) -> None:
    """The prompt in white on a dark band along the bottom, cut to a few lines."""
    face = font(max(10, min(width, height) // 18))
    margin = face.size
    lines = wrap(text.strip() or "(empty prompt)", face=face, max_width=width - 2 * margin)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and face.getlength(last + "…") > width - 2 * margin:
            last = last[:-1]
        lines = lines[: max_lines - 1] + [last.rstrip() + "…"]
    block = "\n".join(lines)
    spacing = face.size // 4
    box = draw.multiline_textbbox((0, 0), block, font=face, spacing=spacing)
    top = height - margin - (box[3] - box[1])
    draw.rectangle((0, top - margin // 2, width, height), fill=(0, 0, 0, 110))
    draw.multiline_text((margin, top - box[1]), block, font=face, spacing=spacing,
                        fill=(255, 255, 255, 235))


def preview_image(*, prompt: str, seed: int, width: int, height: int) -> Image.Image:
    """A deterministic procedural picture for a prompt and seed, labelled PREVIEW.

    Colours and shapes come from a hash of prompt and seed: same inputs, same pixels.
    """
    _check_size(width, height)
    rng = random.Random(hashlib.sha256(f"{seed}:{prompt}".encode()).digest())
    base, accent, shade = _palette(rng)
    gradient = _gradient(rng.uniform(-45, 45), width=width, height=height)
    image = Image.composite(Image.new("RGB", (width, height), tuple(c // 3 for c in shade)),
                            Image.new("RGB", (width, height), base), gradient)
    draw = ImageDraw.Draw(image, "RGBA")
    side = min(width, height)
    for _ in range(6 + rng.randrange(6)):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        radius = rng.uniform(0.05, 0.3) * side
        fill = rng.choice((base, accent, shade)) + (rng.randrange(70, 170),)
        if rng.random() < 0.6:
            draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=fill)
        else:
            points = [(cx + radius * math.cos(a), cy + radius * math.sin(a))
                      for a in sorted(rng.uniform(0, 2 * math.pi) for _ in range(3))]
            draw.polygon(points, fill=fill)
    _caption(draw, prompt, width=width, height=height)
    _label(draw, width=width, height=height)
    return image


# --- processing --------------------------------------------------------------------------------

def upscale(image: Image.Image, *, scale: int) -> Image.Image:
    """Lanczos enlargement by a whole factor (the catalog offers 2 and 4)."""
    size = (image.width * scale, image.height * scale)
    _check_size(*size)
    return image.resize(size, Image.Resampling.LANCZOS)


def _ratio(aspect_ratio: str, image: Image.Image) -> float:
    if aspect_ratio in ("", "original"):
        return image.width / image.height
    try:
        w, h = (float(part) for part in aspect_ratio.split(":"))
        if w > 0 and h > 0:
            return w / h
    except ValueError:
        pass
    raise ProviderError(f"{aspect_ratio!r} is not an aspect ratio such as 16:9", kind="invalid")


def _cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    return ImageOps.fit(image, size, Image.Resampling.LANCZOS)


def _contain(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    bars = (0, 0, 0, 0) if image.mode == "RGBA" else (0, 0, 0)
    return ImageOps.pad(image, size, Image.Resampling.LANCZOS, color=bars)


FITS: dict[str, Callable[[Image.Image, tuple[int, int]], Image.Image]] = {
    "cover": _cover, "contain": _contain,
}


def resize_crop(image: Image.Image, *, aspect_ratio: str, width: int | None,
                mode: str) -> Image.Image:
    """Fit to an aspect ratio at `width` (default: the image's own).

    `cover` crops around the centre; `contain` fits the whole image and pads with black bars
    (transparent ones when the image has an alpha channel).
    """
    fit = _choice(FITS, mode, "resize mode")
    target_w = int(width) if width else image.width
    target = (target_w, max(1, round(target_w / _ratio(aspect_ratio, image))))
    _check_size(*target)
    return fit(image, target)


TEXT_TOP: dict[str, Callable[[int, float, int], float]] = {  # (height, text_h, margin) → y
    "top": lambda height, text_h, margin: margin,
    "center": lambda height, text_h, margin: (height - text_h) / 2,
    "bottom": lambda height, text_h, margin: height - text_h - margin,
}


def text_overlay(image: Image.Image, *, text: str, font_size: int, color: str,
                 background: str, position: str) -> Image.Image:
    """Centred text at the top, centre or bottom, wrapped to the image width.

    `background` (a hex colour, "" for none) fills a full-width band behind the text.
    """
    ink = hex_color(color)
    band = hex_color(background) if background else None
    result = image.copy()
    draw = ImageDraw.Draw(result, "RGBA")
    face = font(font_size)
    margin = max(8, font_size // 2)
    block = "\n".join(wrap(text, face=face, max_width=image.width - 2 * margin))
    spacing = max(2, font_size // 5)
    box = draw.multiline_textbbox((0, 0), block, font=face, spacing=spacing, align="center")
    text_w, text_h = box[2] - box[0], box[3] - box[1]
    top = _choice(TEXT_TOP, position, "text position")(image.height, text_h, margin)
    if band:
        draw.rectangle((0, top - margin, image.width, top + text_h + margin),
                       fill=band + (255,))
    draw.multiline_text(((image.width - text_w) / 2 - box[0], top - box[1]), block, font=face,
                        fill=ink + (255,), spacing=spacing, align="center")
    return result


def encode_image(image: Image.Image, *, fmt: str) -> OutputFile:
    """PNG (keeps alpha), JPEG or WebP bytes, with their mime type and file extension."""
    pil_format, mime, extension = FORMATS[fmt.lower()]
    if pil_format == "JPEG":
        image = _flatten(image)
    buffer = io.BytesIO()
    options = {"quality": 92} if pil_format in ("JPEG", "WEBP") else {"compress_level": 3}
    image.save(buffer, pil_format, **options)
    return OutputFile(data=buffer.getvalue(), mime=mime, extension=extension)


# --- video -------------------------------------------------------------------------------------

def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def _smooth(t: float) -> float:
    """Smoothstep: starts and ends at rest, so the camera never jolts."""
    return t * t * (3 - 2 * t)


def _zoom_box(size: tuple[int, int], t: float, *, zoom: float, out: bool) -> Box:
    """A centred crop that narrows from the full frame to 1/zoom (widens when `out`)."""
    progress = 1 - t if out else t
    factor = zoom ** progress  # geometric, so the zoom speed looks constant
    w, h = size[0] / factor, size[1] / factor
    left, top = (size[0] - w) / 2, (size[1] - h) / 2
    return left, top, left + w, top + h


def _pan_box(size: tuple[int, int], t: float, *, zoom: float, leftward: bool) -> Box:
    """A 1/zoom crop travelling from one side to the other (the camera moving left or right)."""
    factor = max(zoom, PAN_MIN_ZOOM)
    w, h = size[0] / factor, size[1] / factor
    left = (size[0] - w) * (1 - t if leftward else t)
    top = (size[1] - h) / 2
    return left, top, left + w, top + h


CAMERA: dict[str, Callable[..., Box]] = {  # the catalog's `direction` → crop box at time t
    "in": functools.partial(_zoom_box, out=False),
    "out": functools.partial(_zoom_box, out=True),
    "left": functools.partial(_pan_box, leftward=True),
    "right": functools.partial(_pan_box, leftward=False),
}


def pan_zoom_video(image: Image.Image, *, duration: float, fps: int, zoom: float,
                   direction: str, keep_going: Callable[[], None] = lambda: None) -> bytes:
    """An H.264 MP4 (yuv420p, faststart) of a smooth camera move over the still.

    The output keeps the image's aspect, at most MAX_VIDEO_SIDE on its longest side; frames are
    cut from a source up to `zoom` times larger, so zoomed-in frames stay sharp.
    `keep_going` is called before every frame and raises to stop the work midway.
    """
    camera = _choice(CAMERA, direction, "camera direction")
    zoom = max(1.0, float(zoom))
    fit = min(1.0, MAX_VIDEO_SIDE / max(image.width, image.height))
    out_w, out_h = _even(image.width * fit), _even(image.height * fit)
    sharp = min(1.0, fit * max(zoom, PAN_MIN_ZOOM))
    source = _flatten(image)
    if sharp < 1.0:
        source = source.resize((round(image.width * sharp), round(image.height * sharp)),
                               Image.Resampling.LANCZOS)
    frames = max(1, round(duration * fps))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "out.mp4")
        writer = imageio_ffmpeg.write_frames(
            path, (out_w, out_h), fps=fps, codec="libx264", pix_fmt_out="yuv420p", quality=None,
            output_params=["-preset", "veryfast", "-crf", "20", "-movflags", "+faststart"],
            macro_block_size=2, ffmpeg_log_level="error",
        )
        writer.send(None)  # start ffmpeg
        try:
            for index in range(frames):
                keep_going()
                t = _smooth(index / max(1, frames - 1))
                box = camera(source.size, t, zoom=zoom)
                writer.send(source.resize((out_w, out_h), Image.Resampling.BILINEAR,
                                          box=box).tobytes())
        finally:
            writer.close()
        with open(path, "rb") as handle:
            return handle.read()


# --- probes ------------------------------------------------------------------------------------

def image_info(data: bytes) -> tuple[str, int, int]:
    """(mime, width, height) of an image file; ProviderError if it does not decode."""
    with open_image(data) as image:
        return MIME_BY_FORMAT[image.format], *image.size


def video_info(data: bytes, *, container: str = "mp4") -> dict[str, Any]:
    """mime, width, height, frames, duration (s), codec and fps of a video of `container`
    (mp4, mov or webm), read with imageio-ffmpeg's ffmpeg forced to that demuxer (never a
    guess from the content) and decoded whole: any error ffmpeg reports refuses the file."""
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    with tempfile.NamedTemporaryFile(suffix=f".{container}") as handle:
        handle.write(data)
        handle.flush()
        try:
            reader = imageio_ffmpeg.read_frames(handle.name, input_params=["-f", container])
            meta = next(reader)
            reader.close()
            width, height = meta["size"]
            if width * height > media_max_pixels():  # before decoding every frame
                raise ImageTooLarge(f"A {width}×{height} video is too large: the limit is "
                                    f"{media_max_pixels():,} pixels a frame")
            decoded = subprocess.run(
                [ffmpeg, "-hide_banner", "-nostdin", "-v", "error", "-xerror",
                 "-f", container, "-i", handle.name, "-map", "0:v:0",
                 "-f", "null", "-progress", "pipe:1", "-"],
                capture_output=True, text=True, timeout=VIDEO_PROBE_TIMEOUT, check=False)
        except (RuntimeError, OSError, StopIteration, subprocess.TimeoutExpired) as exc:
            reason = (str(exc).splitlines() or [type(exc).__name__])[0]  # not ffmpeg's banner
            raise ProviderError(f"Not a readable video: {reason}", kind="invalid") from exc
    if decoded.returncode != 0 or decoded.stderr.strip():
        reason = (decoded.stderr.strip().splitlines() or [f"ffmpeg exit {decoded.returncode}"])
        raise ProviderError(f"Not a readable video: {reason[0][:200]}", kind="invalid")
    progress = dict(line.split("=", 1) for line in decoded.stdout.splitlines() if "=" in line)
    frames = int(progress.get("frame", "0"))
    if frames == 0:
        raise ProviderError("Not a readable video: no frame decodes", kind="invalid")
    elapsed = progress.get("out_time_us", "")
    seconds = int(elapsed) / 1e6 if elapsed.isdigit() else 0.0
    return {"mime": VIDEO_MIMES[container], "width": width, "height": height, "frames": frames,
            "duration": round(seconds, 3), "codec": str(meta.get("codec", "")),
            "fps": meta.get("fps")}


# --- renditions ----------------------------------------------------------------------------

THUMBNAIL_SIDES = (768, 256)  # long side, px: largest first, each made from the one before
POSTER_MAX_SIDE = 1280
RENDITION_QUALITY = 80


def _webp(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    # method 2: a 768 px thumbnail encodes in ~20 ms, 2.5× faster than Pillow's default (4),
    # and no larger (bench/bench_assets.py).
    image.save(buffer, "WEBP", quality=RENDITION_QUALITY, method=2)
    return buffer.getvalue()


def renditions(image: Image.Image) -> dict[int, bytes]:
    """WebP thumbnails of an upright image, by long side (THUMBNAIL_SIDES; never enlarged).
    Pillow's `thumbnail` reduces by whole factors first, so a 4096² source costs little more
    than a small one once decoded."""
    current = image.convert("RGBA" if image.has_transparency_data else "RGB")  # a copy
    made: dict[int, bytes] = {}
    encoded: tuple[tuple[int, int], bytes] | None = None  # the last size encoded, and how
    for side in THUMBNAIL_SIDES:
        current.thumbnail((side, side), Image.Resampling.LANCZOS, reducing_gap=2.0)
        if encoded is None or encoded[0] != current.size:
            encoded = (current.size, _webp(current))
        made[side] = encoded[1]  # a source no larger than a side: the same pixels, once
    return made


def image_for_renditions(data: bytes) -> Image.Image:
    """A stored image file, decoded upright for its thumbnails (the first frame of a GIF). A
    JPEG is decoded straight at the nearest size above the largest thumbnail (`draft`)."""
    return upright(open_image(data, draft_side=THUMBNAIL_SIDES[0]))


def upright(image: Image.Image) -> Image.Image:
    """An image as it should be seen (its EXIF orientation applied)."""
    return ImageOps.exif_transpose(image)


def video_poster(data: bytes, *, container: str = "mp4") -> Image.Image:
    """A video's first frame (what a player shows before it plays), at most POSTER_MAX_SIDE on
    its long side; ffmpeg reads the file from a temporary copy."""
    with tempfile.NamedTemporaryFile(suffix=f".{container}") as handle:
        handle.write(data)
        handle.flush()
        try:
            reader = imageio_ffmpeg.read_frames(handle.name, input_params=["-f", container])
            meta = next(reader)
            frame = next(reader)
            reader.close()
        except (RuntimeError, OSError, StopIteration) as exc:
            reason = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise ProviderError(f"No poster frame: {reason}", kind="invalid") from exc
    image = Image.frombytes("RGB", tuple(meta["size"]), frame)
    image.thumbnail((POSTER_MAX_SIDE, POSTER_MAX_SIDE), Image.Resampling.LANCZOS)
    return image


def poster_webp(image: Image.Image) -> bytes:
    return _webp(image)


def contact_sheet(images: list[Image.Image], *, columns: int, cell: int,
                  gap: int = 8, background: str = "#111111") -> Image.Image:
    """The images on one sheet, `columns` across in reading order, each fitted (aspect kept)
    and centred in a `cell` × `cell` square, `gap` pixels apart."""
    columns = max(1, min(columns, len(images)))
    rows = -(-len(images) // columns)
    sheet = Image.new("RGB", (columns * cell + (columns + 1) * gap,
                              rows * cell + (rows + 1) * gap), background)
    for index, image in enumerate(images):
        thumb = image.convert("RGBA")
        thumb.thumbnail((cell, cell), Image.Resampling.LANCZOS)
        column, row = index % columns, index // columns
        x = gap + column * (cell + gap) + (cell - thumb.width) // 2
        y = gap + row * (cell + gap) + (cell - thumb.height) // 2
        sheet.paste(thumb, (x, y), thumb)
    return sheet
