"""Compose nodes: combine media and text into a new image."""

from graph.catalog.types import Input, NodeSpec, Output, no_credits

TEXT_OVERLAY = NodeSpec(
    node_type="compose:text_overlay",
    label="Text Overlay",
    category="compose",
    description="Writes text over an image, optionally on a coloured band.",
    inputs=(
        Input("image", "Image", "image", is_port=True, required=True),
        Input("text", "Text", "text", is_port=True, inline=True,
              description="Wire a text output here, or type the text in."),
        Input("font_size", "Font size", "integer", is_port=False, default=48, min=8, max=512),
        Input("color", "Text colour", "color", is_port=False, default="#ffffff"),
        Input("background", "Band colour", "color", is_port=False, default="",
              description="Colour of a band behind the text; empty for none."),
        Input("position", "Position", "enum", is_port=False, default="bottom",
              enum=("top", "center", "bottom")),
    ),
    outputs=(Output("image", "Image", "image"),),
    provider="local",
    model=None,
    model_version="1",
    credits=no_credits,
)

SPECS = (TEXT_OVERLAY,)
