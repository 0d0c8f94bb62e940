"""Utility nodes: canvas helpers that are never executed."""

from graph.catalog.types import Input, NodeSpec, no_credits

COLORS = ("yellow", "blue", "green", "pink", "violet", "grey")

STICKY_NOTE = NodeSpec(
    node_type="utility:sticky_note",
    label="Sticky Note",
    category="utility",
    description="A note on the canvas. Never executed, never connected.",
    inputs=(Input("text", "Note", "text", is_port=False, default=""),
            Input("color", "Colour", "enum", is_port=False, default="yellow", enum=COLORS)),
    outputs=(),
    provider=None,
    model=None,
    model_version="1",
    credits=no_credits,
    executable=False,
    cacheable=False,
)

FRAME = NodeSpec(
    node_type="utility:frame",
    label="Frame",
    category="utility",
    description="A titled, coloured area that groups the nodes inside it: moving it moves them. "
                "Never executed, never connected.",
    inputs=(Input("color", "Colour", "enum", is_port=False, default="blue", enum=COLORS),
            Input("width", "Width", "integer", is_port=False, default=640, min=160, max=6000),
            Input("height", "Height", "integer", is_port=False, default=420, min=120, max=6000)),
    outputs=(),
    provider=None,
    model=None,
    model_version="1",
    credits=no_credits,
    executable=False,
    cacheable=False,
)

SPECS = (STICKY_NOTE, FRAME)
