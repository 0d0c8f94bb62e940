"""Real work with no network: preview text-to-image, Lanczos upscale, resize/crop, text
overlay and a pan-and-zoom MP4. Each node type is one small function in `HANDLERS`."""

from __future__ import annotations

from collections.abc import Callable

from executions import imaging
from executions.providers.base import Job, OutputFile, Provider, ProviderError, Result


def _image_in(job: Job):
    media = job.media("image")
    if not media:
        raise ProviderError("No image arrived on the image input", kind="invalid")
    return imaging.decode(media[0].read())


def _preview(job: Job) -> Result:
    config = job.config
    image = imaging.preview_image(prompt=job.text("prompt"), seed=job.seed or 0,
                                  width=int(config["width"]), height=int(config["height"]))
    return Result({"image": imaging.encode_image(image, fmt="png")}, meta={"preview": True})


def _upscale(job: Job) -> Result:
    image = imaging.upscale(_image_in(job), scale=int(job.config["scale"]))
    return Result({"image": imaging.encode_image(image, fmt="png")})


def _resize_crop(job: Job) -> Result:
    config = job.config
    image = imaging.resize_crop(_image_in(job), aspect_ratio=config["aspect_ratio"],
                                width=config.get("width"), mode=config["mode"])
    return Result({"image": imaging.encode_image(image, fmt="png")})


def _text_overlay(job: Job) -> Result:
    config = job.config
    image = imaging.text_overlay(
        _image_in(job), text=job.text("text"), font_size=int(config["font_size"]),
        color=config["color"] or "#ffffff", background=config.get("background") or "",
        position=config["position"],
    )
    return Result({"image": imaging.encode_image(image, fmt="png")})


def _pan_zoom(job: Job) -> Result:
    config = job.config
    video = imaging.pan_zoom_video(_image_in(job), duration=float(config["duration"]),
                                   fps=int(config["fps"]), zoom=float(config["zoom"]),
                                   direction=config["direction"])
    return Result({"video": OutputFile(data=video, mime="video/mp4", extension="mp4")})


HANDLERS: dict[str, Callable[[Job], Result]] = {
    "generate:local_preview": _preview,
    "process:upscale_local": _upscale,
    "process:resize_crop": _resize_crop,
    "compose:text_overlay": _text_overlay,
    "generate:image_to_video_local": _pan_zoom,
}


class LocalProvider(Provider):
    alias = "local"

    def submit(self, job: Job) -> Result:
        handler = HANDLERS.get(job.node_type)
        if handler is None:
            raise ProviderError(f"The local provider cannot run {job.node_type}", kind="config")
        return handler(job)
