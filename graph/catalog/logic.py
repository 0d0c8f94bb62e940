"""Logic nodes: shape the flow without producing media of their own."""

from graph.catalog.types import Input, NodeSpec, Output, no_credits

ROUTER = NodeSpec(
    node_type="logic:router",
    label="Router",
    category="logic",
    description="Passes its input through unchanged; its output carries the media type of "
    "whatever is wired into it. Useful to tidy up long edges or fan one output out.",
    inputs=(Input("input", "Input", "any", is_port=True, required=True),),
    outputs=(Output("output", "Output", "any"),),
    provider=None,
    model=None,
    model_version="1",
    credits=no_credits,
)

SPECS = (ROUTER,)
