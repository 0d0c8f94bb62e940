"""Process nodes: transform one image into another."""

from graph.catalog.types import Input, NodeSpec, Output, no_credits

_IMAGE_IN = Input("image", "Image", "image", is_port=True, required=True)
_IMAGE_OUT = Output("image", "Image", "image")
_SCALE = Input("scale", "Scale", "enum", is_port=False, default=2, enum=(2, 4))

UPSCALE_LOCAL = NodeSpec(
    node_type="process:upscale_local",
    label="Upscale (Lanczos, local)",
    category="process",
    description="Enlarges an image ×2 or ×4 with Lanczos resampling, on our servers.",
    inputs=(_IMAGE_IN, _SCALE),
    outputs=(_IMAGE_OUT,),
    provider="local",
    model=None,
    model_version="1",
    credits=no_credits,
    task="upscaling",
    vendor="Wireflow (local)",
)

RESIZE_CROP = NodeSpec(
    node_type="process:resize_crop",
    label="Resize / Crop",
    category="process",
    description="Crops an image to an aspect ratio (cover) or fits it inside one (contain), "
    "and optionally resizes it to a width.",
    inputs=(
        _IMAGE_IN,
        Input("aspect_ratio", "Aspect ratio", "enum", is_port=False, default="original",
              enum=("original", "1:1", "4:5", "9:16", "16:9", "3:2", "2:3")),
        Input("width", "Width", "integer", is_port=False, default=None, min=16, max=8192,
              description="Output width in pixels; empty keeps the image's own."),
        Input("mode", "Mode", "enum", is_port=False, default="cover", enum=("cover", "contain")),
    ),
    outputs=(_IMAGE_OUT,),
    provider="local",
    model=None,
    model_version="1",
    credits=no_credits,
    task="image-editing",
    vendor="Wireflow (local)",
)

SPECS = (UPSCALE_LOCAL, RESIZE_CROP)
