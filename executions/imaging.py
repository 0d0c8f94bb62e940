"""Pure image and video work for the local provider, and probes the engine uses on every file.

Pillow does the pixels; imageio-ffmpeg's bundled ffmpeg encodes H.264. Nothing here touches the
network or the database.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import random
import tempfile
import textwrap

import imageio_ffmpeg
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from executions.providers.base import OutputFile, ProviderError

FORMATS = {"png": ("PNG", "image/png", "png"), "jpeg": ("JPEG", "image/jpeg", "jpg"),
           "jpg": ("JPEG", "image/jpeg", "jpg"), "webp": ("WEBP", "image/webp", "webp")}
MIME_BY_FORMAT = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp",
                  "GIF": "image/gif"}
MAX_VIDEO_SIDE = 1280
Image.MAX_IMAGE_PIXELS = 64_000_000  # refuse decompression bombs, allow 4 MP ×4 upscales


def font(size: int) -> ImageFont.FreeTypeFont:
    """Pillow's bundled scalable font (FreeType), so text is real at any size."""
    return ImageFont.load_default(size=max(6, int(size)))


def hex_color(value: str) -> tuple[int, int, int]:
    value = value.lstrip("#")
    if len(value) == 3:
        value = "".join(ch * 2 for ch in value)
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def decode(data: bytes) -> Image.Image:
    """Bytes → an RGB image, or ProviderError(kind="invalid") for anything undecodable."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ProviderError(f"The input is not a readable image: {exc}", kind="invalid") from exc
    return ImageOps.exif_transpose(image).convert("RGB")


# --- generation --------------------------------------------------------------------------------

def preview_image(*, prompt: str, seed: int, width: int, height: int) -> Image.Image:
    """A deterministic procedural picture for a prompt and seed, labelled PREVIEW.

    Colours and shapes come from a hash of prompt and seed: same inputs, same pixels.
    """
    digest = hashlib.sha256(f"{seed}:{prompt}".encode()).digest()
    rng = random.Random(digest)
    top = tuple(rng.randrange(40, 200) for _ in range(3))
    bottom = tuple(rng.randrange(0, 120) for _ in range(3))
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.composite(Image.new("RGB", (width, height), bottom),
                            Image.new("RGB", (width, height), top), gradient)
    draw = ImageDraw.Draw(image, "RGBA")
    for _ in range(6 + rng.randrange(6)):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        radius = rng.uniform(0.05, 0.3) * min(width, height)
        fill = tuple(rng.randrange(0, 256) for _ in range(3)) + (rng.randrange(70, 170),)
        if rng.random() < 0.5:
            draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=fill)
        else:
            points = [(cx + radius * math.cos(a), cy + radius * math.sin(a))
                      for a in (rng.uniform(0, 2 * math.pi) for _ in range(3))]
            draw.polygon(points, fill=fill)
    size = max(10, min(width, height) // 18)
    words = textwrap.fill(prompt.strip() or "(empty prompt)", width=max(12, width // (size // 2 + 1)))
    draw.multiline_text((size, height - size * 2 - size * words.count("\n") * 1.2), words,
                        font=font(size), fill=(255, 255, 255, 230), spacing=size // 5)
    label = "PREVIEW"
    label_font = font(max(12, min(width, height) // 12))
    box = draw.textbbox((0, 0), label, font=label_font)
    pad = label_font.size // 3
    draw.rectangle((0, 0, box[2] + 2 * pad, box[3] + 2 * pad), fill=(0, 0, 0, 170))
    draw.text((pad, pad), label, font=label_font, fill=(255, 214, 0, 255))
    return image


# --- processing --------------------------------------------------------------------------------

def upscale(image: Image.Image, *, scale: int) -> Image.Image:
    return image.resize((image.width * scale, image.height * scale), Image.Resampling.LANCZOS)


def _ratio(aspect_ratio: str, image: Image.Image) -> float:
    if aspect_ratio in ("", "original"):
        return image.width / image.height
    w, h = (float(part) for part in aspect_ratio.split(":"))
    return w / h


def resize_crop(image: Image.Image, *, aspect_ratio: str, width: int | None,
                mode: str) -> Image.Image:
    """Fit to an aspect ratio: `cover` crops the centre, `contain` pads with black bars."""
    ratio = _ratio(aspect_ratio, image)
    target_w = int(width) if width else image.width
    target_h = max(1, round(target_w / ratio))
    if mode == "contain":
        return ImageOps.pad(image, (target_w, target_h), Image.Resampling.LANCZOS,
                            color=(0, 0, 0))
    return ImageOps.fit(image, (target_w, target_h), Image.Resampling.LANCZOS)


def text_overlay(image: Image.Image, *, text: str, font_size: int, color: str,
                 background: str, position: str) -> Image.Image:
    """Draw wrapped text across the image at top, centre or bottom, on an optional box."""
    result = image.copy()
    draw = ImageDraw.Draw(result, "RGBA")
    face = font(font_size)
    margin = max(8, font_size // 2)
    average = max(1.0, draw.textlength("abcdefghijklmnopqrstuvwxyz", font=face) / 26)
    wrapped = textwrap.fill(text, width=max(1, int((image.width - 2 * margin) / average)))
    box = draw.multiline_textbbox((0, 0), wrapped, font=face, align="center")
    text_w, text_h = box[2] - box[0], box[3] - box[1]
    x = (image.width - text_w) / 2 - box[0]
    y = {"top": margin, "center": (image.height - text_h) / 2}.get(
        position, image.height - text_h - margin) - box[1]
    if background:
        pad = margin // 2
        draw.rectangle((x + box[0] - pad, y + box[1] - pad, x + box[2] + pad, y + box[3] + pad),
                       fill=hex_color(background) + (200,))
    draw.multiline_text((x, y), wrapped, font=face, fill=hex_color(color), align="center")
    return result


def encode_image(image: Image.Image, *, fmt: str = "png") -> OutputFile:
    pil_format, mime, extension = FORMATS.get(fmt, FORMATS["png"])
    buffer = io.BytesIO()
    options = {"quality": 92} if pil_format in ("JPEG", "WEBP") else {"optimize": False}
    image.save(buffer, pil_format, **options)
    return OutputFile(data=buffer.getvalue(), mime=mime, extension=extension)


# --- video -------------------------------------------------------------------------------------

def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def pan_zoom_video(image: Image.Image, *, duration: float, fps: int, zoom: float,
                   direction: str) -> bytes:
    """A smooth zoom (in or out) over the still, as an H.264 MP4 that browsers play."""
    scale = min(1.0, MAX_VIDEO_SIDE / max(image.width, image.height))
    out_w, out_h = _even(image.width * scale), _even(image.height * scale)
    source = image.resize((out_w, out_h), Image.Resampling.LANCZOS) if scale < 1 else image
    frames = max(1, round(duration * fps))
    zoom = max(1.0, float(zoom))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "out.mp4")
        writer = imageio_ffmpeg.write_frames(
            path, (out_w, out_h), fps=fps, codec="libx264", pix_fmt_out="yuv420p",
            output_params=["-preset", "veryfast", "-movflags", "+faststart"],
            macro_block_size=2, ffmpeg_log_level="error",
        )
        writer.send(None)
        for index in range(frames):
            t = index / max(1, frames - 1)
            eased = t * t * (3 - 2 * t)  # smoothstep: no jolt at either end
            factor = 1 + (zoom - 1) * (eased if direction != "out" else 1 - eased)
            crop_w, crop_h = source.width / factor, source.height / factor
            left = (source.width - crop_w) / 2
            top = (source.height - crop_h) / 2
            frame = source.resize((out_w, out_h), Image.Resampling.BILINEAR,
                                  box=(left, top, left + crop_w, top + crop_h))
            writer.send(frame.tobytes())
        writer.close()
        with open(path, "rb") as handle:
            return handle.read()


# --- probes ------------------------------------------------------------------------------------

def image_info(data: bytes) -> tuple[str, int, int]:
    """(mime, width, height) of an image file; ProviderError if it does not decode."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        with Image.open(io.BytesIO(data)) as image:
            return MIME_BY_FORMAT.get(image.format, "application/octet-stream"), *image.size
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise ProviderError(f"Not a readable image: {exc}", kind="invalid") from exc


def video_info(data: bytes) -> dict:
    """Width, height, frame count and duration of an MP4, read back with ffmpeg."""
    with tempfile.NamedTemporaryFile(suffix=".mp4") as handle:
        handle.write(data)
        handle.flush()
        try:
            reader = imageio_ffmpeg.read_frames(handle.name)
            meta = reader.__next__()
            reader.close()
            frames, seconds = imageio_ffmpeg.count_frames_and_secs(handle.name)
        except (RuntimeError, OSError, StopIteration) as exc:
            raise ProviderError(f"Not a readable video: {exc}", kind="invalid") from exc
    width, height = meta["size"]
    codec = str(meta.get("codec", ""))
    return {"mime": "video/mp4", "width": width, "height": height, "frames": frames,
            "duration": round(seconds, 3), "codec": codec, "fps": meta.get("fps")}
