"""Real work on our own servers, with no network: a procedural preview image, Lanczos upscale,
resize/crop, text overlay and a pan-and-zoom MP4. One small function per node type, in `HANDLERS`;
the pixels are done by the pure functions of `executions.imaging`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PIL import Image

from executions import imaging
from executions.providers.base import Job, OutputFile, Provider, ProviderError, Result


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
    )
    return Result({"video": OutputFile(data=video, mime="video/mp4", extension="mp4")})


def _collect(job: Job) -> Result:
    """A fan-out's results gathered: a contact sheet of the images (`columns` across, each
    fitted in a `cell` square), the images themselves, and the texts one per line."""
    images = [imaging.decode(media.read()) for media in job.media("images")]
    texts = [value for value in job.inputs.get("text", []) if isinstance(value, str)]
    if not images and not texts:
        raise ProviderError("Nothing to collect: no item succeeded", kind="invalid")
    outputs: dict[str, Any] = {}
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
}


class LocalProvider(Provider):
    """Runs the `provider="local"` nodes inside the worker; every job finishes at once."""

    alias = "local"

    def submit(self, job: Job) -> Result:
        handler = HANDLERS.get(job.node_type)
        if handler is None:
            raise ProviderError(f"The local provider cannot run {job.node_type!r}", kind="config")
        return handler(job)
