"""Media files built for tests: images with Pillow, videos with the ffmpeg of the
imageio-ffmpeg wheel, and hand-made PNGs whose header lies about their size."""

from __future__ import annotations

import io
import struct
import subprocess
import tempfile
import zlib
from functools import cache
from pathlib import Path

import imageio_ffmpeg
from PIL import Image


def pillow(fmt: str, size: tuple[int, int] = (24, 16), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (200, 40, 90) if mode == "RGB" else 1).save(buffer, format=fmt)
    return buffer.getvalue()


@cache
def video(container: str) -> bytes:
    """One second of ffmpeg's test pattern, 64×48 at 10 fps (a file, not a pipe: MP4 and MOV
    write their index at the end)."""
    codec = (["-c:v", "libvpx"] if container == "webm"
             else ["-c:v", "libx264", "-pix_fmt", "yuv420p"])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"clip.{container}"
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi",
                        "-i", "testsrc=size=64x48:rate=10", "-t", "1", *codec, str(path)],
                       check=True)
        return path.read_bytes()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def header_only_png(width: int, height: int) -> bytes:
    """A PNG that claims width×height but carries one empty IDAT: a few dozen bytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b""))
            + _chunk(b"IEND", b""))


@cache
def real_bomb_png() -> bytes:
    """A real, whole 12000×12000 PNG (one bit a pixel compresses to almost nothing)."""
    return pillow("PNG", (12000, 12000), mode="1")


# How each audio format is encoded for tests (the container ffmpeg writes, and its codec).
AUDIO_ENCODINGS = {
    "mp3": ["-c:a", "libmp3lame", "-f", "mp3"],
    "wav": ["-c:a", "pcm_s16le", "-f", "wav"],
    "m4a": ["-c:a", "aac", "-f", "ipod"],
    "aac": ["-c:a", "aac", "-f", "adts"],
    "ogg": ["-c:a", "libvorbis", "-f", "ogg"],
    "opus": ["-c:a", "libopus", "-f", "ogg"],
    "flac": ["-c:a", "flac", "-f", "flac"],
}


@cache
def audio(fmt: str, seconds: float = 1.5, *, channels: int = 2, frequency: int = 440,
          volume: float = 0.5, rate: int = 44100) -> bytes:
    """A sine tone of `seconds` in one of AUDIO_ENCODINGS, at `volume` (a gain)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"tone.{fmt}"
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi",
                        "-i", f"sine=frequency={frequency}:duration={seconds}:sample_rate={rate}",
                        "-af", f"volume={volume}", "-ac", str(channels), *AUDIO_ENCODINGS[fmt],
                        str(path)], check=True)
        return path.read_bytes()


@cache
def audio_only_mp4(seconds: float = 1.0) -> bytes:
    """An MP4 (brand isom, as many vendors write it) that holds only an AAC sound."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sound.mp4"
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi",
                        "-i", f"sine=frequency=330:duration={seconds}", "-c:a", "aac",
                        "-f", "mp4", str(path)], check=True)
        return path.read_bytes()


def fetched(client, url: str) -> bytes:
    """The bytes at a media URL the API handed out: ours (/media/…, signed) through the Django
    test client, the object store's (presigned S3) over HTTP: the same test on either
    backend."""
    import httpx

    if "/media/" in url:
        response = client.get("/media/" + url.split("/media/", 1)[1].split("?", 1)[0],
                              dict(httpx.URL(url).params))
        assert response.status_code == 200, url
        return b"".join(response.streaming_content)
    response = httpx.get(url)
    assert response.status_code == 200, (url, response.text[:300])
    return response.content
