"""Utility nodes: canvas helpers that are never executed, small text tools that run on our
servers at once, free (a prompt template, a value out of JSON), and the list fan-out pair
(List, Collect: see graph.fanout)."""

from __future__ import annotations

import json
import re
from typing import Any

from graph.catalog.templating import render
from graph.catalog.types import Input, NodeError, NodeSpec, Output, no_credits
from graph.catalog.values import show
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

_TEXT_OUT = Output("text", "Text", "text")
TEMPLATE_PORTS = ("a", "b", "c", "d")


def _port_text(context, port: str) -> str:
    values = [v for v in context.values.get(port, []) if isinstance(v, str)]
    if values:
        return "\n".join(values)
    inline = context.config.get(port)
    return inline if isinstance(inline, str) else ""


def prompt_concat(context) -> dict[str, dict[str, Any]]:
    """The template with {a}…{d} filled from the ports; without a template, the non-empty
    texts joined by the separator."""
    values = {port: _port_text(context, port) for port in TEMPLATE_PORTS}
    template = context.config.get("template") or ""
    if template:
        text = render(template, values)
    else:
        separator = context.config.get("separator")
        text = (" " if separator is None else str(separator)).join(
            value for value in values.values() if value)
    return {"text": {"text": re.sub(r"[ \t]+\n", "\n", text).strip()}}


PROMPT_CONCAT = NodeSpec(
    node_type="utility:prompt_concat",
    label="Prompt Template",
    category="utility",
    description="Joins texts into one prompt with a template such as \"{a}, in the style of "
                "{b}\". Runs at once, free.",
    inputs=(
        *(Input(port, port.upper(), "text", is_port=True, inline=True,
                description=f"Text for {{{port}}}.") for port in TEMPLATE_PORTS),
        Input("template", "Template", "text", is_port=False, default="{a} {b}",
              description="{a}, {b}, {c} and {d} stand for the inputs; empty joins them."),
        Input("separator", "Separator", "string", is_port=False, default=" ",
              description="Between the inputs when the template is empty."),
    ),
    outputs=(_TEXT_OUT,),
    provider=None,
    model=None,
    model_version="1",
    credits=no_credits,
    handler=prompt_concat,
)

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n\s*```\s*$", re.S | re.I)
_STEP = re.compile(r"\[(-?\d+)\]|\[\"([^\"]*)\"\]|\.?([^.\[\]]+)")


def path_steps(path: str) -> list[str | int]:
    """`prompts[0].text`, `prompts.0.text`, `$.prompts[0]`, `["a key"]` → its steps."""
    path = path.strip()
    if path.startswith("$"):
        path = path[1:]
    steps: list[str | int] = []
    position = 0
    while position < len(path):
        match = _STEP.match(path, position)
        if match is None or match.end() == position:
            raise NodeError(f"JSON Extract: cannot read the path {show(path)} at character "
                            f"{position + 1}")
        index, quoted, name = match.groups()
        steps.append(int(index) if index is not None else quoted if quoted is not None
                     else int(name) if re.fullmatch(r"-?\d+", name) else name)
        position = match.end()
    return steps


def json_value(text: str, path: str) -> Any:
    """The value at `path` in the JSON `text` (a ```json fence around it is allowed)."""
    fenced = _FENCE.match(text)
    try:
        value = json.loads(fenced.group(1) if fenced else text)
    except ValueError as error:
        raise NodeError(f"JSON Extract: the input is not JSON ({error}); it starts "
                        f"{show(text[:40])}") from None
    walked = "$"
    for step in path_steps(path):
        if isinstance(value, list) and isinstance(step, int):
            if not -len(value) <= step < len(value):
                raise NodeError(f"JSON Extract: {walked} has {len(value)} items, no [{step}]")
            value = value[step]
        elif isinstance(value, dict) and str(step) in value:
            value = value[str(step)]
        elif isinstance(value, dict):
            keys = ", ".join(show(key, 30) for key in list(value)[:10]) or "no keys"
            raise NodeError(f"JSON Extract: {walked} has no key {show(str(step))} (it has "
                            f"{keys})")
        else:
            kind = "a list" if isinstance(value, list) else type(value).__name__
            raise NodeError(f"JSON Extract: {walked} is {kind}, it has no {show(step)}")
        walked += f"[{step}]" if isinstance(step, int) else f".{step}"
    return value


def json_extract(context) -> dict[str, dict[str, Any]]:
    """A string as it is; any other JSON value (a list, a number) as JSON text."""
    text = _port_text(context, "json")
    if not text.strip():
        raise NodeError("JSON Extract: the input is empty")
    value = json_value(text, str(context.config.get("path") or ""))
    return {"text": {"text": value if isinstance(value, str)
                     else json.dumps(value, ensure_ascii=False)}}


JSON_EXTRACT = NodeSpec(
    node_type="utility:json_extract",
    label="JSON Extract",
    category="utility",
    description="Takes one value out of JSON text, such as an LLM's JSON answer, by a path "
                "like prompts[0] or scene.title. Runs at once, free.",
    inputs=(
        Input("json", "JSON", "text", is_port=True, required=True),
        Input("path", "Path", "string", is_port=False, default="",
              description="Keys and indexes: prompts[0].text, prompts.0.text or $.title; "
                          "empty is the whole value."),
    ),
    outputs=(_TEXT_OUT,),
    provider=None,
    model=None,
    model_version="1",
    credits=no_credits,
    handler=json_extract,
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
    description="Gathers a fan-out's results: a contact sheet of the images, the images, "
                "videos and sounds as lists, the texts one per line. Failed items are left out.",
    inputs=(
        Input("images", "Images", "image", is_port=True, multiple=True, max_items=8),
        Input("text", "Texts", "text", is_port=True, multiple=True, max_items=8),
        Input("videos", "Videos", "video", is_port=True, multiple=True, max_items=8,
              description="Each item's video, gathered in item order (no grid)."),
        Input("audios", "Sounds", "audio", is_port=True, multiple=True, max_items=8,
              description="Each item's sound, gathered in item order."),
        Input("columns", "Columns", "integer", is_port=False, default=4, min=1, max=12,
              description="Images per row of the contact sheet."),
        Input("cell", "Cell size", "integer", is_port=False, default=384, min=64, max=1024,
              description="The long side of each image on the sheet, in pixels."),
    ),
    outputs=(Output("grid", "Grid", "image"), Output("images", "Images", "image"),
             Output("text", "Texts", "text"), Output("videos", "Videos", "video"),
             Output("audios", "Sounds", "audio")),
    provider="local",
    model=None,
    model_version="2",
    credits=no_credits,
)

SPECS = (STICKY_NOTE, FRAME, PROMPT_CONCAT, JSON_EXTRACT, LIST, COLLECT)
