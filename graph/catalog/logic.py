"""Logic nodes: shape the flow without producing media of their own."""

from graph.catalog.types import Input, NodeError, NodeSpec, Output, no_credits


def route(context) -> dict:
    """The first thing wired into the input, passed on as it is."""
    incoming = context.refs.get("input")
    if not incoming:
        raise NodeError("The router has nothing to pass on")
    return {"output": incoming[0]}


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
    handler=route,
)

SPECS = (ROUTER,)
