"""What flows along edges: a node run's inputs, its cache key, its stored results, and the one
output shape that events, the poll endpoint and webhooks all show."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from executions.assets import asset_api, asset_from_output, asset_media
from executions.models import Asset, NodeRun, NodeStatus
from executions.providers import Result
from graph.catalog import catalog

NodeOutputs = dict[str, dict[str, Any]]  # port -> {"asset": id} | {"text": str}


# --- inputs ----------------------------------------------------------------------------------

def _port(handle: Any, prefix: str) -> str:
    handle = str(handle or "")
    return handle[len(prefix):] if handle.startswith(prefix) else handle


def resolve_inputs(node_run: NodeRun, known: dict[str, NodeOutputs] | None = None
                   ) -> tuple[dict[str, list[Any]], list[str]]:
    """Values on each input port, in edge order, plus the content hashes the cache key uses.
    `known` holds upstream outputs already in memory (node id -> outputs); the rest are read.
    (The upstream output references themselves are kept on `node_run.input_refs`.)"""
    execution = node_run.execution
    edges = [e for e in execution.edges if e.get("target") == node_run.node_id]
    wanted = {e["source"] for e in edges}
    known = known or {}
    sources: dict[str, NodeOutputs] = {
        node_id: known[node_id] for node_id in wanted if node_id in known}
    if wanted - sources.keys():
        sources.update(NodeRun.objects.filter(
            execution=execution, node_id__in=wanted - sources.keys()
        ).values_list("node_id", "outputs"))
    asset_ids = {
        ref["asset"] for outputs in sources.values() for ref in outputs.values() if "asset" in ref
    }
    assets = {str(a.pk): a for a in Asset.objects.filter(pk__in=asset_ids)} if asset_ids else {}
    values: dict[str, list[Any]] = {}
    refs: dict[str, list[dict[str, Any]]] = {}
    hashes: list[str] = []
    node_run.input_refs = refs
    for edge in edges:
        outputs = sources.get(edge["source"])
        if outputs is None:  # upstream not part of this run (a sticky note, or not targeted)
            continue
        ref = outputs.get(_port(edge.get("sourceHandle"), "out-"))
        if ref is None:
            continue
        port = _port(edge.get("targetHandle"), "in-")
        refs.setdefault(port, []).append(ref)
        if "asset" in ref:
            asset = assets[ref["asset"]]
            values.setdefault(port, []).append(asset_media(asset))
            hashes.append(f"{port}:{asset.sha256}")
        else:
            text = str(ref.get("text", ""))
            values.setdefault(port, []).append(text)
            hashes.append(f"{port}:{hashlib.sha256(text.encode()).hexdigest()}")
    return values, hashes


@dataclass
class HandlerContext:
    """What a built-in node's handler (`NodeSpec.handler`) sees: its settings, the values and
    upstream references on its ports, and a way to store an image from a URL."""

    node_run: NodeRun
    values: dict[str, list[Any]] = field(default_factory=dict)
    refs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    fetch_image: Callable[[object], dict[str, Any]] | None = None

    @property
    def config(self) -> dict[str, Any]:
        return self.node_run.config

    def image_from_url(self, url: object) -> dict[str, Any]:
        if self.fetch_image is None:
            raise RuntimeError("this node cannot fetch here")
        return self.fetch_image(url)


# --- the cache -------------------------------------------------------------------------------

def cache_key(node_run: NodeRun, input_hashes: list[str]) -> str:
    """A Merkle hash: node type, model version, settings, seed and the hashes of its inputs."""
    spec = catalog.get(node_run.node_type)
    material = {
        "type": node_run.node_type,
        "model": spec.model if spec else None,
        "version": spec.model_version if spec else None,
        "config": node_run.config,
        "seed": node_run.seed,
        "inputs": input_hashes,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


def cache_lookup(node_run: NodeRun, key: str) -> NodeRun | None:
    """The team's latest completed node run with this key, if this run may reuse one."""
    spec = catalog.get(node_run.node_type)
    if not spec.cacheable or node_run.execution.force:
        return None
    random_seed = spec.input("seed") is not None and not isinstance(node_run.config.get("seed"),
                                                                      int)
    targeted_upstream = bool(node_run.execution.target_node_id) and (
        node_run.node_id != node_run.execution.target_node_id)
    if random_seed and not targeted_upstream:
        return None  # a random seed asks for a new result every time
    return (
        NodeRun.objects.filter(
            cache_key=key, status=NodeStatus.COMPLETED,
            execution__team_id=node_run.execution.team_id,
        )
        .exclude(pk=node_run.pk)
        .order_by("-finished_at")
        .first()
    )


# --- outputs ---------------------------------------------------------------------------------

def output_asset_ids(outputs: NodeOutputs) -> list[str]:
    return [ref["asset"] for ref in outputs.values() if "asset" in ref]


def output_shape(outputs: NodeOutputs, assets: dict[str, Asset]) -> dict[str, Any]:
    """The api.md output shape of a node run: its images, videos and text, from `assets`."""
    shaped: dict[str, Any] = {"images": [], "videos": [], "text": None}
    for ref in outputs.values():
        asset = assets.get(ref.get("asset", ""))
        if asset is not None:
            shaped["images" if asset.kind == Asset.Kind.IMAGE else "videos"].append(
                asset_api(asset)
            )
        elif "text" in ref and shaped["text"] is None:
            shaped["text"] = ref["text"]
    return shaped


def output_api(outputs: NodeOutputs, known: dict[str, Asset] | None = None) -> dict[str, Any]:
    """`output_shape`, reading the assets that are not `known` already."""
    assets = dict(known or {})
    missing = [pk for pk in output_asset_ids(outputs) if pk not in assets]
    if missing:
        assets.update({str(a.pk): a for a in Asset.objects.filter(pk__in=missing)})
    return output_shape(outputs, assets)


def result_store(node_run: NodeRun, result: Result, *,
                 simulated: bool) -> tuple[NodeOutputs, dict[str, Asset]]:
    """Write a provider result's files to storage: the outputs by port, and the assets made."""
    outputs: NodeOutputs = {}
    assets: dict[str, Asset] = {}
    for port, value in result.outputs.items():
        if isinstance(value, str):
            outputs[port] = {"text": value}
        else:
            asset = asset_from_output(node_run=node_run, output=value, simulated=simulated)
            outputs[port] = {"asset": str(asset.pk)}
            assets[str(asset.pk)] = asset
    return outputs, assets
