"""Real work on our own servers, with no network: a procedural preview image, Lanczos upscale,
resize/crop, text overlay, a pan-and-zoom MP4, and audio trim, loudness normalisation and mix.
One small function per node type, in `HANDLERS`; the pixels are done by the pure functions of
`executions.imaging`, the sound by those of `executions.audio`, a video assembly (compose:video)
by `executions.video`."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

from PIL import Image

from executions import audio, imaging, media_types, video
from executions.providers.base import Job, Media, OutputFile, Provider, ProviderError, Result


def _setting(job: Job, key: str, cast: Callable[[Any], Any]) -> Any:
    """`job.config[key]` as `cast` makes it, or ProviderError(kind="invalid") naming the key."""
    value = job.config.get(key)
    try:
        return cast(value)
    except (TypeError, ValueError) as exc:
        raise ProviderError(f"The setting '{key}' is not valid: {value!r}",
                            kind="invalid") from exc


def _image_in(job: Job) -> Image.Image:
    media = job.media("image")
    if not media:
        raise ProviderError("No image arrived on the 'image' input", kind="invalid")
    return imaging.decode(media[0].read())


def _png(image: Image.Image) -> Result:
    return Result({"image": imaging.encode_image(image, fmt="png")})


def _preview(job: Job) -> Result:
    image = imaging.preview_image(prompt=job.text("prompt"), seed=job.seed or 0,
                                  width=_setting(job, "width", int),
                                  height=_setting(job, "height", int))
    return Result({"image": imaging.encode_image(image, fmt="png")}, meta={"preview": True})


def _upscale(job: Job) -> Result:
    return _png(imaging.upscale(_image_in(job), scale=_setting(job, "scale", int)))


def _resize_crop(job: Job) -> Result:
    width = job.config.get("width")
    return _png(imaging.resize_crop(
        _image_in(job), aspect_ratio=_setting(job, "aspect_ratio", str),
        width=None if width in (None, "") else _setting(job, "width", int),
        mode=_setting(job, "mode", str),
    ))


def _text_overlay(job: Job) -> Result:
    return _png(imaging.text_overlay(
        _image_in(job), text=job.text("text"), font_size=_setting(job, "font_size", int),
        color=job.config.get("color") or "#ffffff", background=job.config.get("background") or "",
        position=_setting(job, "position", str),
    ))


def _pan_zoom(job: Job) -> Result:
    video = imaging.pan_zoom_video(
        _image_in(job), duration=_setting(job, "duration", float), fps=_setting(job, "fps", int),
        zoom=_setting(job, "zoom", float), direction=_setting(job, "direction", str),
        keep_going=job.check_stopped,
    )
    return Result({"video": OutputFile(data=video, mime="video/mp4", extension="mp4")})


def _sound_in(job: Job, port: str = "audio") -> tuple[bytes, str]:
    """The first sound on `port`: its bytes and the ffmpeg demuxer its format is read with."""
    media = job.media(port)
    if not media or media[0].kind != "audio":
        raise ProviderError(f"No sound arrived on the '{port}' input", kind="invalid")
    return media[0].read(), _demuxer(media[0])


def _demuxer(media: Media) -> str:
    extension = media.storage_name.rsplit(".", 1)[-1].lower()
    if extension not in media_types.DEMUXERS:
        raise ProviderError(f"{media.storage_name} is not a sound we read", kind="invalid")
    return media_types.DEMUXERS[extension]


def _optional(job: Job, key: str) -> float | None:
    return None if job.config.get(key) in (None, "") else _setting(job, key, float)


def _sound(data: bytes) -> Result:
    return Result({"audio": audio.m4a(data)})


def _trim(job: Job) -> Result:
    data, container = _sound_in(job)
    return _sound(audio.trim(data, container=container, start=_optional(job, "start") or 0.0,
                             end=_optional(job, "end"), fade=_optional(job, "fade") or 0.0))


def _normalize(job: Job) -> Result:
    data, container = _sound_in(job)
    return _sound(audio.normalize(
        data, container=container, target=_setting(job, "target", float),
        true_peak=_setting(job, "true_peak", float),
        loudness_range=_setting(job, "loudness_range", float)))


def _mix(job: Job) -> Result:
    duration = _setting(job, "duration", str)
    if duration not in ("longest", "shortest", "first"):
        raise ProviderError(f"The setting 'duration' is not valid: {duration!r}", kind="invalid")
    return _sound(audio.mix(_sound_in(job, "audio"), _sound_in(job, "audio_b"),
                            volume_a=_setting(job, "volume_a", float),
                            volume_b=_setting(job, "volume_b", float), duration=duration))


VIDEO_DEMUXERS = {"mp4": "mp4", "mov": "mov", "webm": "webm"}


def _assembly(job: Job) -> video.Assembly:
    return video.Assembly(
        transition=_setting(job, "transition", str),
        transition_duration=_setting(job, "transition_duration", float),
        aspect_ratio=_setting(job, "aspect_ratio", str), fit=_setting(job, "fit", str),
        resolution=_setting(job, "resolution", int), fps=_setting(job, "fps", int),
        clip_volume=_setting(job, "clip_volume", float),
        voice_volume=_setting(job, "voice_volume", float),
        music_volume=_setting(job, "music_volume", float),
        ducking=bool(job.config.get("ducking", True)),
        caption_position=_setting(job, "caption_position", str),
        caption_size=_setting(job, "caption_size", str),
        long_voice=_setting(job, "long_voice", str),
    )


def _compose_video(job: Job) -> Result:
    settings = _assembly(job)
    with tempfile.TemporaryDirectory() as folder:
        clips = []
        for n, media in enumerate(job.media("clips")):
            extension = media.storage_name.rsplit(".", 1)[-1].lower()
            if media.kind != "video" or extension not in VIDEO_DEMUXERS:
                raise ProviderError(f"Clip {n + 1} is not a video", kind="invalid")
            path = os.path.join(folder, f"clip-{n}.{extension}")
            with open(path, "wb") as handle:
                handle.write(media.read())
            clips.append(video.clip_probe(path, container=VIDEO_DEMUXERS[extension]))
        tracks: dict[str, video.Track | None] = {}
        for port in ("voice", "music"):
            sounds = job.media(port)
            if not sounds:
                tracks[port] = None
                continue
            container = _demuxer(sounds[0])
            path = os.path.join(folder, f"{port}.{container}")
            with open(path, "wb") as handle:
                handle.write(sounds[0].read())
            tracks[port] = video.Track(path=path, container=container)
        made = video.assemble(clips, settings=settings, folder=folder, voice=tracks["voice"],
                              music=tracks["music"], captions=job.text("captions"))
    return Result({"video": OutputFile(data=made, mime="video/mp4", extension="mp4")})

def _stored_copy(media: Media, kind: str) -> OutputFile:
    """A video or sound gathered as it is: the same bytes, MIME and extension as stored (it
    was checked when it was stored); anything else on the port is refused."""
    if media.kind != kind:
        raise ProviderError(f"Collect's {kind} input got a {media.kind}", kind="invalid")
    return OutputFile(data=media.read(), mime=media.mime,
                      extension=media.storage_name.rsplit(".", 1)[-1].lower())


def _collect(job: Job) -> Result:
    """A fan-out's results gathered: a contact sheet of the images (`columns` across, each
    fitted in a `cell` square), the images, videos and sounds themselves as lists, in item
    order, and the texts one per line."""
    images = [imaging.decode(media.read()) for media in job.media("images")]
    texts = [value for value in job.inputs.get("text", []) if isinstance(value, str)]
    videos = [_stored_copy(media, "video") for media in job.media("videos")]
    sounds = [_stored_copy(media, "audio") for media in job.media("audios")]
    if not images and not texts and not videos and not sounds:
        raise ProviderError("Nothing to collect: no item succeeded", kind="invalid")
    outputs: dict[str, Any] = {}
    if videos:
        outputs["videos"] = videos
    if sounds:
        outputs["audios"] = sounds
    if texts:
        outputs["text"] = "\n".join(texts)
    if images:
        outputs["grid"] = imaging.encode_image(imaging.contact_sheet(
            images, columns=_setting(job, "columns", int), cell=_setting(job, "cell", int)),
            fmt="png")
        outputs["images"] = [imaging.encode_image(image, fmt="png") for image in images]
    return Result(outputs)


HANDLERS: dict[str, Callable[[Job], Result]] = {
    "utility:collect": _collect,
    "generate:local_preview": _preview,
    "process:upscale_local": _upscale,
    "process:resize_crop": _resize_crop,
    "compose:text_overlay": _text_overlay,
    "generate:image_to_video_local": _pan_zoom,
    "audio:trim": _trim,
    "audio:normalize": _normalize,
    "audio:mix": _mix,
    "compose:video": _compose_video,
}


class LocalProvider(Provider):
    """Runs the `provider="local"` nodes inside the worker; every job finishes at once."""

    alias = "local"

    def submit(self, job: Job) -> Result:
        handler = HANDLERS.get(job.node_type)
        if handler is None:
            raise ProviderError(f"The local provider cannot run {job.node_type!r}", kind="config")
        return handler(job)
