"""Generate nodes: make new images and videos, with vendor models or locally.

Credits: 1 credit = $0.01 of vendor price, rounded up per run.
"""

from __future__ import annotations

import math
from typing import Any

from graph.catalog.types import ConfigIssue, Input, NodeSpec, Output, SizeRule, no_credits
from graph.catalog.values import show

# BFL bills FLUX.2 by output megapixel, a megapixel being 1024×1024 pixels (1024² costs exactly
# one first-megapixel price), rounded up to whole megapixels.
MEGAPIXEL = 1024 * 1024
# BFL documents FLUX.2 outputs as "up to 4MP"; as in its billing, a megapixel is 1024².
FLUX_MAX_PIXELS = 4 * MEGAPIXEL
FLUX_MIN_SIDE = 256
FLUX_MAX_SIDE = 4096
FLUX_STEP = 16
FLUX_MAX_REFERENCES = 8


def _number(config: dict[str, Any], key: str, fallback: float) -> float:
    """`config[key]` when it is a sane positive number, else `fallback` (credits never raise)."""
    value = config.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 1e9:
        return float(value)
    return fallback


def megapixels(config: dict[str, Any]) -> int:
    """Whole megapixels of a `width`×`height` output, rounded up (at least 1)."""
    pixels = _number(config, "width", 1024) * _number(config, "height", 1024)
    return max(1, math.ceil(pixels / MEGAPIXEL))


def flux_pro_credits(config: dict[str, Any]) -> float:
    """FLUX.2 [pro]: $0.03 for the first megapixel, $0.015 for each further one.

    credits = ceil(3 + 1.5 × (MP − 1)), MP = ceil(width × height / 1024²): 1024×1024 → 3,
    1920×1080 → 5, 2048×2048 → 8. BFL also bills the megapixels of reference images; their sizes
    are only known at run time, so this static figure covers the output.
    """
    return math.ceil(3 + 1.5 * (megapixels(config) - 1))


def flux_flex_credits(config: dict[str, Any]) -> float:
    """FLUX.2 [flex]: about $0.06 per megapixel → 6 × MP credits (MP as for [pro])."""
    return 6 * megapixels(config)


def nano_banana_credits(config: dict[str, Any]) -> float:
    """Nano Banana 2: 4 credits per image."""
    return 4 * int(_number(config, "num_images", 1))


def kling_credits(config: dict[str, Any]) -> float:
    """Kling image-to-video: 5 credits per second of video."""
    return 5 * int(_number(config, "duration", 5))


def flux_size_issues(width: int, height: int) -> list[str]:
    """What is wrong with a FLUX.2 output size (nothing when the list is empty)."""
    issues = []
    if width % FLUX_STEP or height % FLUX_STEP:
        issues.append(f"both sides must be multiples of {FLUX_STEP}")
    if min(width, height) < FLUX_MIN_SIDE:
        issues.append(f"each side must be at least {FLUX_MIN_SIDE}")
    if max(width, height) > FLUX_MAX_SIDE:
        issues.append(f"each side must be at most {FLUX_MAX_SIDE}")
    if width * height > FLUX_MAX_PIXELS:
        issues.append(f"the total must be at most 4 MP ({FLUX_MAX_PIXELS:,} pixels)")
    return issues


def nearest_flux_size(width: int, height: int) -> tuple[int, int]:
    """The valid FLUX.2 size closest to width×height, keeping about the same aspect ratio."""
    if width <= 0 or height <= 0:
        return 1024, 1024
    width, height = min(width, 10**6), min(height, 10**6)
    scale = min(1.0, math.sqrt(FLUX_MAX_PIXELS / (width * height)))

    def snap(side: float) -> int:
        return min(FLUX_MAX_SIDE, max(FLUX_MIN_SIDE, round(side * scale / FLUX_STEP) * FLUX_STEP))

    fit = [snap(width), snap(height)]
    while fit[0] * fit[1] > FLUX_MAX_PIXELS:
        fit[fit.index(max(fit))] -= FLUX_STEP
    return fit[0], fit[1]


FLUX_SIZE = SizeRule(width_input="width", height_input="height", max_pixels=FLUX_MAX_PIXELS,
                     min_side=FLUX_MIN_SIDE, max_side=FLUX_MAX_SIDE, step=FLUX_STEP)


def flux_check_config(config: dict[str, Any]) -> list[ConfigIssue]:
    """FLUX.2's output size as a whole (config has the defaults applied): one problem naming
    every rule it breaks, with the nearest valid size of the same aspect ratio."""
    width, height = config.get("width"), config.get("height")
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (width, height)):
        return []  # reported as invalid_setting
    issues = flux_size_issues(width, height)
    if not issues:
        return []
    megapixels = min(width * height, 10**12) / MEGAPIXEL
    fit = nearest_flux_size(width, height)
    return [{"rule": "flux_size",
             "message": f"{show(width)}×{show(height)} is {megapixels:.2f} MP; "
                        + "; ".join(issues),
             "fix": f"use {fit[0]}×{fit[1]} (same aspect ratio)", "input": "width",
             "suggested": {"width": fit[0], "height": fit[1]}}]


def _prompt(required: bool = True) -> Input:
    return Input("prompt", "Prompt", "text", is_port=True, required=required, inline=True,
                 description="Wire a text output here, or type the prompt in.")


def _references(max_items: int) -> Input:
    return Input("reference_images", "Reference images", "image", is_port=True, multiple=True,
                 max_items=max_items, description=f"Up to {max_items} images to guide the result.")


def _seed() -> Input:
    return Input("seed", "Seed", "seed", is_port=False,
                 description="The same seed and settings give the same image; empty for random.")


def _flux_side(side_id: str, label: str) -> Input:
    return Input(side_id, label, "integer", is_port=False, default=1024, min=FLUX_MIN_SIDE,
                 max=FLUX_MAX_SIDE, multiple_of=FLUX_STEP)


def _flux_inputs(*extra: Input) -> tuple[Input, ...]:
    return (
        _prompt(),
        _references(FLUX_MAX_REFERENCES),
        _flux_side("width", "Width"),
        _flux_side("height", "Height"),
        _seed(),
        Input("output_format", "Format", "enum", is_port=False, default="jpeg",
              enum=("jpeg", "png")),
        Input("safety_tolerance", "Safety tolerance", "integer", is_port=False, default=2,
              min=0, max=5, description="0 is the strictest moderation, 5 the most permissive."),
        Input("prompt_upsampling", "Prompt upsampling", "boolean", is_port=False, default=False,
              description="Let the model expand the prompt before generating."),
        *extra,
    )


_IMAGE_OUT = Output("image", "Image", "image")
_VIDEO_OUT = Output("video", "Video", "video")
_FLUX_SIZE_NOTE = " Sizes: multiples of 16, at least 256 a side, at most 4 megapixels."

FLUX_2_PRO = NodeSpec(
    node_type="generate:flux_2_pro",
    label="FLUX.2 [pro]",
    category="generate",
    description="Black Forest Labs' FLUX.2 [pro]: text to image, with up to 8 reference images."
    + _FLUX_SIZE_NOTE,
    inputs=_flux_inputs(),
    outputs=(_IMAGE_OUT,),
    provider="bfl",
    model="flux-2-pro",
    model_version="1",
    credits=flux_pro_credits,
    check_config=flux_check_config,
    size_rule=FLUX_SIZE,
)

FLUX_2_FLEX = NodeSpec(
    node_type="generate:flux_2_flex",
    label="FLUX.2 [flex]",
    category="generate",
    description="Black Forest Labs' FLUX.2 [flex]: like [pro], with control over steps and "
    "guidance, for typography and fine detail." + _FLUX_SIZE_NOTE,
    inputs=_flux_inputs(
        Input("steps", "Steps", "integer", is_port=False, default=50, min=1, max=50),
        Input("guidance", "Guidance", "number", is_port=False, default=4.5, min=1.5, max=10),
    ),
    outputs=(_IMAGE_OUT,),
    provider="bfl",
    model="flux-2-flex",
    model_version="1",
    credits=flux_flex_credits,
    check_config=flux_check_config,
    size_rule=FLUX_SIZE,
)

NANO_BANANA_2 = NodeSpec(
    node_type="generate:nano_banana_2",
    label="Nano Banana 2",
    category="generate",
    description="Google's Nano Banana 2 (Gemini 3.1 Flash Image): text to image, with "
    "reference images for edits and consistent subjects.",
    inputs=(
        _prompt(),
        # Gemini 3 image models take more references; 8 keeps requests small and predictable.
        _references(8),
        Input("num_images", "Images", "integer", is_port=False, default=1, min=1, max=4),
        Input("aspect_ratio", "Aspect ratio", "enum", is_port=False, default="1:1",
              enum=("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")),
        _seed(),
    ),
    outputs=(_IMAGE_OUT,),
    provider="google",
    # "Nano Banana 2" is the marketing name of Gemini 3.1 Flash Image, in preview at the time of
    # writing; change this id (and model_version) when Google promotes it.
    model="gemini-3.1-flash-image-preview",
    model_version="1",
    credits=nano_banana_credits,
)

LOCAL_PREVIEW = NodeSpec(
    node_type="generate:local_preview",
    label="Local Preview (procedural)",
    category="generate",
    description="A procedural preview image drawn on our servers from the prompt and seed: "
    "shapes and colours, not an AI generation. Free and offline, for trying a workflow out.",
    inputs=(
        _prompt(),
        Input("width", "Width", "integer", is_port=False, default=512, min=64, max=2048,
              multiple_of=8),
        Input("height", "Height", "integer", is_port=False, default=512, min=64, max=2048,
              multiple_of=8),
        _seed(),
    ),
    outputs=(_IMAGE_OUT,),
    provider="local",
    model=None,
    model_version="1",
    credits=no_credits,
    preview=True,
)

IMAGE_TO_VIDEO_LOCAL = NodeSpec(
    node_type="generate:image_to_video_local",
    label="Image to Video (pan & zoom, local)",
    category="generate",
    description="Turns an image into a short MP4 with a pan-and-zoom camera move, on our "
    "servers.",
    inputs=(
        Input("image", "Image", "image", is_port=True, required=True),
        Input("duration", "Duration (s)", "number", is_port=False, default=3, min=1, max=10),
        Input("fps", "Frames per second", "integer", is_port=False, default=24, min=12, max=30),
        Input("zoom", "Zoom", "number", is_port=False, default=1.2, min=1.0, max=2.0),
        Input("direction", "Direction", "enum", is_port=False, default="in",
              enum=("in", "out", "left", "right")),
    ),
    outputs=(_VIDEO_OUT,),
    provider="local",
    model=None,
    model_version="1",
    credits=no_credits,
)

KLING_VIDEO = NodeSpec(
    node_type="generate:kling_video",
    label="Kling Image to Video (fal)",
    category="generate",
    description="Kuaishou's Kling animates an image into a 5 or 10 second video, guided by an "
    "optional prompt.",
    inputs=(
        Input("image", "Image", "image", is_port=True, required=True),
        _prompt(required=False),
        Input("duration", "Duration (s)", "enum", is_port=False, default=5, enum=(5, 10)),
        Input("aspect_ratio", "Aspect ratio", "enum", is_port=False, default="16:9",
              enum=("16:9", "9:16", "1:1")),
        Input("negative_prompt", "Negative prompt", "string", is_port=False, default="",
              description="What the video should avoid."),
    ),
    outputs=(_VIDEO_OUT,),
    provider="fal",
    model="fal-ai/kling-video/v2.1/standard/image-to-video",
    model_version="1",
    credits=kling_credits,
)

SPECS = (
    FLUX_2_PRO,
    FLUX_2_FLEX,
    NANO_BANANA_2,
    LOCAL_PREVIEW,
    IMAGE_TO_VIDEO_LOCAL,
    KLING_VIDEO,
)
