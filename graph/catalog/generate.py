"""Generate nodes: make new images and videos, with vendor models or locally.

Credits: 1 credit = $0.01 of vendor price, rounded up per run.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from graph.catalog.models_image import FAL_FLUX_2_MAX_SIDE, FLUX_2_PRO_FAL
from graph.catalog.types import (
    NO_USAGE,
    VENDOR_SETTING,
    ConfigIssue,
    CreditsFn,
    Input,
    NodeSpec,
    Output,
    Route,
    SizeRule,
    Usage,
    no_credits,
)
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
KLEIN_MAX_REFERENCES = 4
REFERENCE_MAX_MEGAPIXELS = 4
# When the model ids and prices below were last checked against the vendors' own docs.
CHECKED_BFL = "2026-12-02"
CHECKED_GOOGLE = "2026-12-02"


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


def billed_reference_megapixels(pixels: float) -> int:
    """The megapixels BFL bills for one reference image: rounded up, at least 1, and at most
    4 (a larger reference is scaled down to 4 MP before it is sent)."""
    return min(REFERENCE_MAX_MEGAPIXELS, max(1, math.ceil(pixels / MEGAPIXEL - 1e-9)))


def flux_credits(first: float, further: float) -> CreditsFn:
    """BFL's FLUX.2 price in credits (BFL's credit is $0.01, as ours): `first` for the first
    output megapixel, `further` for each further one and for each megapixel of every reference
    image — credits = first + further × ((MP_out − 1) + Σ MP_ref), each rounded up to whole
    megapixels (1 MP = 1024²). E.g. [pro] (3, 1.5): 1024² → 3, 1920×1088 → 5, 2048² → 7.5."""

    def credits(config: dict[str, Any], usage: Usage = NO_USAGE) -> float:
        references = sum(billed_reference_megapixels(mp * MEGAPIXEL) for mp in usage.references)
        return first + further * (megapixels(config) - 1 + references)

    return credits


def gemini_credits(per_image: dict[str, float]) -> CreditsFn:
    """Google's price per generated image by `image_size`, times the images delivered (as many
    as `num_images` asks for, in the estimate). Input tokens (the prompt, reference images:
    well under a tenth of a credit) are not passed on."""

    def credits(config: dict[str, Any], usage: Usage = NO_USAGE) -> float:
        size = config.get("image_size")
        price = per_image.get(size if isinstance(size, str) else "", per_image["1K"])
        asked = int(_number(config, "num_images", 1))
        # As many as were delivered, never more than were asked for (and quoted).
        images = min(usage.images, asked) if usage.images is not None else asked
        return price * images

    return credits


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


def _flux_inputs(max_references: int, *extra: Input) -> tuple[Input, ...]:
    return (
        _prompt(),
        _references(max_references),
        _flux_side("width", "Width"),
        _flux_side("height", "Height"),
        _seed(),
        Input("output_format", "Format", "enum", is_port=False, default="jpeg",
              enum=("jpeg", "png")),
        Input("safety_tolerance", "Safety tolerance", "integer", is_port=False, default=2,
              min=0, max=5, description="0 is the strictest moderation, 5 the most permissive."),
        *extra,
    )


def flux_output_pixels(config: dict[str, Any]) -> int | None:
    width, height = config.get("width"), config.get("height")
    if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
        return width * height
    return None


_IMAGE_OUT = Output("image", "Image", "image")
_VIDEO_OUT = Output("video", "Video", "video")
_FLUX_SIZE_NOTE = " Sizes: multiples of 16, at least 256 a side, at most 4 megapixels."


def _flux(variant: str, label: str, *, first: float, further: float, max_references: int,
          description: str, extra: tuple[Input, ...] = ()) -> NodeSpec:
    """One FLUX.2 endpoint of BFL (`POST /v1/flux-2-<variant>`)."""
    return NodeSpec(
        node_type=f"generate:flux_2_{variant.replace('-', '_')}",
        label=label,
        category="generate",
        description=description + _FLUX_SIZE_NOTE,
        inputs=_flux_inputs(max_references, *extra),
        outputs=(_IMAGE_OUT,),
        provider="bfl",
        model=f"flux-2-{variant}",
        model_version="1",
        credits=flux_credits(first, further),
        check_config=flux_check_config,
        size_rule=FLUX_SIZE,
        model_checked=CHECKED_BFL,
        price_rule=f"{show(first)} credits for the first output megapixel, {show(further)} "
        "for each further one and for each megapixel of every reference image",
        output_pixels=flux_output_pixels,
        task="text-to-image",
        vendor="Black Forest Labs",
    )


def _flux_pro_on_fal_check(config: dict[str, Any]) -> list[ConfigIssue]:
    """FLUX.2's size rule, and what fal's FLUX.2 [pro] takes beyond it when it is chosen: a
    safety tolerance of 1–5 and sides of at most 2,560 (fal's schema; BFL takes 4,096)."""
    issues = flux_check_config(config)
    if config.get(VENDOR_SETTING) != "fal":
        return issues
    tolerance = config.get("safety_tolerance")
    if isinstance(tolerance, int) and not 1 <= tolerance <= 5:
        issues.append({"rule": "vendor_setting", "input": "safety_tolerance",
                       "message": f"fal's FLUX.2 [pro] takes a safety tolerance of 1 to 5, "
                                  f"not {tolerance}",
                       "fix": "set it to 1–5, or choose BFL as the vendor"})
    sized = any(issue["rule"] == "flux_size" for issue in issues)  # said once, that way
    for side in ("width", "height"):
        value = config.get(side)
        if isinstance(value, int) and not isinstance(value, bool) and \
                value > FAL_FLUX_2_MAX_SIDE and not sized:
            issues.append({"rule": "vendor_setting", "input": side,
                           "message": f"fal's FLUX.2 [pro] takes sides of at most "
                                      f"{FAL_FLUX_2_MAX_SIDE:,} pixels, not {value:,}",
                           "fix": f"set the {side} to {FAL_FLUX_2_MAX_SIDE:,} or less, or "
                                  "choose BFL as the vendor"})
    return issues


_FLUX_PRO = _flux(
    "pro", "FLUX.2 [pro]", first=3, further=1.5, max_references=FLUX_MAX_REFERENCES,
    description="Black Forest Labs' FLUX.2 [pro]: fast production text to image, with up to 8 "
    "reference images; from BFL or fal.",
    extra=(Input(VENDOR_SETTING, "Vendor", "enum", is_port=False, default="bfl",
                 enum=("bfl", "fal"),
                 description="Who runs it: BFL's own API or fal (with reference images, "
                 "fal's FLUX.2 [pro] edit app). The same price at both."),))
FLUX_2_PRO = dataclasses.replace(
    _FLUX_PRO, check_config=_flux_pro_on_fal_check,
    routes=(Route("bfl", "bfl", "flux-2-pro", label="Black Forest Labs API"),
            Route("fal", "fal", FLUX_2_PRO_FAL.endpoint, declaration=FLUX_2_PRO_FAL,
                  label="fal")),
    price_rule="at BFL and at fal alike: " + _FLUX_PRO.price_rule)

FLUX_2_MAX = _flux(
    "max", "FLUX.2 [max]", first=7, further=3, max_references=FLUX_MAX_REFERENCES,
    description="Black Forest Labs' FLUX.2 [max]: their highest quality, with up to 8 "
    "reference images.")

FLUX_2_FLEX = _flux(
    "flex", "FLUX.2 [flex]", first=5, further=5, max_references=FLUX_MAX_REFERENCES,
    description="Black Forest Labs' FLUX.2 [flex]: control over steps and guidance, for "
    "typography and fine detail.",
    extra=(
        Input("steps", "Steps", "integer", is_port=False, default=50, min=1, max=50),
        Input("guidance", "Guidance", "number", is_port=False, default=4.5, min=1.5, max=10),
        Input("prompt_upsampling", "Prompt upsampling", "boolean", is_port=False, default=False,
              description="Let the model expand the prompt before generating."),
    ))

FLUX_2_KLEIN_4B = _flux(
    "klein-4b", "FLUX.2 [klein] 4B", first=1.4, further=0.1,
    max_references=KLEIN_MAX_REFERENCES,
    description="Black Forest Labs' FLUX.2 [klein] 4B: sub-second drafts at high volume, with "
    "up to 4 reference images.")

FLUX_2_KLEIN_9B = _flux(
    "klein-9b", "FLUX.2 [klein] 9B", first=1.5, further=0.2,
    max_references=KLEIN_MAX_REFERENCES,
    description="Black Forest Labs' FLUX.2 [klein] 9B: fast, a step up in quality from 4B, "
    "with up to 4 reference images.")


# Gemini image sizes at "1K" by aspect ratio (Google's table); "512" halves, "2K" doubles and
# "4K" quadruples each side.
GEMINI_1K = {"1:1": (1024, 1024), "2:3": (832, 1248), "3:2": (1248, 832), "3:4": (864, 1184),
             "4:3": (1184, 864), "4:5": (896, 1152), "5:4": (1152, 896), "9:16": (768, 1344),
             "16:9": (1344, 768), "21:9": (1536, 672), "1:4": (512, 2048), "4:1": (2048, 512),
             "1:8": (384, 3072), "8:1": (3072, 384)}
GEMINI_SCALE = {"512": 0.5, "1K": 1, "2K": 2, "4K": 4}
NANO_BANANA_RATIOS = ("1:1", "1:4", "1:8", "2:3", "3:2", "3:4", "4:1", "4:3", "4:5", "5:4",
                      "8:1", "9:16", "16:9", "21:9")
NANO_BANANA_PRO_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9",
                          "21:9")


def gemini_output_pixels(config: dict[str, Any]) -> int | None:
    side = GEMINI_1K.get(config.get("aspect_ratio"))  # type: ignore[arg-type]
    scale = GEMINI_SCALE.get(config.get("image_size"))  # type: ignore[arg-type]
    if side is None or scale is None:
        return None
    return int(side[0] * scale) * int(side[1] * scale)


def _gemini(node_type: str, label: str, *, model: str, sizes: tuple[str, ...],
            ratios: tuple[str, ...], per_image: dict[str, float], description: str) -> NodeSpec:
    return NodeSpec(
        node_type=node_type,
        label=label,
        category="generate",
        description=description,
        inputs=(
            _prompt(),
            # Gemini 3 image models take up to 14; 8 keeps requests small and predictable.
            _references(8),
            Input("num_images", "Images", "integer", is_port=False, default=1, min=1, max=4,
                  description="Each image is its own request to Google, charged when it "
                  "arrives."),
            Input("aspect_ratio", "Aspect ratio", "enum", is_port=False, default="1:1",
                  enum=ratios),
            Input("image_size", "Resolution", "enum", is_port=False, default="1K", enum=sizes,
                  description="1K is about 1024 pixels on the long side, 2K 2048, 4K 4096."),
            _seed(),
        ),
        outputs=(_IMAGE_OUT,),
        provider="google",
        model=model,
        model_version="1",
        credits=gemini_credits(per_image),
        model_checked=CHECKED_GOOGLE,
        price_rule="credits per image: " + ", ".join(f"{size} {show(per_image[size])}"
                                             for size in sizes),
        output_pixels=gemini_output_pixels,
        task="text-to-image",
        vendor="Google",
    )


NANO_BANANA_2 = _gemini(
    "generate:nano_banana_2", "Nano Banana 2",
    # Gemini 3.1 Flash Image went GA as this id; the "-preview" id was shut down 2026-06-25.
    model="gemini-3.1-flash-image", sizes=("512", "1K", "2K", "4K"), ratios=NANO_BANANA_RATIOS,
    per_image={"512": 4.5, "1K": 6.7, "2K": 10.1, "4K": 15.1},
    description="Google's Nano Banana 2 (Gemini 3.1 Flash Image): fast text to image, with "
    "reference images for edits and consistent subjects.")

NANO_BANANA_PRO = _gemini(
    "generate:nano_banana_pro", "Nano Banana Pro",
    model="gemini-3-pro-image", sizes=("1K", "2K", "4K"), ratios=NANO_BANANA_PRO_RATIOS,
    per_image={"1K": 13.4, "2K": 13.4, "4K": 24},
    description="Google's Nano Banana Pro (Gemini 3 Pro Image): studio quality, legible text "
    "and reasoning about the prompt, up to 4K.")

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
    output_pixels=flux_output_pixels,
    task="text-to-image",
    vendor="Wireflow (local)",
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
    task="video",
    vendor="Wireflow (local)",
)

SPECS = (
    FLUX_2_PRO,
    FLUX_2_MAX,
    FLUX_2_FLEX,
    FLUX_2_KLEIN_4B,
    FLUX_2_KLEIN_9B,
    NANO_BANANA_2,
    NANO_BANANA_PRO,
    LOCAL_PREVIEW,
    IMAGE_TO_VIDEO_LOCAL,
)
