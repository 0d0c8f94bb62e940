"""Pure audio work with the ffmpeg of the imageio-ffmpeg wheel: probing a file (decoded whole,
as video is), its waveform picture, and the local audio nodes' trim, loudness normalisation and
two-track mix. Nothing here touches the network or the database; bad input raises
ProviderError(kind="invalid").
"""

from __future__ import annotations

import array
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Any

import imageio_ffmpeg
from PIL import Image, ImageDraw

from executions.providers.base import OutputFile, ProviderError

PROBE_TIMEOUT = 120  # seconds for ffmpeg to decode a whole upload (25 MB at most)
WORK_TIMEOUT = 300  # seconds for one local audio operation
# What a node's audio result is encoded as: AAC in an M4A plays in every browser, is small and
# muxes into an MP4 as it is.
OUTPUT_BITRATE = "192k"
_LAYOUT_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "3.0": 3, "quad": 4, "4.0": 4,
                    "5.0": 5, "5.1": 6, "6.1": 7, "7.1": 8}
_STREAM = re.compile(r"Stream #0:\d+.*?: Audio: (?P<codec>[\w-]+).*?, (?P<rate>\d+) Hz, "
                     r"(?P<layout>[^,]+)")
_BAD_LEVELS = ("[error]", "[fatal]", "[panic]")
# Waveform pictures: the same long sides as image thumbnails, 4:1.
WAVEFORM_SIDES = (768, 256)
WAVEFORM_RATE = 8000  # samples a second decoded for the peaks
WAVEFORM_COLOUR = (95, 211, 141, 255)  # the editor's audio port colour


@dataclass(frozen=True)
class AudioInfo:
    duration: float  # seconds, as decoded
    channels: int
    sample_rate: int
    codec: str


def ffmpeg() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def _first_line(text: str, default: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return (lines[0] if lines else default)[:200]


def _channels(layout: str) -> int:
    layout = layout.strip().split("(", 1)[0].strip()
    if layout in _LAYOUT_CHANNELS:
        return _LAYOUT_CHANNELS[layout]
    match = re.match(r"(\d+) channels", layout)
    return int(match.group(1)) if match else 0


def audio_info_file(path: str, *, container: str | None = None,
                    timeout: float = PROBE_TIMEOUT) -> AudioInfo:
    """Decode the first audio stream of the file at `path` whole (forced to the `container`
    demuxer when given, never a guess from the content): any error ffmpeg reports refuses it.
    Its duration is what decodes, not what a header claims."""
    forced = ["-f", container] if container else []
    try:
        done = subprocess.run(
            [ffmpeg(), "-hide_banner", "-nostdin", "-loglevel", "level+info", "-xerror",
             *forced, "-i", path, "-map", "0:a:0", "-f", "null", "-progress", "pipe:1", "-"],
            capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProviderError(f"Not a readable audio file: {type(exc).__name__}",
                            kind="invalid") from exc
    errors = [line for line in done.stderr.splitlines()
              if any(level in line for level in _BAD_LEVELS)]
    if done.returncode != 0 or errors:
        reason = _first_line("\n".join(errors) or done.stderr, f"ffmpeg exit {done.returncode}")
        reason = re.sub(r"^(\[[^\]]*\] )+", "", reason)  # "[mp3 @ 0x…] [error] …"
        raise ProviderError(f"Not a readable audio file: {reason}", kind="invalid")
    header = done.stderr.split("Stream mapping:", 1)[0]
    stream = _STREAM.search(header)
    progress = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    elapsed = progress.get("out_time_us", "")
    seconds = int(elapsed) / 1e6 if elapsed.isdigit() else 0.0
    if stream is None or seconds <= 0:
        raise ProviderError("Not a readable audio file: no audio decodes", kind="invalid")
    return AudioInfo(duration=round(seconds, 3), channels=_channels(stream["layout"]),
                     sample_rate=int(stream["rate"]), codec=stream["codec"])


def audio_info(data: bytes, *, container: str) -> AudioInfo:
    """`audio_info_file` of bytes, through a temporary file (M4A keeps its index at the end)."""
    with tempfile.NamedTemporaryFile(suffix=f".{container}") as handle:
        handle.write(data)
        handle.flush()
        return audio_info_file(handle.name, container=container)


# --- waveform ----------------------------------------------------------------------------------

def peaks(data: bytes, *, container: str, buckets: int) -> list[float]:
    """The loudest |sample| (0..1) of each of `buckets` equal slices of the sound, mixed to
    mono at WAVEFORM_RATE: enough to draw it."""
    with tempfile.NamedTemporaryFile(suffix=f".{container}") as handle:
        handle.write(data)
        handle.flush()
        try:
            done = subprocess.run(
                [ffmpeg(), "-hide_banner", "-nostdin", "-v", "error", "-f", container,
                 "-i", handle.name, "-map", "0:a:0", "-ac", "1", "-ar", str(WAVEFORM_RATE),
                 "-f", "s16le", "-acodec", "pcm_s16le", "pipe:1"],
                capture_output=True, timeout=PROBE_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ProviderError(f"No waveform: {type(exc).__name__}", kind="invalid") from exc
    if done.returncode != 0:
        reason = _first_line(done.stderr.decode(errors="replace"), "ffmpeg failed")
        raise ProviderError(f"No waveform: {reason}", kind="invalid")
    samples = array.array("h")
    samples.frombytes(done.stdout[: len(done.stdout) // 2 * 2])
    if sys.byteorder != "little":
        samples.byteswap()
    if not samples:
        return [0.0] * buckets
    step = len(samples) / buckets
    out = []
    for index in range(buckets):
        chunk = samples[int(index * step): max(int((index + 1) * step), int(index * step) + 1)]
        out.append(min(1.0, max(max(chunk), -min(chunk)) / 32767) if chunk else 0.0)
    return out


def waveform(levels: list[float], *, width: int) -> bytes:
    """A waveform picture (WebP, transparent, width × width/4): one rounded bar a peak,
    mirrored about the middle line, scaled so the loudest peak fills the height."""
    height = max(16, width // 4)
    scale = 4  # drawn large, then reduced: smooth edges
    image = Image.new("RGBA", (width * scale, height * scale), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    loudest = max(levels) if levels and max(levels) > 0 else 1.0
    slot = width * scale / len(levels)
    bar = max(scale, slot * 0.6)
    middle = height * scale / 2
    for index, level in enumerate(levels):
        half = max(scale / 2, level / loudest * (middle - scale))
        left = index * slot + (slot - bar) / 2
        draw.rounded_rectangle((left, middle - half, left + bar, middle + half),
                               radius=bar / 2, fill=WAVEFORM_COLOUR)
    image = image.resize((width, height), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=85, method=2)
    return buffer.getvalue()


def waveforms(data: bytes, *, container: str) -> dict[int, bytes]:
    """Waveform pictures by width (WAVEFORM_SIDES), from one decode."""
    levels = peaks(data, container=container, buckets=96)
    made = {WAVEFORM_SIDES[0]: waveform(levels, width=WAVEFORM_SIDES[0])}
    small = [max(levels[i:i + 2]) for i in range(0, len(levels), 2)]
    made[WAVEFORM_SIDES[1]] = waveform(small, width=WAVEFORM_SIDES[1])
    return made


# --- processing ---------------------------------------------------------------------------------

def _run(args: list[str], *, what: str, timeout: float = WORK_TIMEOUT
         ) -> subprocess.CompletedProcess:
    try:
        done = subprocess.run([ffmpeg(), "-hide_banner", "-nostdin", "-v", "error", *args],
                              capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ProviderError(f"{what} took longer than {timeout:g} s", kind="failed") from exc
    except OSError as exc:
        raise ProviderError(f"{what} failed: {exc}", kind="failed") from exc
    if done.returncode != 0:
        reason = _first_line(done.stderr.decode(errors="replace"), f"exit {done.returncode}")
        raise ProviderError(f"{what} failed: {reason}", kind="invalid")
    return done


def _m4a_args() -> list[str]:
    return ["-c:a", "aac", "-b:a", OUTPUT_BITRATE, "-movflags", "+faststart", "-f", "ipod"]


class _Files:
    """Inputs written to a temporary folder, and the path of the output, removed afterwards."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory()
        self.folder = self._folder.name

    def write(self, name: str, data: bytes) -> str:
        path = os.path.join(self.folder, name)
        with open(path, "wb") as handle:
            handle.write(data)
        return path

    def path(self, name: str) -> str:
        return os.path.join(self.folder, name)

    def read(self, name: str) -> bytes:
        with open(self.path(name), "rb") as handle:
            return handle.read()

    def __enter__(self) -> _Files:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._folder.cleanup()


def m4a(data: bytes) -> OutputFile:
    return OutputFile(data=data, mime="audio/mp4", extension="m4a")


def trim(data: bytes, *, container: str, start: float, end: float | None,
         fade: float = 0.0) -> bytes:
    """The part of the sound from `start` to `end` seconds (None: to its end), as M4A, with
    an optional fade in and out of `fade` seconds so the cut does not click."""
    info = audio_info(data, container=container)
    stop = info.duration if end is None or end <= 0 else min(end, info.duration)
    if start < 0 or start >= stop:
        raise ProviderError(f"Nothing to keep: the sound is {info.duration:g} s long and the "
                            f"trim asks for {start:g} s to {stop:g} s", kind="invalid")
    length = stop - start
    filters = [f"atrim=start={start:.6f}:end={stop:.6f}", "asetpts=PTS-STARTPTS"]
    if fade > 0:
        fade = min(fade, length / 2)
        filters += [f"afade=t=in:d={fade:.6f}",
                    f"afade=t=out:st={length - fade:.6f}:d={fade:.6f}"]
    with _Files() as files:
        source = files.write(f"in.{container}", data)
        _run(["-f", container, "-i", source, "-map", "0:a:0", "-af", ",".join(filters),
              *_m4a_args(), files.path("out.m4a")], what="Trimming the audio")
        return files.read("out.m4a")


def loudness(path: str) -> dict[str, float]:
    """Integrated loudness (LUFS), loudness range (LU) and true peak (dBTP) of a file, as
    ffmpeg's loudnorm filter measures them (EBU R128)."""
    done = _run(["-i", path, "-map", "0:a:0", "-af", "loudnorm=print_format=json",
                 "-f", "null", "-"], what="Measuring the loudness")
    text = done.stderr.decode(errors="replace")
    # `-v error` hides the info-level report: measure again at info when it is not there.
    if "{" not in text:
        done = subprocess.run(
            [ffmpeg(), "-hide_banner", "-nostdin", "-i", path, "-map", "0:a:0",
             "-af", "loudnorm=print_format=json", "-f", "null", "-"],
            capture_output=True, timeout=WORK_TIMEOUT, check=False)
        text = done.stderr.decode(errors="replace")
    report = json.loads(text[text.rindex("{"): text.rindex("}") + 1])
    return {"integrated": float(report["input_i"]), "range": float(report["input_lra"]),
            "true_peak": float(report["input_tp"]), "threshold": float(report["input_thresh"])}


def normalize(data: bytes, *, container: str, target: float, true_peak: float,
              loudness_range: float) -> bytes:
    """EBU R128 loudness normalisation in two passes (measure, then apply the measured values,
    linear where it can be), as M4A at the source's sample rate."""
    info = audio_info(data, container=container)
    with _Files() as files:
        source = files.write(f"in.{container}", data)
        measured = loudness(source)
        if measured["integrated"] == float("-inf") or measured["integrated"] < -70:
            raise ProviderError("The audio is silent: there is no loudness to normalise",
                                kind="invalid")
        spec = (f"loudnorm=I={target:g}:TP={true_peak:g}:LRA={loudness_range:g}"
                f":measured_I={measured['integrated']:g}:measured_LRA={measured['range']:g}"
                f":measured_TP={measured['true_peak']:g}"
                f":measured_thresh={measured['threshold']:g}:linear=true")
        _run(["-f", container, "-i", source, "-map", "0:a:0", "-af", spec,
              "-ar", str(info.sample_rate), *_m4a_args(), files.path("out.m4a")],
             what="Normalising the audio")
        return files.read("out.m4a")


def mix(first: tuple[bytes, str], second: tuple[bytes, str], *, volume_a: float,
        volume_b: float, duration: str) -> bytes:
    """Two sounds played together, each at its volume (a gain: 1 is as it is), as stereo M4A.
    `duration`: "longest", "shortest" or "first" (the length of the first track)."""
    with _Files() as files:
        a = files.write(f"a.{first[1]}", first[0])
        b = files.write(f"b.{second[1]}", second[0])
        graph = (f"[0:a:0]aformat=channel_layouts=stereo,volume={volume_a:g}[a];"
                 f"[1:a:0]aformat=channel_layouts=stereo,volume={volume_b:g}[b];"
                 f"[a][b]amix=inputs=2:duration={duration}:normalize=0[out]")
        _run(["-f", first[1], "-i", a, "-f", second[1], "-i", b, "-filter_complex", graph,
              "-map", "[out]", *_m4a_args(), files.path("out.m4a")], what="Mixing the audio")
        return files.read("out.m4a")
