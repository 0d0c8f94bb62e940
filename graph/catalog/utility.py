"""Utility nodes: canvas helpers that are never executed, and the list fan-out pair (List,
Collect: see graph.fanout)."""

from graph.catalog.types import Input, NodeError, NodeSpec, Output, no_credits
from graph.fanout import COLLECT_NODE, LIST_NODE, MAX_ITEMS, parse_items

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



def list_outputs(context) -> dict:
    """The list's items: from the wired text (a JSON array or lines) or the Items setting."""
    wired = context.values.get("text")
    items = parse_items("\n".join(wired) if wired else context.config.get("items"))
    if not items:
        raise NodeError("The list is empty: give it one item per line, or a JSON array of "
                        "strings")
    if len(items) > MAX_ITEMS:
        raise NodeError(f"The list has {len(items)} items; at most {MAX_ITEMS} fan out")
    return {"item": {"text": "\n".join(items), "items": items}}


LIST = NodeSpec(
    node_type=LIST_NODE,
    label="List",
    category="utility",
    description="Fans out: everything downstream runs once per item (one per line, or a JSON "
                "array such as an LLM's answer), up to a Collect node.",
    inputs=(
        Input("text", "Text", "text", is_port=True,
              description="A JSON array of strings or one item per line; replaces Items."),
        Input("items", "Items", "text", is_port=False, default="",
              description="One item per line (or a JSON array of strings)."),
    ),
    outputs=(Output("item", "Item", "text"),),
    provider=None,
    model=None,
    model_version="1",
    credits=no_credits,
    handler=list_outputs,
)

COLLECT = NodeSpec(
    node_type=COLLECT_NODE,
    label="Collect",
    category="utility",
    description="Gathers a fan-out's results: a contact sheet of the images, the images as a "
                "list, and the texts one per line. Items that failed are left out.",
    inputs=(
        Input("images", "Images", "image", is_port=True, multiple=True, max_items=8),
        Input("text", "Texts", "text", is_port=True, multiple=True, max_items=8),
        Input("columns", "Columns", "integer", is_port=False, default=4, min=1, max=12,
              description="Images per row of the contact sheet."),
        Input("cell", "Cell size", "integer", is_port=False, default=384, min=64, max=1024,
              description="The long side of each image on the sheet, in pixels."),
    ),
    outputs=(Output("grid", "Grid", "image"), Output("images", "Images", "image"),
             Output("text", "Texts", "text")),
    provider="local",
    model=None,
    model_version="1",
    credits=no_credits,
)

SPECS = (STICKY_NOTE, FRAME, LIST, COLLECT)
