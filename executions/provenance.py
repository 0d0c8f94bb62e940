"""Reads for the assets API: a team's outputs and uploads with where each came from (the
prompt, model and version, seed, settings, cost, who ran it and when), and the zip of a
selection, streamed file by file from the storage.

Scoped like every read: only teams on which the principal holds `executions:read`; another
team's asset is never found.
"""

from __future__ import annotations

import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.files.storage import default_storage

from accounts.roles import Scope
from accounts.selectors import Principal
from executions.assets import asset_api
from executions.models import Asset, Execution, NodeRun
from graph.catalog import catalog
from graph.services import format_timestamp
from wireflow_site.errors import ApiError, NotFound

READ = Scope.EXECUTIONS_READ
ZIP_MAX_FILES = 100
ZIP_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class AssetFilters:
    team_id: int | None = None
    workflow_id: uuid.UUID | None = None
    node_type: str | None = None
    model: str | None = None
    kind: str | None = None  # "output" | "upload"
    media_type: str | None = None  # "image" | "video" | "audio"
    favorite: bool | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


def readable_team_ids(principal: Principal) -> list[int]:
    return [team_id for team_id in principal.team_ids() if principal.can(team_id, READ)]


def _scoped(principal: Principal):
    return Asset.objects.filter(team_id__in=readable_team_ids(principal))


def asset_list(*, principal: Principal, filters: AssetFilters, limit: int = 20,
               offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The page of the principal's assets matching `filters`, newest first, and how many match."""
    found = _scoped(principal)
    if filters.team_id is not None:
        found = found.filter(team_id=filters.team_id)
    if filters.workflow_id is not None:
        found = found.filter(node_run__execution__workflow_id=filters.workflow_id)
    if filters.node_type:
        found = found.filter(node_run__node_type=filters.node_type)
    if filters.model:
        types = [spec.node_type for spec in catalog.all() if spec.model == filters.model]
        found = found.filter(node_run__node_type__in=types)
    if filters.kind:
        found = found.filter(uploaded=filters.kind == "upload")
    if filters.media_type:
        found = found.filter(kind=filters.media_type)
    if filters.favorite is not None:
        found = found.filter(favorite=filters.favorite)
    if filters.created_after is not None:
        found = found.filter(created_at__gte=filters.created_after)
    if filters.created_before is not None:
        found = found.filter(created_at__lt=filters.created_before)
    total = found.count()
    page = list(found.order_by("-created_at", "-id")[offset:offset + limit])
    return assets_api(page), total


def asset_get(*, principal: Principal, asset_id: Any) -> Asset:
    try:
        pk = uuid.UUID(str(asset_id))
    except ValueError:
        raise NotFound("Asset") from None
    asset = _scoped(principal).filter(pk=pk).first()
    if asset is None:
        raise NotFound("Asset")
    return asset


def assets_api(assets: list[Asset]) -> list[dict[str, Any]]:
    """The API items of these assets, their provenance read in four queries for the page."""
    runs = {run.pk: run for run in NodeRun.objects.filter(
        pk__in={a.node_run_id for a in assets if a.node_run_id}).only(
        "id", "execution_id", "node_id", "node_type", "config", "seed", "credits")}
    executions = {run.pk: run for run in Execution.objects.filter(
        pk__in={run.execution_id for run in runs.values()}).only(
        "id", "workflow_id", "edges", "created_by", "api_key", "created_at", "trigger"
    ).select_related("created_by", "api_key")}
    prompts = _prompts(list(runs.values()), executions)
    uploaders = {a.pk: a for a in Asset.objects.filter(
        pk__in=[a.pk for a in assets if a.uploaded]).select_related("created_by", "api_key")}
    items = []
    for asset in assets:
        run = runs.get(asset.node_run_id)
        execution = executions.get(run.execution_id) if run is not None else None
        who = execution if execution is not None else uploaders.get(asset.pk)
        items.append(_item(asset, run, execution, prompts.get(run.pk) if run else None, who))
    return items


def _ran_by(holder: Execution | Asset | None) -> dict[str, Any] | None:
    if holder is None:
        return None
    if holder.created_by_id:
        return {"type": "user", "id": str(holder.created_by_id),
                "name": holder.created_by.username}
    if holder.api_key_id:
        return {"type": "apiKey", "id": str(holder.api_key_id), "name": holder.api_key.name}
    if isinstance(holder, Execution) and holder.trigger == Execution.Trigger.WEBHOOK:
        return {"type": "webhook", "id": None, "name": "Webhook trigger"}
    return None


def _item(asset: Asset, run: NodeRun | None, execution: Execution | None, prompt: str | None,
          who: Execution | Asset | None) -> dict[str, Any]:
    shaped = asset_api(asset)
    spec = catalog.get(run.node_type) if run is not None else None
    return {
        "id": str(asset.pk),
        "kind": "upload" if asset.uploaded else "output",
        "mediaType": asset.kind,
        "mime": asset.mime,
        "url": shaped["url"],
        "thumbnailUrl": shaped["thumbnailUrl"],
        "thumbnails": shaped["thumbnails"],
        "posterUrl": shaped.get("posterUrl"),
        "width": asset.width,
        "height": asset.height,
        "duration": asset.duration,
        "size": asset.size,
        "favorite": asset.favorite,
        "simulated": asset.simulated,
        "prompt": prompt,
        "nodeType": run.node_type if run is not None else None,
        "model": spec.model if spec is not None else None,
        "modelVersion": spec.model_version if spec is not None else None,
        "seed": run.seed if run is not None else None,
        "settings": run.config if run is not None else None,
        "credits": run.credits if run is not None else None,
        "ranBy": _ran_by(who),
        "createdAt": format_timestamp(asset.created_at),
        "workflowId": str(execution.workflow_id) if execution and execution.workflow_id
        else None,
        "executionId": str(run.execution_id) if run is not None else None,
        "nodeId": run.node_id if run is not None else None,
    }


def _prompts(runs: list[NodeRun], executions: dict[Any, Execution]) -> dict[Any, str]:
    """Each node run's prompt: the text on its `prompt` input (from the node wired into it,
    as it ran), else its own `prompt` setting (typed inline)."""
    wanted: dict[Any, tuple[Any, str, str]] = {}  # run pk -> (execution, source node, port)
    for run in runs:
        execution = executions.get(run.execution_id)
        for edge in (execution.edges if execution is not None else []):
            if (isinstance(edge, dict) and edge.get("target") == run.node_id
                    and edge.get("targetHandle") == "in-prompt"):
                port = str(edge.get("sourceHandle") or "").removeprefix("out-")
                wanted[run.pk] = (run.execution_id, str(edge.get("source")), port)
                break
    sources = {}
    if wanted:
        sources = {(row[0], row[1]): row[2] for row in NodeRun.objects.filter(
            execution_id__in={w[0] for w in wanted.values()},
            node_id__in={w[1] for w in wanted.values()},
        ).values_list("execution_id", "node_id", "outputs")}
    prompts: dict[Any, str] = {}
    for run in runs:
        source = wanted.get(run.pk)
        if source is not None:
            ref = (sources.get(source[:2]) or {}).get(source[2]) or {}
            if isinstance(ref.get("text"), str):
                prompts[run.pk] = ref["text"]
                continue
        inline = run.config.get("prompt")
        if isinstance(inline, str) and inline:
            prompts[run.pk] = inline
    return prompts


# --- zip -------------------------------------------------------------------------------------

def assets_for_zip(*, principal: Principal, ids: list[str]) -> list[Asset]:
    """The principal's assets of `ids`, in the order given; a 404 naming the ids that are not
    (unknown, malformed, or another team's: the same answer for all three)."""
    wanted, missing = [], []
    for value in ids:
        try:
            wanted.append(uuid.UUID(str(value)))
        except ValueError:
            missing.append(str(value))
    found = {a.pk: a for a in _scoped(principal).filter(pk__in=wanted)}
    missing += [str(pk) for pk in wanted if pk not in found]
    if missing:
        raise ApiError(f"Asset not found: {', '.join(missing[:10])}", code="not_found",
                       status=404, missingIds=missing)
    return [found[pk] for pk in dict.fromkeys(wanted)]


class _Sink:
    """A write-only stream that hands over what zipfile wrote so far (zipfile writes data
    descriptors to a stream it cannot seek, so nothing needs to be held back)."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.offset = 0

    def write(self, data: bytes) -> int:
        self.chunks.append(bytes(data))
        self.offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self.offset

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.chunks = b"".join(self.chunks), []
        return data


def zip_entry_name(asset: Asset, used: set[str]) -> str:
    """A readable, unique name in the archive: <kind>-<created>-<id prefix>.<ext>."""
    stamp = asset.created_at.strftime("%Y%m%d-%H%M%S")
    extension = asset.file.name.rsplit(".", 1)[-1]
    name = f"{'upload' if asset.uploaded else 'output'}-{stamp}-{str(asset.pk)[:8]}.{extension}"
    while name in used:
        name = f"{name.rsplit('.', 1)[0]}-{len(used)}.{extension}"
    used.add(name)
    return name


def zip_stream(assets: list[Asset]) -> Iterator[bytes]:
    """The files as one ZIP archive (stored, not compressed: images and videos are compressed
    already), produced while the files are read from the storage, a megabyte at a time."""
    sink = _Sink()
    used: set[str] = set()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for asset in assets:
            info = zipfile.ZipInfo(zip_entry_name(asset, used),
                                   date_time=asset.created_at.timetuple()[:6])
            info.compress_type = zipfile.ZIP_STORED
            try:
                source = default_storage.open(asset.file.name, "rb")
            except FileNotFoundError:
                continue  # deleted between the check and now: left out
            with source, archive.open(info, "w", force_zip64=asset.size > 2**31) as entry:
                while chunk := source.read(ZIP_CHUNK):
                    entry.write(chunk)
                    yield sink.take()
            yield sink.take()
    yield sink.take()
