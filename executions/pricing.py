"""What a run will cost before it starts: one line per billable node, from the catalog.

The estimate and the charge go through one function, `node_credits`. Where a vendor bills the
inputs too (BFL bills the megapixels of reference images), the estimate reads their sizes off
the graph: an upstream node whose output size follows from its settings (`output_pixels`) is
priced exactly; so is one of the team's own files an Image Input names, and a pinned node's
output, whose sizes the caller looked up (`KnownSizes`, executions.sizing: one query for the
graph). A reference of unknown size (an external URL, a crop) is quoted at the 4 MP that is
the most BFL bills for one, and charged by its real size, so the charge never exceeds the
quote.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

from executions import imaging
from graph.catalog import NO_USAGE, NodeSpec, Usage, catalog
from graph.fanout import MAX_ITEMS, regions, static_items
from graph.validation import effective_config

REFERENCE_PORT = "reference_images"
UNKNOWN_REFERENCE_MEGAPIXELS = 4.0
IMAGE_INPUT = "input:image"
MAX_IMAGES_MADE = 100  # a count setting above this is not a count (credits never raise)


@dataclasses.dataclass(frozen=True)
class KnownSizes:
    """Sizes of images a run will take that are known before it starts, looked up by the caller
    among the team's assets (executions.sizing): `urls`, the pixels of our file an Image Input's
    URL names (by URL); `outputs`, the pixels of each file a pinned node delivered on an output
    port (by node id and port, in order). What is not here is unknown (an external URL,
    another team's file): quoted as a ceiling."""

    urls: Mapping[str, int] = dataclasses.field(default_factory=dict)
    outputs: Mapping[tuple[str, str], tuple[int, ...]] = dataclasses.field(default_factory=dict)


NO_SIZES = KnownSizes()


def node_credits(spec: NodeSpec, config: dict[str, Any], usage: Usage = NO_USAGE) -> int:
    """What one run of a node costs, in whole credits: the same figure the estimate quotes and
    a completed node is charged (settings complete, defaults applied; usage as delivered)."""
    # Rounded first: 1.4 + 6 × 0.1 is 2.0000000000000004 in floating point, and costs 2.
    return math.ceil(round(spec.credits(config, usage) or 0, 6))


def _port(handle: Any) -> str:
    handle = str(handle or "")
    return handle[3:] if handle.startswith("in-") else handle


def _out_port(handle: Any) -> str:
    handle = str(handle or "")
    return handle[4:] if handle.startswith("out-") else handle


def _delivered(source: dict, handle: Any, sizes: KnownSizes) -> tuple[int, ...] | None:
    """The pixels of the files a pinned node's output port holds, or of our file an Image
    Input names: known before the run (None: not known here)."""
    found = sizes.outputs.get((source["id"], _out_port(handle)))
    if found is not None:
        return found
    data = source.get("data")
    if isinstance(data, dict) and data.get("nodeType") == IMAGE_INPUT:
        config = data.get("config")
        url = config.get("url") if isinstance(config, dict) else None
        pixels = sizes.urls.get(url) if isinstance(url, str) else None
        return (pixels,) if pixels else None
    return None


def _known_pixels(source: dict, source_spec: NodeSpec, by_id: dict[str, dict],
                  edges: list[dict], sizes: KnownSizes = NO_SIZES, handle: Any = None,
                  depth: int = 0) -> int | None:
    """The pixels of the image a node delivers (its first, which a one-image port takes),
    where they are known before the run: a pinned output's or our file's (`sizes`), its
    settings (`output_pixels`), or, for a library model whose output is its input's size times
    a scale (an upscaler, an edit), the size known of that input times the scale squared."""
    delivered = _delivered(source, handle, sizes)
    if delivered:
        return delivered[0]
    config = effective_config(source, source_spec)
    if source_spec.output_pixels is not None:
        return source_spec.output_pixels(config)
    model = source_spec.declaration
    size = getattr(model, "size", None)
    if size is None or size.rule != "input" or depth > 50:
        return None
    if size.scale:
        scale = config.get(model.field(size.scale).input_id)
    else:
        scale = size.factor
    # Only a whole scale is exact from the pixel count: the vendor rounds each side of a
    # fractional one, and the sides are not known here (an unknown size is quoted as a ceiling).
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale <= 0 or \
            scale != int(scale):
        return None
    wired = _source_of(source["id"], model.field(size.field).input_id, by_id, edges)
    pixels = _known_pixels(wired[0], wired[1], by_id, edges, sizes, wired[2], depth + 1) \
        if wired is not None else None
    if not pixels:
        return None
    return pixels * int(scale) ** 2


def _images_made(spec: NodeSpec, config: dict[str, Any]) -> int:
    """How many images one run of a node delivers on its image output: the count its settings
    ask for (`num_images`, or the setting a library model's price counts), else one."""
    model = spec.declaration
    if model is not None:
        counted = model.field(model.price.count) if model.price.count else None
        value = config.get(counted.input_id) if counted is not None else 1
    else:
        value = config.get("num_images") if spec.input("num_images") is not None else 1
    return value if isinstance(value, int) and not isinstance(value, bool) and \
        0 < value <= MAX_IMAGES_MADE else 1


def _reference_usage(node_id: str, spec: NodeSpec, by_id: dict[str, dict],
                     edges: list[dict], sizes: KnownSizes = NO_SIZES
                     ) -> tuple[Usage, bool, bool]:
    """The reference images wired into a node, in megapixels; whether every size is known; and
    whether more images are wired than go (the quote then takes the largest). Every image an
    edge carries goes as a reference (an upstream node that makes `num_images` images sends
    them all), up to as many as the port takes (the vendor gets no more)."""
    port = spec.input(REFERENCE_PORT)
    if port is None:
        return NO_USAGE, True, False
    megapixels: list[float] = []
    known = True
    for edge in edges:
        if not isinstance(edge, dict) or edge.get("target") != node_id or \
                _port(edge.get("targetHandle")) != REFERENCE_PORT:
            continue
        source = by_id.get(edge.get("source"))
        data = source.get("data") if isinstance(source, dict) else None
        source_spec = catalog.get(data.get("nodeType")) if isinstance(data, dict) else None
        delivered = _delivered(source, edge.get("sourceHandle"), sizes) \
            if source_spec is not None else None
        if delivered:  # a pinned output or our file: every image it holds goes as a reference
            megapixels.extend(pixels / (1024 * 1024) for pixels in delivered)
            continue
        pixels, count = None, 1
        if source_spec is not None:
            try:
                pixels = _known_pixels(source, source_spec, by_id, edges, sizes,
                                       edge.get("sourceHandle"))
                count = _images_made(source_spec, effective_config(source, source_spec))
            except (TypeError, ValueError, KeyError):
                pixels = None
        if pixels is None:
            known = False
            megapixels.extend([UNKNOWN_REFERENCE_MEGAPIXELS] * count)
        else:
            megapixels.extend([pixels / (1024 * 1024)] * count)
    chosen = False
    if port.max_items is not None and len(megapixels) > port.max_items:
        # More images than the vendor takes: which ones go is the run's order, so the quote
        # takes the largest (a ceiling, unless they are all of one size).
        chosen = len(set(megapixels)) > 1
        megapixels = sorted(megapixels, reverse=True)[:port.max_items]
    return Usage(references=tuple(megapixels)), known, chosen


def _known_text(source: dict | None, handle: Any) -> str | None:
    """The text an upstream node puts on `handle`, when it is known before the run (an input
    whose value is its settings), else None."""
    data = source.get("data") if isinstance(source, dict) else None
    spec = catalog.get(data.get("nodeType")) if isinstance(data, dict) else None
    if spec is None or not spec.instant:
        return None
    try:
        made = spec.handler(SimpleNamespace(config=effective_config(source, spec)))
    except Exception:  # noqa: BLE001 - a handler that needs a run: the text is not known yet
        return None
    port = str(handle or "")
    ref = made.get(port[4:] if port.startswith("out-") else port)
    return ref.get("text") if isinstance(ref, dict) and isinstance(ref.get("text"), str) \
        else None


def _ceiling_usage(node_id: str, spec: NodeSpec, config: dict[str, Any],
                   by_id: dict[str, dict], edges: list[dict]) -> tuple[Usage, bool]:
    """The most a node billed by consumption (tokens) can use: its `usage_ceiling` of the text
    wired into it (known where an input holds it) and as many images as its port takes; and
    whether all that text was known."""
    texts: dict[str, list[str | None]] = {}
    images = 0
    for edge in edges:
        if not isinstance(edge, dict) or edge.get("target") != node_id:
            continue
        port = spec.input(_port(edge.get("targetHandle")))
        if port is None or not port.is_port:
            continue
        source = by_id.get(edge.get("source"))
        if port.type == "text":
            texts.setdefault(port.id, []).append(_known_text(source, edge.get("sourceHandle")))
        elif port.type == "image":
            # How many images an upstream node makes is its own business: quote the most the
            # port takes, so the charge for what arrives is never above it.
            images = port.max_items or 1
    known = all(text is not None for values in texts.values() for text in values)
    return spec.usage_ceiling(config, texts, images), known


def _source_of(node_id: str, port: str, by_id: dict[str, dict],
               edges: list[dict]) -> tuple[dict, NodeSpec, Any] | None:
    """The node (its spec, and the output handle) wired into `port` of `node_id`, if any."""
    for edge in edges:
        if isinstance(edge, dict) and edge.get("target") == node_id and \
                _port(edge.get("targetHandle")) == port:
            source = by_id.get(edge.get("source"))
            data = source.get("data") if isinstance(source, dict) else None
            source_spec = catalog.get(data.get("nodeType")) if isinstance(data, dict) else None
            return (source, source_spec, edge.get("sourceHandle")) \
                if source_spec is not None else None
    return None


def _declared_usage(node_id: str, spec: NodeSpec, usage: Usage, by_id: dict[str, dict],
                    edges: list[dict], sizes: KnownSizes = NO_SIZES) -> tuple[Usage, bool]:
    """What the graph tells of a library model's billed inputs: the characters of a wired
    text (a Text Input's own; else the most the model takes), and the size of the image an
    upscale or edit is priced from (when known before the run: the upstream node's settings,
    our file, a pinned output; else the pixel cap, the most an image we read may have). And
    whether that is exact (False: a ceiling)."""
    model = spec.declaration
    if model is None:
        return usage, True
    price, size = model.price, model.size
    exact = True
    if price.unit == "kchars":
        text_field = model.field(price.text)
        wired = _source_of(node_id, text_field.input_id, by_id, edges)
        if wired is not None:
            source, source_spec, _ = wired
            value = effective_config(source, source_spec).get("prompt") \
                if source_spec.node_type == "input:text" else None
            characters = len(value.strip()) if isinstance(value, str) else price.max_chars
            exact = isinstance(value, str)
            usage = dataclasses.replace(usage, characters=characters)
    if price.unit == "megapixel" and size is not None and size.rule == "input":
        cap = imaging.media_max_pixels()
        wired = _source_of(node_id, model.field(size.field).input_id, by_id, edges)
        pixels = _known_pixels(wired[0], wired[1], by_id, edges, sizes, wired[2]) \
            if wired is not None else None
        exact = bool(pixels)
        usage = dataclasses.replace(usage, input_pixels=pixels or cap, pixel_cap=cap)
    return usage, exact


def estimate(nodes: list[dict], only: set[str] | None = None,
             edges: list[dict] | None = None, sizes: KnownSizes = NO_SIZES) -> dict[str, Any]:
    """`{"estimatedCredits", "breakdown", "estimateComplete", "warnings"}` for these nodes
    (all, or the ids in `only`), with the image sizes the caller knows (`sizes`; none: every
    input image of unknown size is quoted as a ceiling). Cached results may make the real
    charge lower, never higher."""
    breakdown, warnings = [], []
    complete = True
    nodes = [node for node in nodes if isinstance(node, dict) and isinstance(node.get("id"), str)]
    by_id = {node["id"]: node for node in nodes}
    for node in nodes:
        data = node.get("data")
        if not isinstance(data, dict):  # malformed: validation names it; nothing to price
            continue
        spec = catalog.get(data.get("nodeType"))
        if spec is None or not spec.executable or (only is not None and node.get("id") not in only):
            continue
        try:
            config = effective_config(node, spec)
            usage, sized, chosen = _reference_usage(node["id"], spec, by_id, edges or [],
                                                    sizes)
            texts_known = True
            if spec.usage_ceiling is not None:
                usage, texts_known = _ceiling_usage(node["id"], spec, config, by_id,
                                                    edges or [])
            usage, declared_exact = _declared_usage(node["id"], spec, usage, by_id,
                                                    edges or [], sizes)
            unit, credits = spec.credits(config, usage) or 0, node_credits(spec, config, usage)
        except (TypeError, ValueError, KeyError):
            complete = False
            warnings.append(f"Cannot price node {node.get('id')}: its settings are incomplete")
            continue
        if not unit:
            continue
        if not sized:
            warnings.append(
                f"{data.get('label') or spec.label}: reference images of unknown size are "
                f"quoted at {UNKNOWN_REFERENCE_MEGAPIXELS:g} MP each; the charge follows their "
                "real size")
        if chosen:
            warnings.append(
                f"{data.get('label') or spec.label}: more reference images are wired than it "
                f"takes ({spec.input(REFERENCE_PORT).max_items}); the largest are quoted, the "
                "charge follows those sent")
        if not texts_known:
            warnings.append(
                f"{data.get('label') or spec.label}: text from nodes that have not run yet is "
                "quoted at the most the node takes; the charge follows the tokens the model "
                "reports")
        if not declared_exact and spec.declaration.price.unit == "megapixel":
            warnings.append(
                f"{data.get('label') or spec.label}: its input image's size is not known "
                "before the run (an external URL, or an image made during the run), so it is "
                f"quoted at the {imaging.media_max_pixels():,}-pixel cap, the largest image a "
                "run may deliver; the charge follows the real size")
        elif not declared_exact:
            warnings.append(
                f"{data.get('label') or spec.label}: text from nodes that have not run yet is "
                "quoted at the most the node takes; the charge follows the characters sent")
        line = {
            "nodeId": node["id"],
            "nodeLabel": data.get("label") or spec.label,
            # A node whose model is a setting (LLM Chat) names the one chosen.
            "model": config["model"] if spec.input("model") is not None and isinstance(
                config.get("model"), str) else spec.model or spec.node_type,
            "credits": credits,
            "unitCredits": unit,
            "iterations": 1,  # api.md's field: once per run, or per item of a list (below)
        }
        # A token-priced node (an LLM) is always quoted at its ceiling (max_tokens answered).
        if spec.usage_ceiling is not None or chosen or not (sized and texts_known and
                                                            declared_exact):
            line["bound"] = "ceiling"  # (addition) the most it can cost; charged what it uses
        breakdown.append(line)
    fan_out = _fan_out(nodes, edges or [], only, breakdown, warnings)
    if any(found["items"] is None for found in fan_out.values()):
        complete = False
    return {"estimatedCredits": sum(item["credits"] for item in breakdown),
            "breakdown": breakdown, "estimateComplete": complete, "warnings": warnings,
            "fanOut": fan_out}


def _fan_out(nodes: list[dict], edges: list[dict], only: set[str] | None,
             breakdown: list[dict[str, Any]], warnings: list[str]) -> dict[str, Any]:
    """Nodes a List fans out cost their price once per item: `iterations` is the list's size
    where the graph says it (its own items, or a Text Input's lines); a list made during the
    run is priced for one item (the estimate is then a floor, and each further item is
    reserved when the list is known). By list: its size (None: unknown) and one item's price."""
    # Malformed nodes and edges (a saved draft may hold anything) are validation's to name:
    # nothing of them fans out.
    nodes = [node for node in nodes if isinstance(node, dict) and isinstance(node.get("id"), str)
             and isinstance(node.get("data"), dict)]
    edges = [edge for edge in edges if isinstance(edge, dict)]
    executable = {node["id"] for node in nodes
                  if (spec := catalog.get(node["data"].get("nodeType"))) is not None
                  and spec.executable and (only is None or node["id"] in only)}
    found, _ = regions(nodes, edges, only=executable)
    result: dict[str, Any] = {}
    for source, region in sorted(found.items()):
        lines = [item for item in breakdown if item["nodeId"] in region.nodes]
        items = static_items(nodes, edges, source)
        count = None if items is None else min(len(items), MAX_ITEMS)
        result[source] = {"items": count, "itemCredits": sum(line["credits"] for line in lines)}
        if count is None:
            for line in lines:
                line["bound"] = "floor"  # (addition) one item's price; more items cost more
            if lines:
                warnings.append(
                    f"List '{source}' is made during the run: this estimate counts one item; "
                    "each further item is reserved when the list is known")
            continue
        for line in lines:
            line["iterations"] = count
            line["credits"] *= count
    return result
