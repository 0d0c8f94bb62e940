"""Utility nodes: canvas helpers that are never executed."""

from graph.catalog.types import Input, NodeSpec, no_credits

STICKY_NOTE = NodeSpec(
    node_type="utility:sticky_note",
    label="Sticky Note",
    category="utility",
    description="A note on the canvas. Never executed, never connected.",
    inputs=(Input("text", "Note", "text", is_port=False, default=""),),
    outputs=(),
    provider=None,
    model=None,
    model_version="1",
    credits=no_credits,
    executable=False,
    cacheable=False,
)

SPECS = (STICKY_NOTE,)
