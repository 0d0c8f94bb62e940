"""The image sizes a run's price can know before it starts (executions.pricing.KnownSizes):
the team's own files its Image Inputs name (an upload, an earlier output, a client app visitor's
upload, by any URL of ours: /media/… path, signed or object-store URL), and the files pinned
nodes delivered. One query for the whole graph, and only when there is something to look up.

A file is found exactly as the run finds it (executions.fetch.fetch_media_asset): among the
team's assets by storage name, the newest first, of kind image. Anything else, another
team's file included, stays unknown, so it is quoted as a ceiling and the run refuses it as it
would have; an external URL is never fetched here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import Q

from executions.fetch import own_media_names
from executions.models import Asset, NodeRun
from executions.outputs import ref_asset_ids
from executions.pricing import IMAGE_INPUT, NO_SIZES, KnownSizes


def image_input_urls(nodes: Iterable[Any]) -> set[str]:
    """The URLs the graph's Image Inputs hold (malformed nodes hold none)."""
    urls = set()
    for node in nodes:
        data = node.get("data") if isinstance(node, dict) else None
        config = data.get("config") if isinstance(data, dict) else None
        if isinstance(config, dict) and data.get("nodeType") == IMAGE_INPUT \
                and isinstance(config.get("url"), str) and config["url"]:
            urls.add(config["url"])
    return urls


def _pinned_assets(pinned: Mapping[str, NodeRun]) -> dict[tuple[str, str], list[str]]:
    """(node id, output port) → the asset ids a pinned node run delivered there, in order."""
    found: dict[tuple[str, str], list[str]] = {}
    for node_id, run in pinned.items():
        for port, ref in (run.outputs or {}).items():
            ids = ref_asset_ids(ref) if isinstance(ref, dict) else []
            if ids and all(_is_uuid(pk) for pk in ids):
                found[(node_id, port)] = ids
    return found


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _pixels(kind: str, width: int | None, height: int | None) -> int | None:
    return width * height if kind == Asset.Kind.IMAGE and width and height else None


def known_sizes(team_id: int, nodes: Iterable[Any], pinned: Mapping[str, NodeRun] | None = None,
                known: Mapping[str, int] | None = None) -> KnownSizes:
    """What `executions.pricing.estimate` may know of the graph's input images for a run of
    `team_id`: the pixels of our files its Image Inputs name and of its pinned nodes' outputs.
    `known` holds URL sizes looked up before (a version's plan): only the others are read."""
    known = dict(known or {})
    names_by_url = {url: names for url in image_input_urls(nodes) - known.keys()
                    if (names := own_media_names(url))}
    by_port = _pinned_assets(pinned or {})
    if not names_by_url and not by_port:
        return KnownSizes(urls=known) if known else NO_SIZES
    names = {name for found in names_by_url.values() for name in found}
    ids = {pk for found in by_port.values() for pk in found}
    match = Q()
    if names:
        match |= Q(file__in=names)
    if ids:
        match |= Q(pk__in=ids)
    # Sorted here, not by the database: ordering by created_at would make it walk the team's
    # files newest first (index asset_team_newest) instead of looking the names up (team, file).
    found_rows = Asset.objects.filter(match, team_id=team_id).order_by().values_list(
        "created_at", "pk", "file", "kind", "width", "height")
    rows = [(str(pk), name, _pixels(kind, width, height)) for _, pk, name, kind, width, height
            in sorted(found_rows, key=lambda row: row[0], reverse=True)]
    by_id = {pk: size for pk, _, size in rows}
    urls = dict(known)
    for url, found in names_by_url.items():
        # The run takes the newest of the team's files with one of these names (rows are
        # newest first), and refuses it if it is not an image.
        size = next((size for _, name, size in rows if name in found), None)
        if size:
            urls[url] = size
    outputs = {}
    for key, found in by_port.items():
        sizes = [by_id.get(pk) for pk in found]
        if all(sizes):
            outputs[key] = tuple(size for size in sizes if size)
    return KnownSizes(urls=urls, outputs=outputs)
