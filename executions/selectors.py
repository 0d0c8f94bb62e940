"""Reads on executions: scoped to the principal's teams, shaped as api.md's poll response."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from accounts.selectors import Principal
from executions import pollcache
from executions.assets import asset_api
from executions.models import RUN_SNAPSHOT, Asset, Execution, NodeRun, NodeStatus
from graph.services import format_timestamp
from wireflow_site.errors import NotFound

DONE = {NodeStatus.COMPLETED, NodeStatus.CACHED, NodeStatus.FAILED, NodeStatus.SKIPPED,
        NodeStatus.CANCELLED}


def execution_get(*, principal: Principal, execution_id: Any) -> Execution:
    """One run of the principal's teams, without its graph snapshot (polls do not need it)."""
    try:
        return Execution.objects.defer(*RUN_SNAPSHOT).get(
            pk=_execution_pk(execution_id), team_id__in=principal.team_ids())
    except Execution.DoesNotExist:
        raise NotFound("Execution") from None


def _execution_pk(execution_id: Any) -> uuid.UUID:
    try:
        return uuid.UUID(str(execution_id))
    except ValueError:
        raise NotFound("Execution") from None


def execution_latest(*, workflow_id: Any) -> Execution | None:
    return Execution.objects.filter(workflow_id=workflow_id).order_by("-created_at").first()


def execution_progress(execution_id: Any) -> float:
    statuses = list(NodeRun.objects.filter(execution_id=execution_id).values_list("status",
                                                                                 flat=True))
    if not statuses:
        return 1.0
    return round(sum(1 for s in statuses if s in DONE) / len(statuses), 3)


def _time(value) -> str | None:
    return format_timestamp(value) if value else None


def _node_output(run: NodeRun, assets: dict[str, Asset]) -> dict[str, Any]:
    shaped: dict[str, Any] = {"images": [], "videos": [], "text": None}
    for ref in run.outputs.values():
        asset = assets.get(ref.get("asset", ""))
        if asset is not None:
            shaped["images" if asset.kind == Asset.Kind.IMAGE else "videos"].append(
                asset_api(asset)
            )
        elif "text" in ref and shaped["text"] is None:
            shaped["text"] = ref["text"]
    return shaped


def execution_poll(*, principal: Principal, execution_id: Any) -> bytes:
    """The poll response (JSON bytes) of one run of the principal's teams.

    Between state changes a poll is one Redis round trip (executions.pollcache): the run's head
    (team, seq) and the payload cached at that seq; no database. On a miss it reads the run's
    (team, seq) from the database, moves the head there and builds the payload if needed."""
    pk = _execution_pk(execution_id)
    head = pollcache.read(pk)
    if head is None:
        row = next(iter(Execution.objects.filter(pk=pk).values_list("team_id", "seq")), None)
        if row is None:
            raise NotFound("Execution")
        pollcache.advance({pk: row})
        head = pollcache.read(pk) or pollcache.Head(row[0], row[1], None)
    if head.team_id not in principal.grants:
        raise NotFound("Execution")
    if head.payload is not None:
        return head.payload
    execution = execution_get(principal=principal, execution_id=pk)
    payload = _poll_json(execution_poll_payload(execution))
    pollcache.store(pk, execution.seq, payload)
    return payload


def _poll_json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, cls=DjangoJSONEncoder, ensure_ascii=False,
                      separators=(",", ":")).encode()


def execution_poll_payload(execution: Execution) -> dict[str, Any]:
    """The poll response of api.md: nodeResults.nodeRuns, flat nodeStates and finalOutput."""
    runs = list(execution.node_runs.order_by("position"))
    asset_ids = [ref["asset"] for run in runs for ref in run.outputs.values() if "asset" in ref]
    assets = {str(a.pk): a for a in Asset.objects.filter(pk__in=asset_ids)}
    node_runs, node_states = [], []
    final_url = None
    for run in runs:
        output = _node_output(run, assets)
        media = output["images"] + output["videos"]
        urls = [item["url"] for item in media]
        if urls:
            final_url = urls[0]
        node_runs.append({
            "nodeId": run.node_id,
            "nodeType": run.node_type,
            "label": run.label,
            "status": run.status,
            "progress": round(run.progress, 3),
            "output": output,
            "error": run.error or None,
            "credits": run.credits,
            "cached": run.status == NodeStatus.CACHED,
            "simulated": run.simulated,
            "startTime": _time(run.started_at),
            "endTime": _time(run.finished_at),
        })
        node_states.append({
            "nodeId": run.node_id,
            "label": run.label,
            "status": run.status,
            "error": run.error or None,
            "outputUrl": urls[0] if urls else None,
            "outputUrls": urls,
            "text": output["text"],
        })
    return {
        "executionId": str(execution.pk),
        "workflowId": str(execution.workflow_id) if execution.workflow_id else None,
        "status": execution.status,
        "progress": round(sum(1 for r in runs if r.status in DONE) / len(runs), 3) if runs
        else 1.0,
        "nodeResults": {"nodeRuns": node_runs},
        "nodeStates": node_states,
        "finalOutput": {"url": final_url} if final_url else None,
        "error": execution.error or None,
        "credits": {"charged": execution.credits_charged,
                    "estimated": execution.credits_estimated},
        "simulated": execution.simulated,
        "seq": execution.seq,
        "startTime": _time(execution.started_at),
        "endTime": _time(execution.finished_at),
        "createdAt": _time(execution.created_at),
    }


def execution_list(
    *, principal: Principal, workflow_id: str | None = None, status: str | None = None,
    limit: int = 20, offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """History items (newest first) with a thumbnail of the run's first image output."""
    executions = Execution.objects.filter(team_id__in=principal.team_ids())
    if workflow_id:
        try:
            executions = executions.filter(workflow_id=uuid.UUID(str(workflow_id)))
        except ValueError:
            return [], 0
    if status:
        executions = executions.filter(status=status)
    total = executions.count()
    page = list(executions.order_by("-created_at")[offset:offset + limit])
    thumbs = {}
    images = Asset.objects.filter(node_run__execution__in=page, kind=Asset.Kind.IMAGE)
    for asset in images.select_related("node_run").order_by("created_at"):
        thumbs.setdefault(asset.node_run.execution_id, asset)
    items = []
    for execution in page:
        duration = None
        if execution.started_at and execution.finished_at:
            duration = round((execution.finished_at - execution.started_at).total_seconds(), 3)
        thumb = thumbs.get(execution.pk)
        items.append({
            "executionId": str(execution.pk),
            "workflowId": str(execution.workflow_id) if execution.workflow_id else None,
            "status": execution.status,
            "trigger": execution.trigger,
            "error": execution.error or None,
            "credits": {"charged": execution.credits_charged},
            "durationSeconds": duration,
            "thumbnailUrl": asset_api(thumb)["url"] if thumb else None,
            "simulated": execution.simulated,
            "createdAt": _time(execution.created_at),
            "startTime": _time(execution.started_at),
            "endTime": _time(execution.finished_at),
        })
    return items, total
