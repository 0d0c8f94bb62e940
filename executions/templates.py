"""Templates as the gallery and GET /templates show them: each with the cost the pricing
quotes for its graph (executions.pricing, never a typed figure) and its cover, the team's
asset behind a signed URL. The templates themselves are the graph's (graph.selectors)."""

from __future__ import annotations

import uuid
from typing import Any

from accounts.selectors import Principal
from executions.assets import asset_api
from executions.models import Asset
from executions.pricing import estimate
from graph.catalog import catalog
from graph.models import Workflow, WorkflowTemplate
from graph.selectors import Template
from graph.services import format_timestamp
from graph.starters import Starter
from wireflow_site.errors import ApiError


def _chain(nodes: list[dict]) -> list[str]:
    """The labels of the node types the graph runs, in the order they appear (for a card)."""
    labels: list[str] = []
    for node in nodes:
        data = node.get("data") if isinstance(node, dict) else None
        spec = catalog.get(data.get("nodeType")) if isinstance(data, dict) else None
        if spec is not None and spec.executable and spec.category not in ("input", "utility") \
                and spec.label not in labels:
            labels.append(spec.label)
    return labels


def _covers(templates: list[Template]) -> dict[uuid.UUID, Asset]:
    ids = [t.cover_asset_id for t in templates
           if isinstance(t, WorkflowTemplate) and t.cover_asset_id]
    if not ids:
        return {}
    # Only the template's own team's file: a cover never crosses teams.
    teams = {t.cover_asset_id: t.team_id for t in templates if isinstance(t, WorkflowTemplate)}
    return {a.pk: a for a in Asset.objects.filter(pk__in=ids) if teams.get(a.pk) == a.team_id}


def _cover(asset: Asset | None) -> dict[str, Any]:
    if asset is None:
        return {"coverUrl": None, "thumbnailUrl": None}
    shaped = asset_api(asset)
    if asset.kind == Asset.Kind.AUDIO:  # its waveform stands for it
        return {"coverUrl": shaped["thumbnailUrl"], "thumbnailUrl": shaped["thumbnailUrl"]}
    if asset.kind == Asset.Kind.VIDEO:
        poster = shaped.get("posterUrl")
        return {"coverUrl": poster, "thumbnailUrl": shaped["thumbnailUrl"] or poster}
    return {"coverUrl": shaped["url"], "thumbnailUrl": shaped["thumbnailUrl"] or shaped["url"]}


def template_items(templates: list[Template]) -> list[dict[str, Any]]:
    covers = _covers(templates)
    items = []
    for template in templates:
        quote = estimate(template.nodes, edges=template.edges)
        builtin = isinstance(template, Starter)
        item = {
            "id": str(template.id),
            "name": template.name,
            "description": template.description,
            "tags": list(template.tags),
            "source": "builtin" if builtin else "team",
            "teamId": None if builtin else template.team_id,
            "estimatedCredits": quote["estimatedCredits"],
            "estimateComplete": quote["estimateComplete"],
            "nodeCount": len(template.nodes),
            "models": _chain(template.nodes),
            **_cover(None if builtin else covers.get(template.cover_asset_id)),
            "sampleBatch": template.batch if builtin else [],
            "sourceWorkflowId": None if builtin or template.source_workflow_id is None
            else str(template.source_workflow_id),
            "createdAt": None if builtin else format_timestamp(template.created_at),
        }
        items.append(item)
    return items


def template_cover_pick(*, principal: Principal, workflow: Workflow,
                        asset_id: Any = None) -> uuid.UUID | None:
    """The cover of a template saved from `workflow`: the asset named (one of the workflow's
    team's), else the newest output of the workflow's runs (an image, else a video's poster),
    else none."""
    assets = Asset.objects.filter(team_id=workflow.team_id)
    if asset_id is not None:
        try:
            pk = uuid.UUID(str(asset_id))
        except ValueError:
            raise ApiError("coverAssetId must be a UUID", code="invalid_request") from None
        asset = assets.filter(pk=pk).first()
        if asset is None:
            raise ApiError("coverAssetId is not an asset of this workflow's team",
                           code="not_found", status=404)
        return asset.pk
    outputs = assets.filter(node_run__execution__workflow=workflow).order_by("-created_at")
    asset = outputs.filter(kind=Asset.Kind.IMAGE).first() or outputs.exclude(poster="").first()
    return asset.pk if asset is not None else None
