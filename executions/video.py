"""Video assembly for compose:video, with the ffmpeg of the imageio-ffmpeg wheel: clips of any
size, frame rate, with or without sound, fitted to one frame (pad or crop), joined by hard cuts
or crossfades (xfade / acrossfade), a voice-over and a music bed laid under them (the music
ducked under the voice with sidechaincompress), captions burned in (drawn with Pillow, laid
over with `overlay`), out as MP4: H.264 yuv420p + AAC, faststart. One ffmpeg run, one filter
graph. Nothing here touches the network or the database; bad input raises
ProviderError(kind="invalid").
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, replace

import srt
from PIL import Image, ImageDraw

from executions import audio, imaging
from executions.providers.base import ProviderError

WORK_TIMEOUT = 900  # seconds for one assembly
MAX_CLIPS = 20
MAX_CAPTIONS = 200
MAX_SECONDS = 600  # the longest cut we assemble
SAMPLE_RATE = 48000
ASPECTS = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1), "4:5": (4, 5)}
TRANSITIONS = {"fade": "fade", "dissolve": "dissolve", "fadeblack": "fadeblack",
               "wipeleft": "wipeleft", "slideleft": "slideleft"}
CAPTION_SIZES = {"small": 0.045, "medium": 0.06, "large": 0.08}  # of the frame's height
MUSIC_FADE_OUT = 1.5  # seconds
LONG_VOICE = ("hold", "slow", "cut")  # a voice-over longer than the clips: see `fit_to_voice`
MAX_SLOW = 4.0  # the most the last clip is slowed; past that its last frame is held
_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Clip:
    path: str
    container: str  # the ffmpeg demuxer it is read with
    duration: float
    has_audio: bool
    width: int
    height: int
    slow: float = 1.0  # played this many times slower (the last clip, under a long voice-over)

    @property
    def length(self) -> float:
        """How long it is on screen in the cut."""
        return self.duration * self.slow


@dataclass(frozen=True)
class Track:
    path: str
    container: str


@dataclass(frozen=True)
class Assembly:
    """What compose:video was asked for (its settings, checked by the catalog)."""

    transition: str = "cut"  # "cut" or one of TRANSITIONS
    transition_duration: float = 0.5
    aspect_ratio: str = "16:9"  # one of ASPECTS, or "first" (the first clip's)
    fit: str = "pad"  # "pad" (bars) or "crop" (fill)
    resolution: int = 720  # the short side, px
    fps: int = 30
    clip_volume: float = 1.0
    voice_volume: float = 1.0
    music_volume: float = 0.35
    ducking: bool = True
    caption_position: str = "bottom"
    caption_size: str = "medium"
    long_voice: str = "hold"  # one of LONG_VOICE


@dataclass(frozen=True)
class Caption:
    start: float
    end: float
    text: str


def clip_probe(path: str, *, container: str) -> Clip:
    """A clip's duration (its container's), size and whether it has sound, from ffmpeg's
    report of the file (no decode: the file was decoded whole when it was stored)."""
    done = subprocess.run([audio.ffmpeg(), "-hide_banner", "-nostdin", "-f", container,
                           "-i", path], capture_output=True, text=True, timeout=60,
                          check=False)
    header = done.stderr
    video = re.search(r"Stream #0:\d+.*?: Video: .*?, (\d{2,5})x(\d{2,5})", header)
    duration = _DURATION.search(header)
    if video is None or duration is None:
        raise ProviderError(f"A clip is not a readable video ({container})", kind="invalid")
    hours, minutes, seconds = duration.groups()
    length = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    if length <= 0:
        raise ProviderError("A clip has no length", kind="invalid")
    return Clip(path=path, container=container, duration=length,
                has_audio=re.search(r"Stream #0:\d+.*?: Audio: ", header) is not None,
                width=int(video.group(1)), height=int(video.group(2)))


def frame_size(settings: Assembly, first: Clip) -> tuple[int, int]:
    """The output frame: the aspect ratio at `resolution` on its short side (even sides)."""
    if settings.aspect_ratio == "first":
        w, h = first.width, first.height
    elif settings.aspect_ratio in ASPECTS:
        w, h = ASPECTS[settings.aspect_ratio]
    else:
        raise ProviderError(f"Unknown aspect ratio {settings.aspect_ratio!r}", kind="invalid")
    short = settings.resolution
    if w >= h:
        return _even(short * w / h), _even(short)
    return _even(short), _even(short * h / w)


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def crossfade(settings: Assembly, clips: list[Clip]) -> float:
    """The crossfade length: as asked, but never more than half the shortest clip."""
    if settings.transition == "cut" or len(clips) < 2:
        return 0.0
    return round(min(settings.transition_duration, min(c.length for c in clips) / 2), 3)


def total_duration(settings: Assembly, clips: list[Clip]) -> float:
    return sum(c.length for c in clips) - crossfade(settings, clips) * (len(clips) - 1)


def fit_to_voice(settings: Assembly, clips: list[Clip], voice_seconds: float | None
                 ) -> tuple[list[Clip], float]:
    """The clips and the seconds the last frame is held, so the cut lasts as long as a
    voice-over longer than the clips (never cut mid-word): `hold` holds the last frame, `slow`
    plays the last clip slower (at most MAX_SLOW times; the rest is held), `cut` ends the voice
    with the clips, as a shorter voice-over always leaves the clips as they are."""
    if settings.long_voice not in LONG_VOICE:
        raise ProviderError(f"Unknown long_voice {settings.long_voice!r}: use one of "
                            f"{', '.join(LONG_VOICE)}", kind="invalid")
    extra = (voice_seconds or 0.0) - total_duration(settings, clips)
    if settings.long_voice == "cut" or extra <= 0.01:
        return clips, 0.0
    if settings.long_voice == "slow":
        last = clips[-1]
        slow = min(MAX_SLOW, (last.length + extra) / last.length)
        clips = [*clips[:-1], replace(last, slow=round(slow, 6))]
        extra = max(0.0, (voice_seconds or 0.0) - total_duration(settings, clips))
    return clips, round(extra, 6) if extra > 0.01 else 0.0


def clip_spans(settings: Assembly, clips: list[Clip]) -> list[tuple[float, float]]:
    """When each clip is on screen in the cut (a crossfade counted half to each side)."""
    fade = crossfade(settings, clips)
    spans, offset = [], 0.0  # where each clip starts playing, its fade-in included
    for index, clip in enumerate(clips):
        start = offset + (fade / 2 if index else 0)
        end = offset + clip.length - (fade / 2 if index < len(clips) - 1 else 0)
        spans.append((start, end))
        offset += clip.length - fade
    return spans


# --- captions ---------------------------------------------------------------------------------

def captions_parse(text: str, *, spans: list[tuple[float, float]], total: float
                   ) -> list[Caption]:
    """Captions from the node's text. SRT text (it has `-->` times) keeps its own times; plain
    text is one caption a line (a single paragraph: one a sentence), one per clip when there
    are as many lines as clips, else timed evenly across the whole cut."""
    text = (text or "").strip()
    if not text:
        return []
    if "-->" in text:
        try:
            parsed = list(srt.parse(text.replace("\r\n", "\n")))
        except (srt.SRTParseError, ValueError) as exc:
            raise ProviderError(f"The captions look like SRT but do not parse: {exc}",
                                kind="invalid") from exc
        captions = [Caption(s.start.total_seconds(), min(s.end.total_seconds(), total),
                            s.content.strip()) for s in parsed]
        captions = [c for c in captions if c.text and c.start < c.end]
    else:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if len(lines) == 1:
            lines = [s.strip() for s in re.split(r"(?<=[.!?…])\s+", lines[0]) if s.strip()]
        if len(lines) == len(spans) > 1:
            captions = [Caption(a, b, line) for (a, b), line in zip(spans, lines, strict=True)]
        else:
            step = total / len(lines)
            captions = [Caption(i * step, (i + 1) * step, line) for i, line in enumerate(lines)]
    if len(captions) > MAX_CAPTIONS:
        raise ProviderError(f"{len(captions)} captions: at most {MAX_CAPTIONS}", kind="invalid")
    return captions


def caption_image(text: str, *, size: tuple[int, int], scale: float, position: str) -> Image.Image:
    """A frame-sized transparent picture of one caption: white text with a dark outline on a
    soft band, wrapped to the frame, in the title-safe area (8 % from the edge)."""
    width, height = size
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    face = imaging.font(max(12, height * scale))
    margin = round(height * 0.08)
    block = "\n".join(imaging.wrap(text, face=face, max_width=width * 0.86))
    spacing = face.size // 5
    stroke = max(1, face.size // 14)
    box = draw.multiline_textbbox((0, 0), block, font=face, spacing=spacing, align="center",
                                  stroke_width=stroke)
    text_w, text_h = box[2] - box[0], box[3] - box[1]
    top = {"top": margin, "center": (height - text_h) / 2,
           "bottom": height - margin - text_h}.get(position)
    if top is None:
        raise ProviderError(f"Unknown caption position {position!r}", kind="invalid")
    pad = face.size // 3
    left = (width - text_w) / 2
    draw.rounded_rectangle((left - pad, top - pad, left + text_w + pad, top + text_h + pad),
                           radius=pad, fill=(0, 0, 0, 110))
    draw.multiline_text((left - box[0], top - box[1]), block, font=face, spacing=spacing,
                        align="center", fill=(255, 255, 255, 255), stroke_width=stroke,
                        stroke_fill=(0, 0, 0, 255))
    return image


# --- the filter graph ---------------------------------------------------------------------------

def _audio_format() -> str:
    return f"aformat=sample_fmts=fltp:sample_rates={SAMPLE_RATE}:channel_layouts=stereo"


def _fit(settings: Assembly, size: tuple[int, int]) -> str:
    w, h = size
    if settings.fit == "crop":
        return f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h}"
    if settings.fit == "pad":
        return (f"scale={w}:{h}:force_original_aspect_ratio=decrease,"
                f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black")
    raise ProviderError(f"Unknown fit {settings.fit!r}: use pad or crop", kind="invalid")


def filter_graph(settings: Assembly, clips: list[Clip], *, size: tuple[int, int],
                 voice: int | None, music: int | None, captions: list[tuple[int, Caption]],
                 hold: float = 0.0) -> str:
    """The one filter graph: `[vout]` and `[aout]` from the inputs by index. A slowed clip is
    retimed (its own sound is not stretched: silence fills it out); `hold` seconds of the last
    frame end the picture (and silence the clips' sound)."""
    parts = []
    for i, clip in enumerate(clips):
        slowed = (f",setpts={clip.slow:.6f}*PTS,fps={settings.fps}"
                  if clip.slow != 1.0 else "")
        parts.append(f"[{i}:v:0]{_fit(settings, size)},setsar=1,fps={settings.fps},"
                     f"format=yuv420p,tpad=stop_mode=clone:stop_duration=2,"
                     f"trim=duration={clip.duration:.6f},setpts=PTS-STARTPTS{slowed}[v{i}]")
        if clip.has_audio:
            parts.append(f"[{i}:a:0]{_audio_format()},apad,atrim=duration={clip.length:.6f},"
                         f"asetpts=PTS-STARTPTS[a{i}]")
        else:
            parts.append(f"anullsrc=r={SAMPLE_RATE}:cl=stereo,"
                         f"atrim=duration={clip.length:.6f}[a{i}]")
    fade = crossfade(settings, clips)
    if len(clips) == 1:
        parts += ["[v0]null[vcat]", "[a0]anull[acat]"]
    elif fade == 0:
        joined = "".join(f"[v{i}][a{i}]" for i in range(len(clips)))
        parts.append(f"{joined}concat=n={len(clips)}:v=1:a=1[vcat][acat]")
    else:
        kind = TRANSITIONS.get(settings.transition)
        if kind is None:
            raise ProviderError(f"Unknown transition {settings.transition!r}", kind="invalid")
        video, sound, offset = "v0", "a0", 0.0
        for i in range(1, len(clips)):
            offset += clips[i - 1].length - fade
            last = i == len(clips) - 1
            vnext, anext = ("vcat", "acat") if last else (f"x{i}", f"y{i}")
            parts.append(f"[{video}][v{i}]xfade=transition={kind}:duration={fade:.6f}"
                         f":offset={offset:.6f}[{vnext}]")
            parts.append(f"[{sound}][a{i}]acrossfade=d={fade:.6f}[{anext}]")
            video, sound = vnext, anext
    total = total_duration(settings, clips) + hold
    video = "vcat"
    if hold:
        parts.append(f"[vcat]tpad=stop_mode=clone:stop_duration={hold:.6f}[vheld]")
        parts.append(f"[acat]apad=whole_dur={total:.6f}[aheld]")
        video = "vheld"
    for n, (index, caption) in enumerate(captions):
        out = "vout" if n == len(captions) - 1 else f"c{n}"
        parts.append(f"[{video}][{index}:v:0]overlay=0:0:eof_action=repeat"
                     f":enable='between(t,{caption.start:.3f},{caption.end:.3f})'[{out}]")
        video = out
    if not captions:
        parts.append(f"[{video}]null[vout]")
    mix = [f"[{'aheld' if hold else 'acat'}]volume={settings.clip_volume:g}[mclips]"]
    inputs = ["[mclips]"]
    if voice is not None:
        mix.append(f"[{voice}:a:0]{_audio_format()},volume={settings.voice_volume:g},apad,"
                   f"atrim=duration={total:.6f}[voice]")
        if music is not None and settings.ducking:
            mix.append("[voice]asplit=2[voicemix][voicekey]")
            inputs.append("[voicemix]")
        else:
            inputs.append("[voice]")
    if music is not None:
        fade_out = min(MUSIC_FADE_OUT, total / 4)
        mix.append(f"[{music}:a:0]{_audio_format()},volume={settings.music_volume:g},apad,"
                   f"atrim=duration={total:.6f},"
                   f"afade=t=out:st={total - fade_out:.6f}:d={fade_out:.6f}[musicbed]")
        if voice is not None and settings.ducking:
            # The music drops (about 12 dB at full voice) while the voice speaks, and comes
            # back within half a second after it stops.
            mix.append("[musicbed][voicekey]sidechaincompress=threshold=0.03:ratio=8"
                       ":attack=20:release=450:makeup=1[music]")
            inputs.append("[music]")
        else:
            inputs.append("[musicbed]")
    if len(inputs) == 1:
        mix.append(f"[mclips]alimiter=limit=0.95,atrim=duration={total:.6f}[aout]")
    else:
        mix.append(f"{''.join(inputs)}amix=inputs={len(inputs)}:duration=first:normalize=0,"
                   f"alimiter=limit=0.95,atrim=duration={total:.6f}[aout]")
    return ";".join(parts + mix)


def assemble(clips: list[Clip], *, settings: Assembly, folder: str, voice: Track | None = None,
             music: Track | None = None, captions: str = "") -> bytes:
    """The finished cut as MP4 bytes (H.264 yuv420p, AAC 48 kHz stereo, faststart). Inputs are
    files in `folder` (the caller's temporary folder); caption pictures are written there."""
    if not clips:
        raise ProviderError("No clip arrived on the 'clips' input", kind="invalid")
    if len(clips) > MAX_CLIPS:
        raise ProviderError(f"{len(clips)} clips: at most {MAX_CLIPS}", kind="invalid")
    spoken = audio.audio_info_file(voice.path, container=voice.container).duration \
        if voice is not None and settings.long_voice != "cut" else None
    clips, hold = fit_to_voice(settings, clips, spoken)
    total = total_duration(settings, clips) + hold
    if total > MAX_SECONDS:
        raise ProviderError(f"The cut would be {total:.0f} s long: at most {MAX_SECONDS} s",
                            kind="invalid")
    size = frame_size(settings, clips[0])
    args: list[str] = []
    for clip in clips:
        args += ["-f", clip.container, "-i", clip.path]
    index = len(clips)
    voice_at = music_at = None
    if voice is not None:
        args += ["-f", voice.container, "-i", voice.path]
        voice_at, index = index, index + 1
    if music is not None:
        args += ["-stream_loop", "-1", "-f", music.container, "-i", music.path]  # loops
        music_at, index = index, index + 1
    laid: list[tuple[int, Caption]] = []
    scale = CAPTION_SIZES.get(settings.caption_size, CAPTION_SIZES["medium"])
    spans = clip_spans(settings, clips)
    if hold:  # the last clip's span runs on over its held frame
        spans[-1] = (spans[-1][0], spans[-1][1] + hold)
    for n, caption in enumerate(captions_parse(captions, spans=spans, total=total)):
        path = os.path.join(folder, f"caption-{n}.png")
        caption_image(caption.text, size=size, scale=scale,
                      position=settings.caption_position).save(path, "PNG")
        args += ["-f", "image2", "-i", path]
        laid.append((index, caption))
        index += 1
    graph = filter_graph(settings, clips, size=size, voice=voice_at, music=music_at,
                         captions=laid, hold=hold)
    script = os.path.join(folder, "graph.txt")
    with open(script, "w", encoding="utf-8") as handle:
        handle.write(graph)
    out = os.path.join(folder, "cut.mp4")
    command = [audio.ffmpeg(), "-hide_banner", "-nostdin", "-v", "error", "-y", *args,
               "-/filter_complex", script, "-map", "[vout]", "-map", "[aout]",
               "-c:v", "libx264", "-preset", "veryfast", "-crf", "21", "-pix_fmt", "yuv420p",
               "-r", str(settings.fps), "-c:a", "aac", "-b:a", "192k", "-ar", str(SAMPLE_RATE),
               "-ac", "2", "-movflags", "+faststart", "-t", f"{total:.6f}", out]
    try:
        done = subprocess.run(command, capture_output=True, timeout=WORK_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ProviderError(f"Assembling the video took longer than {WORK_TIMEOUT} s",
                            kind="failed") from exc
    if done.returncode != 0:
        reason = (done.stderr.decode(errors="replace").strip().splitlines()
                  or [f"ffmpeg exit {done.returncode}"])
        raise ProviderError(f"Assembling the video failed: {reason[-1][:300]}", kind="failed")
    with open(out, "rb") as handle:
        return handle.read()
