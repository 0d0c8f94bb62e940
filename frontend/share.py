"""The public share page of a workflow (`/share/<token>`, while it is shared "anyone with the
link"): a read-only canvas of the graph with each node's latest output, the description, and
"Duplicate into my team" for signed-in users.

What it shows is `graph.services.public_graph` (settings named like secrets dropped, key-like
values hidden). Outputs are never shown by their signed storage URLs: the page links each file
as `/share/<token>/files/<asset id>/<variant>`, which serves it only while the workflow is
shared and the file is still one of the latest outputs the page shows. Turning sharing off
(or a newer run replacing an output) ends access at once, and no URL on the page outlives
the share.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django.urls import reverse

from executions.models import Asset
from executions.selectors import workflow_latest_outputs
from graph.catalog import catalog
from graph.models import Workflow
from graph.services import public_graph, public_value

CARD_WIDTH = 260
CARD_HEIGHT = 330  # room for a card with a thumbnail, for the canvas's size
PORT_Y = 30  # edges join cards this far below their top
PADDING = 32
VARIANTS = ("file", "thumbnail", "poster")


def shared_workflow_get(token: str) -> Workflow | None:
    return Workflow.objects.filter(share_token=token, link_permission="view",
                                   deleted_at__isnull=True).first()


def shared_asset(workflow: Workflow, asset_id: str) -> Asset | None:
    """One of the latest outputs the share page of `workflow` shows, else None."""
    for shown in workflow_latest_outputs(workflow=workflow).values():
        for asset in shown["assets"]:
            if str(asset.pk) == asset_id:
                return asset
    return None


def asset_variant_file(asset: Asset, variant: str):
    """The stored file of a variant (the file, its 768 px thumbnail, a video's poster)."""
    field = {"file": asset.file, "thumbnail": asset.thumbnail, "poster": asset.poster}.get(variant)
    return field if field else None


def _setting_text(value: Any) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, (int, float)):
        text = str(value)
    else:
        text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "…"


def _file_url(token: str, asset: Asset, variant: str) -> str:
    return reverse("shared-workflow-file", args=[token, str(asset.pk), variant])


def _position(node: dict[str, Any]) -> tuple[float, float]:
    position = node.get("position") if isinstance(node.get("position"), dict) else {}
    try:
        x, y = float(position.get("x", 0)), float(position.get("y", 0))
    except (TypeError, ValueError):
        return 0.0, 0.0
    return (x, y) if math.isfinite(x) and math.isfinite(y) else (0.0, 0.0)


def share_page(workflow: Workflow) -> dict[str, Any]:
    """What the template draws: cards with positions, edges as SVG paths, outputs."""
    graph = public_graph(workflow)
    outputs = workflow_latest_outputs(workflow=workflow)
    token = workflow.share_token
    placed = [(node, *_position(node)) for node in graph["nodes"]]
    min_x = min((x for _, x, _ in placed), default=0)
    min_y = min((y for _, _, y in placed), default=0)
    cards, where = [], {}
    for index, (node, x, y) in enumerate(placed):
        data = node["data"]
        left, top = round(x - min_x + PADDING), round(y - min_y + PADDING)
        where[node["id"]] = (left, top)
        shown = outputs.get(node["id"], {"assets": [], "text": None})
        media = []
        for asset in shown["assets"]:
            if asset.kind == Asset.Kind.VIDEO:
                media.append({"kind": "video", "src": _file_url(token, asset, "file"),
                              "poster": _file_url(token, asset, "poster") if asset.poster
                              else None, "mime": asset.mime})
            elif asset.kind != Asset.Kind.IMAGE:  # a sound (where audio assets exist)
                media.append({"kind": "audio", "src": _file_url(token, asset, "file"),
                              "mime": asset.mime})
            else:
                media.append({"kind": "image", "width": asset.width, "height": asset.height,
                              "src": _file_url(token, asset, "file"),
                              "thumb": _file_url(token, asset, "thumbnail") if asset.thumbnail
                              else _file_url(token, asset, "file")})
        settings = data.get("config") or data.get("params") or {}
        cards.append({
            "index": index, "id": node["id"], "left": left, "top": top,
            "label": data.get("label") or data.get("nodeType") or node["id"],
            "nodeType": data.get("nodeType") or "", "category": data.get("category") or "",
            "settings": [(key, _setting_text(value)) for key, value in settings.items()][:8],
            "media": media,
            # An input's text output is its setting, shown above already.
            "text": _setting_text(public_value(shown["text"]))
            if shown["text"] and data.get("category") != "input" else None,
        })
    edges = []
    for edge in graph["edges"]:
        if edge["source"] not in where or edge["target"] not in where:
            continue
        (sx, sy), (tx, ty) = where[edge["source"]], where[edge["target"]]
        sx, sy, ty = sx + CARD_WIDTH, sy + PORT_Y, ty + PORT_Y
        bend = max(40, abs(tx - sx) // 2)
        edges.append({"d": f"M {sx} {sy} C {sx + bend} {sy}, {tx - bend} {ty}, {tx} {ty}",
                      "label": f"{edge['source']} → {edge['target']}"})
    width = max((c["left"] for c in cards), default=0) + CARD_WIDTH + PADDING
    height = max((c["top"] for c in cards), default=0) + CARD_HEIGHT + PADDING
    return {"graph": graph, "cards": cards, "edges": edges, "width": width, "height": height,
            "card_width": CARD_WIDTH, "has_outputs": any(c["media"] or c["text"] for c in cards),
            "canvas": _canvas_data(graph, outputs, token)}


def _canvas_data(graph: dict[str, Any], outputs: dict[str, dict[str, Any]],
                 token: str) -> dict[str, Any]:
    """What the page's script draws with the editor's own nodes (src/share/main.tsx): the
    sanitized graph, the catalog entries of the node types it uses, and each node's latest
    output in the shape of a run's node state, its files by the page's own URLs."""
    used = {node["data"].get("nodeType") for node in graph["nodes"]}
    specs = [spec.to_api() for spec in catalog.all() if spec.node_type in used]
    runs = {}
    for node_id, shown in outputs.items():
        output: dict[str, Any] = {"images": [], "videos": [], "audios": [], "text": None}
        for asset in shown["assets"]:
            url = _file_url(token, asset, "file")
            if asset.kind == Asset.Kind.VIDEO:
                output["videos"].append({
                    "url": url, "duration": asset.duration or 0,
                    "posterUrl": _file_url(token, asset, "poster") if asset.poster else None})
            elif asset.kind == Asset.Kind.IMAGE:
                output["images"].append({
                    "url": url, "width": asset.width or 0, "height": asset.height or 0,
                    "thumbnailUrl": _file_url(token, asset, "thumbnail") if asset.thumbnail
                    else None})
            else:
                output["audios"].append({
                    "url": url, "duration": asset.duration,
                    "waveformUrl": _file_url(token, asset, "thumbnail") if asset.thumbnail
                    else None})
        if shown["text"]:
            output["text"] = str(public_value(shown["text"]))
        runs[node_id] = {"status": "COMPLETED", "progress": 1, "error": None, "output": output}
    nodes = []
    for node in graph["nodes"]:
        if not isinstance(node.get("id"), str):
            continue
        x, y = _position(node)
        nodes.append({**node, "position": {"x": x, "y": y}})
    ids = {node["id"] for node in nodes}
    edges = [edge for edge in graph["edges"]
             if edge["source"] in ids and edge["target"] in ids and isinstance(edge["id"], str)]
    return {"name": graph["name"], "nodes": nodes, "edges": edges, "catalog": specs,
            "runs": runs}
