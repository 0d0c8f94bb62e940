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


def probe(data: bytes, suffix: str = "bin") -> dict:
    """What ffmpeg reads back from a file, as ffprobe would report it (there is no ffprobe
    here, only the wheel's ffmpeg): each stream's kind, codec and measures from the demuxer's
    own header report, the container's format name, and the duration every stream decodes to
    (the time of the last decoded frame, not a header's claim)."""
    import re

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"probe.{suffix}"
        path.write_bytes(data)
        done = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin",
                               "-i", str(path), "-f", "null", "-progress", "pipe:1", "-"],
                              capture_output=True, text=True, check=False)
    header = done.stderr.split("Stream mapping:", 1)[0]
    container = re.search(r"Input #0, ([\w,]+), from", header)
    streams = []
    for line in header.splitlines():
        found = re.search(r"Stream #0:\d+.*?: (Video|Audio): (\w+)(.*)", line)
        if not found:
            continue
        kind, codec, rest = found.group(1).lower(), found.group(2), found.group(3)
        stream = {"kind": kind, "codec": codec}
        if kind == "video":
            size = re.search(r", (\d+)x(\d+)", rest)
            fps = re.search(r", ([\d.]+) fps", rest)
            stream.update(width=int(size.group(1)), height=int(size.group(2)),
                          pix_fmt=pix.group(1) if (pix := re.search(
                              r"\b(yuvj?\d+p\w*|rgb\w+|nv12|gray)\b", rest)) else None,
                          fps=float(fps.group(1)) if fps else None)
        else:
            rate = re.search(r", (\d+) Hz, ([^,]+)", rest)
            layout = rate.group(2).strip()
            stream.update(sample_rate=int(rate.group(1)),
                          channels={"mono": 1, "stereo": 2}.get(layout, layout))
        streams.append(stream)
    progress = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    elapsed = progress.get("out_time_us", "0")
    return {"format": container.group(1) if container else None, "streams": streams,
            "duration": int(elapsed) / 1e6 if elapsed.isdigit() else 0.0,
            "faststart": data.find(b"moov") < data.find(b"mdat") if b"mdat" in data else None}


def loudness(data: bytes, suffix: str = "bin") -> float:
    """Integrated loudness (LUFS) as ffmpeg's ebur128 meter reads it."""
    import re

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"sound.{suffix}"
        path.write_bytes(data)
        done = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin",
                               "-i", str(path), "-map", "0:a:0", "-af", "ebur128",
                               "-f", "null", "-"], capture_output=True, text=True, check=False)
    summary = done.stderr.rsplit("Summary:", 1)[-1]
    return float(re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary).group(1))


@cache
def clip(seconds: float = 2.0, size: tuple[int, int] = (320, 180), fps: int = 25,
         sound: bool = False, container: str = "mp4", colour: str = "testsrc") -> bytes:
    """A clip of ffmpeg's test pattern (`colour`: testsrc, or a colour name for a flat
    frame), optionally with a 660 Hz tone, in MP4, MOV (H.264, AAC) or WebM (VP8, Vorbis)."""
    source = (f"testsrc=size={size[0]}x{size[1]}:rate={fps}" if colour == "testsrc"
              else f"color=c={colour}:size={size[0]}x{size[1]}:rate={fps}")
    inputs = ["-f", "lavfi", "-i", source]
    codecs = (["-c:v", "libvpx", "-b:v", "300k"] if container == "webm"
              else ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"])
    if sound:
        inputs += ["-f", "lavfi", "-i", f"sine=frequency=660:duration={seconds}"]
        codecs += ["-c:a", "libvorbis" if container == "webm" else "aac"]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"clip.{container}"
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", *inputs,
                        "-t", str(seconds), *codecs, str(path)], check=True)
        return path.read_bytes()


def stored(data: bytes, extension: str):
    """A file put in the media storage as a node's input would arrive: a `Media` of the kind
    its content is (told by executions.media_types)."""
    import hashlib
    import uuid

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from executions import media_types
    from executions.providers.base import Media

    # A name of its own, as the app's are (S3 overwrites a name stored twice).
    name = default_storage.save(f"inputs/{uuid.uuid4().hex}.{extension}", ContentFile(data))
    detected = media_types.media_detect(data)
    return Media(kind=detected.type.kind, storage_name=name, mime=detected.type.mime,
                 sha256=hashlib.sha256(data).hexdigest())
