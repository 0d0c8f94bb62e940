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
from graph.catalog import NO_USAGE, Usage, catalog

# port -> {"asset": id} | {"text": str}; a port that made several files (e.g. Nano Banana's
# `num_images`) is {"asset": the first, "assets": [every one, in order]}.
NodeOutputs = dict[str, dict[str, Any]]
# Where each kind of file goes in a node run's output shape.
OUTPUT_LISTS = {Asset.Kind.IMAGE: "images", Asset.Kind.VIDEO: "videos",
                Asset.Kind.AUDIO: "audios"}


def ref_asset_ids(ref: dict[str, Any]) -> list[str]:
    """Every asset id of one output port's reference, in order."""
    if "assets" in ref:
        return [str(pk) for pk in ref["assets"]]
    return [ref["asset"]] if "asset" in ref else []


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
    asset_ids = {pk for outputs in sources.values() for ref in outputs.values()
                 for pk in ref_asset_ids(ref)}
    assets = {str(a.pk): a for a in Asset.objects.filter(pk__in=asset_ids)} if asset_ids else {}
    spec = catalog.get(node_run.node_type)
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
            # A port taking several images gets every image of a multi-image output; a port
            # taking one gets the first.
            target = spec.input(port) if spec is not None else None
            ids = ref_asset_ids(ref) if target is not None and target.multiple else [ref["asset"]]
            for pk in ids:
                asset = assets[pk]
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
    upstream references on its ports, and a way to store an image or a sound from a URL."""

    node_run: NodeRun
    values: dict[str, list[Any]] = field(default_factory=dict)
    refs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # (url, kind) -> the output reference of the team's asset at that URL ({"asset": id})
    fetch_media: Callable[[object, str], dict[str, Any]] | None = None

    @property
    def config(self) -> dict[str, Any]:
        return self.node_run.config

    def image_from_url(self, url: object) -> dict[str, Any]:
        return self.media_from_url(url, "image")

    def media_from_url(self, url: object, kind: str) -> dict[str, Any]:
        if self.fetch_media is None:
            raise RuntimeError("this node cannot fetch here")
        return self.fetch_media(url, kind)


# --- the cache -------------------------------------------------------------------------------

def cache_key(node_run: NodeRun, input_hashes: list[str]) -> str:
    """A Merkle hash: node type, model version, settings, seed and the hashes of its inputs.
    The seed counts once, as the one used: a random-seed run is cached under the seed it drew,
    so locking that seed in the settings reproduces it from the cache."""
    spec = catalog.get(node_run.node_type)
    material = {
        "type": node_run.node_type,
        "model": spec.model if spec else None,
        "version": spec.model_version if spec else None,
        "config": {name: value for name, value in node_run.config.items() if name != "seed"},
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
    if random_seed and not node_run.seed_reused:
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
    return [pk for ref in outputs.values() for pk in ref_asset_ids(ref)]


def output_shape(outputs: NodeOutputs, assets: dict[str, Asset]) -> dict[str, Any]:
    """The api.md output shape of a node run: its images, videos and text, from `assets`, and
    (our addition) its sounds under `audios`."""
    shaped: dict[str, Any] = {"images": [], "videos": [], "audios": [], "text": None}
    for ref in outputs.values():
        found = [assets[pk] for pk in ref_asset_ids(ref) if pk in assets]
        for asset in found:
            shaped[OUTPUT_LISTS[asset.kind]].append(asset_api(asset))
        if not found and "text" in ref and shaped["text"] is None:
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
            continue
        made = [asset_from_output(node_run=node_run, output=item, simulated=simulated)
                for item in (value if isinstance(value, list) else [value])]
        outputs[port] = {"asset": str(made[0].pk)}
        if len(made) > 1:
            outputs[port]["assets"] = [str(asset.pk) for asset in made]
        assets.update((str(asset.pk), asset) for asset in made)
    return outputs, assets


def result_usage(result: Result) -> Usage:
    """What the provider says it consumed and delivered, for the charge (see pricing)."""
    said = result.meta.get("usage")
    if not isinstance(said, dict):
        return NO_USAGE
    references = tuple(float(mp) for mp in said.get("references") or ())
    images = said.get("images")
    return Usage(references=references, images=int(images) if images is not None else None)
