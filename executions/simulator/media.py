"""Real files for the simulator to hand out: a drawn picture for a prompt, an upscale of the
image a client sent, and a short H.264 clip encoded once per shape and reused."""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
from functools import cache

from PIL import Image, ImageDraw

from executions import imaging
from executions.providers.base import ProviderError

# Nano Banana's output sizes per aspect ratio at imageSize "1K" (about one megapixel); "2K"
# doubles each side, "4K" quadruples it, "512" halves it.
GEMINI_SIZES = {"1:1": (1024, 1024), "2:3": (832, 1248), "3:2": (1248, 832),
                "3:4": (864, 1184), "4:3": (1184, 864), "4:5": (896, 1152), "5:4": (1152, 896),
                "9:16": (768, 1344), "16:9": (1344, 768), "21:9": (1536, 672),
                "1:4": (512, 2048), "4:1": (2048, 512), "1:8": (384, 3072), "8:1": (3072, 384)}
GEMINI_SCALES = {"512": 0.5, "1K": 1, "2K": 2, "4K": 4}
DRAWN_PIXELS = 1024 * 1024  # larger pictures are drawn this big and scaled up, to stay cheap
VIDEO_FPS = 12
VIDEO_SIZES = {"16:9": (320, 180), "9:16": (180, 320), "1:1": (240, 240)}
_video_lock = threading.Lock()


def gemini_size(aspect_ratio: str, image_size: str) -> tuple[int, int]:
    """The pixel size Nano Banana answers for an aspect ratio and imageSize."""
    width, height = GEMINI_SIZES[aspect_ratio]
    scale = GEMINI_SCALES[image_size]
    return int(width * scale), int(height * scale)


def picture(prompt: str, width: int, height: int, *, seed: int = 0) -> Image.Image:
    """A decodable width×height image for a prompt and seed, marked SIMULATED."""
    if width * height > DRAWN_PIXELS:
        shrink = (width * height / DRAWN_PIXELS) ** 0.5
        small = _drawn(prompt, max(1, round(width / shrink)), max(1, round(height / shrink)),
                       seed)
        return small.resize((width, height), Image.Resampling.NEAREST)
    return _drawn(prompt, width, height, seed)


def _drawn(prompt: str, width: int, height: int, seed: int) -> Image.Image:
    digest = hashlib.sha256(f"{seed}:{prompt}".encode()).digest()
    image = Image.new("RGB", (width, height), tuple(digest[:3]))
    draw = ImageDraw.Draw(image)
    for i in range(0, 12, 3):
        x, y = digest[i + 3] / 255 * width, digest[i + 4] / 255 * height
        r = (digest[i + 5] / 255 * 0.3 + 0.05) * min(width, height)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(digest[i + 6:i + 9]))
    size = max(10, min(width, height) // 14)
    draw.text((size, size), "SIMULATED", font=imaging.font(size), fill=(255, 255, 255))
    draw.text((size, height - 2 * size), prompt[:60], font=imaging.font(size * 0.7),
              fill=(255, 255, 255))
    return image


def encode(image: Image.Image, fmt: str) -> tuple[bytes, str]:
    """(bytes, mime) as PNG when asked for "png", else JPEG (BFL's default)."""
    output = imaging.encode_image(image, fmt="png" if fmt == "png" else "jpeg")
    return output.data, output.mime


def decode_data_uri(value: str) -> Image.Image:
    """The image inside a `data:<mime>;base64,…` URI; ValueError when it is not one."""
    if not value.startswith("data:") or "," not in value:
        raise ValueError("image_url must be a data URI here (the simulator fetches nothing)")
    try:
        data = base64.b64decode(value.split(",", 1)[1], validate=True)
    except binascii.Error as exc:
        raise ValueError(f"image_url is not valid base64: {exc}") from exc
    try:
        return imaging.decode(data)
    except ProviderError as exc:
        raise ValueError(exc.message) from exc


def image_size(value: str) -> tuple[int, int]:
    """(width, height) of an image sent as base64 or a data URI; ValueError when Pillow cannot
    read one from it."""
    payload = value.split(",", 1)[1] if value.startswith("data:") and "," in value else value
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("The image is not valid base64") from exc
    return data_size(data)


def data_size(data: bytes) -> tuple[int, int]:
    """(width, height) of encoded image bytes, decoded whole as our own server would."""
    try:
        with imaging.open_image(data) as image:
            return image.size
    except ProviderError as exc:
        raise ValueError("The image could not be decoded") from exc


def data_uri_bytes(value: str) -> bytes:
    """The bytes inside a `data:<mime>;base64,…` URI; ValueError when it is not one."""
    if not value.startswith("data:") or "," not in value:
        raise ValueError("the URL must be a data URI here (the simulator fetches nothing)")
    try:
        data = base64.b64decode(value.split(",", 1)[1], validate=True)
    except binascii.Error as exc:
        raise ValueError(f"the data URI is not valid base64: {exc}") from exc
    if not data:
        raise ValueError("the data URI is empty")
    return data


def enlarged(image: Image.Image, size: tuple[int, int], *,
             transparent: bool = False) -> Image.Image:
    """The client's own image at `size` (an upscale, an edit); with `transparent`, its
    surroundings cut away to alpha, as a background remover answers."""
    result = image.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    if not transparent:
        return result
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).ellipse((size[0] * 0.15, size[1] * 0.1, size[0] * 0.85,
                                  size[1] * 0.95), fill=255)
    result.putalpha(mask)
    return result


def upscaled(image_url: str, scale: float, fmt: str) -> tuple[bytes, str, int, int]:
    """The client's own image, `scale` times larger: (bytes, mime, width, height)."""
    image = decode_data_uri(image_url)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    data, mime = encode(image.resize(size, Image.Resampling.LANCZOS), fmt)
    return data, mime, *size


def video(duration: int, aspect_ratio: str) -> bytes:
    """A real MP4 of `duration` seconds at 12 fps in a small size for the aspect ratio; each
    shape is encoded once per process (serialised, so concurrent first calls share it)."""
    with _video_lock:
        return _video(int(duration), aspect_ratio if aspect_ratio in VIDEO_SIZES else "16:9")


@cache
def _video(duration: int, aspect_ratio: str) -> bytes:
    width, height = VIDEO_SIZES[aspect_ratio]
    still = picture(f"simulated video {aspect_ratio}", width, height, seed=duration)
    return imaging.pan_zoom_video(still, duration=duration, fps=VIDEO_FPS, zoom=1.3,
                                  direction="in")


# --- audio, made with ffmpeg's own generators ---------------------------------------------------
# Speech-like: a voiced tone whose loudness rises and falls about four times a second, as
# syllables do, with a pause every few words; music-like: a chord with a slow beat; effects:
# filtered noise that swells and fades.
AUDIO_SOURCES = {
    "speech": ("sine=frequency=140:sample_rate=22050",
               "volume='0.15+0.85*abs(sin(2*PI*2*t))*gt(sin(2*PI*0.4*t)+0.6,0)':eval=frame,"
               "aecho=0.6:0.3:20:0.2"),
    "music": ("sine=frequency=220:sample_rate=22050",
              "aecho=0.8:0.7:450:0.5,volume='0.6+0.4*sin(2*PI*1*t)':eval=frame"),
    "effects": ("anoisesrc=color=pink:sample_rate=22050",
                "lowpass=f=1200,volume='0.2+0.8*sin(PI*t/{seconds})':eval=frame"),
}


def audio(seconds: float, kind: str = "speech") -> bytes:
    """A real MP3 of `seconds` (mono, 22 kHz) shaped like speech, music or sound effects."""
    seconds = max(0.5, min(float(seconds), 300.0))
    source, shape = AUDIO_SOURCES.get(kind, AUDIO_SOURCES["speech"])
    return _ffmpeg(["-f", "lavfi", "-t", f"{seconds:.2f}", "-i", source,
                    "-af", shape.format(seconds=f"{seconds:.2f}"), "-ac", "1",
                    "-c:a", "libmp3lame", "-b:a", "64k", "-f", "mp3", "pipe:1"])


def with_soundtrack(video_data: bytes, seconds: float) -> bytes:
    """The MP4 with an AAC track of effect-like sound laid under it (MMAudio's answer)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        clip, out = f"{folder}/in.mp4", f"{folder}/out.mp4"
        with open(clip, "wb") as handle:
            handle.write(video_data)
        source, shape = AUDIO_SOURCES["effects"]
        _ffmpeg(["-i", clip, "-f", "lavfi", "-t", f"{seconds:.2f}", "-i", source,
                 "-filter:a", shape.format(seconds=f"{seconds:.2f}"), "-map", "0:v", "-map",
                 "1:a", "-c:v", "copy", "-c:a", "aac", "-shortest", "-movflags", "+faststart",
                 out], output=out)
        with open(out, "rb") as handle:
            return handle.read()


def _ffmpeg(arguments: list[str], output: str | None = None) -> bytes:
    import subprocess

    import imageio_ffmpeg

    done = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error",
                           "-y", *arguments], capture_output=True, timeout=60, check=False)
    if done.returncode or not (done.stdout or output):
        raise ValueError(f"ffmpeg failed: {done.stderr.decode(errors='replace')[-300:]}")
    return done.stdout
