"""Reads on executions: scoped to the principal's teams, shaped as api.md's poll response."""

from __future__ import annotations

import json
import uuid
from typing import Any

import networkx as nx
from django.core.serializers.json import DjangoJSONEncoder

from accounts.roles import Scope
from accounts.selectors import Principal
from executions import fanout, pins, pollcache
from executions.assets import asset_api
from executions.models import NODE_DONE, RUN_SNAPSHOT, Asset, Batch, Execution, NodeRun, NodeStatus
from executions.outputs import output_asset_ids, output_shape
from executions.pricing import estimate
from executions.sizing import known_sizes
from graph.catalog import catalog
from graph.models import Workflow
from graph.services import format_timestamp
from graph.validation import effective_config
from wireflow_site.errors import ApiError, NotFound


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
    return round(sum(1 for s in statuses if s in NODE_DONE) / len(statuses), 3)


def _time(value) -> str | None:
    return format_timestamp(value) if value else None


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
    asset_ids = [pk for run in runs for pk in output_asset_ids(run.outputs)]
    assets = {str(a.pk): a for a in Asset.objects.filter(pk__in=asset_ids)}
    node_runs, node_states = [], []
    branches: dict[str, list[tuple[NodeRun, dict[str, Any]]]] = {}
    summarised: dict[str, dict[str, Any]] = {}
    final = None
    for run in runs:
        output = output_shape(run.outputs, assets)
        media = output["images"] + output["videos"] + output["audios"]
        urls = [item["url"] for item in media]
        thumbnails = [item["thumbnailUrl"] for item in media]
        if media:
            final = {"url": media[0]["url"], "thumbnailUrl": media[0]["thumbnailUrl"],
                     "posterUrl": media[0].get("posterUrl")}
        node_runs.append({
            "nodeId": run.node_id,
            "nodeType": run.node_type,
            "label": run.label,
            "status": run.status,
            "progress": round(run.progress, 3),
            "output": output,
            "error": run.error or None,
            "credits": run.credits,
            "seed": run.seed,
            "cached": run.status == NodeStatus.CACHED,
            "pinned": run.pinned,
            "simulated": run.simulated,
            "startTime": _time(run.started_at),
            "endTime": _time(run.finished_at),
            "itemIndex": run.item_index,  # (addition) a fanned node's item of its list
        })
        state = {
            "nodeId": run.node_id,
            "label": run.label,
            "status": run.status,
            "error": run.error or None,
            "outputUrl": urls[0] if urls else None,
            "outputUrls": urls,
            "thumbnailUrl": thumbnails[0] if thumbnails else None,
            "thumbnailUrls": thumbnails,
            "posterUrl": media[0].get("posterUrl") if media else None,
            "text": output["text"],
            "seed": run.seed,
        }
        if run.item_index is None:
            node_states.append(state)
        else:  # one state per node: its branches, summarised
            branches.setdefault(run.node_id, []).append((run, state))
            if run.node_id not in summarised:
                summarised[run.node_id] = {"nodeId": run.node_id}
                node_states.append(summarised[run.node_id])
    for node_id, found in branches.items():
        summarised[node_id].update(_branches_state(found))
    _collect_states(execution, runs, node_states)
    return {
        "executionId": str(execution.pk),
        "workflowId": str(execution.workflow_id) if execution.workflow_id else None,
        "status": execution.status,
        "progress": round(sum(1 for r in runs if r.status in NODE_DONE) / len(runs), 3) if runs
        else 1.0,
        "nodeResults": {"nodeRuns": node_runs},
        "nodeStates": node_states,
        "finalOutput": final,
        "error": execution.error or None,
        "credits": {"charged": execution.credits_charged,
                    "estimated": execution.credits_estimated},
        "simulated": execution.simulated,
        "staleDependencies": execution.stale_dependencies,
        "seq": execution.seq,
        "startTime": _time(execution.started_at),
        "endTime": _time(execution.finished_at),
        "createdAt": _time(execution.created_at),
    }


_ACTIVE = (NodeStatus.PENDING, NodeStatus.QUEUED, NodeStatus.RUNNING)
_GATHERED = (NodeStatus.COMPLETED, NodeStatus.CACHED)


def _items_count(statuses: list[str]) -> dict[str, int]:
    return {"total": len(statuses),
            "completed": sum(1 for status in statuses if status in _GATHERED),
            "failed": sum(1 for status in statuses if status in (NodeStatus.FAILED,
                                                                  NodeStatus.SKIPPED)),
            "running": sum(1 for status in statuses if status == NodeStatus.RUNNING),
            "waiting": sum(1 for status in statuses if status in (NodeStatus.PENDING,
                                                                   NodeStatus.QUEUED))}


def _branches_state(found: list[tuple[NodeRun, dict[str, Any]]]) -> dict[str, Any]:
    """A fanned node's nodeState: its items' outputs in item order, a status for the whole
    (running while any item is; failed only if every item failed) and `items` (addition)."""
    found = sorted(found, key=lambda pair: pair[0].item_index)
    statuses = [run.status for run, _ in found]
    counts = _items_count(statuses)
    if any(status in _ACTIVE for status in statuses):
        status = (NodeStatus.RUNNING if counts["running"] or len(statuses) > counts["waiting"]
                  else statuses[0])
    elif NodeStatus.CANCELLED in statuses:
        status = NodeStatus.CANCELLED
    elif all(status == NodeStatus.SKIPPED for status in statuses):
        status = NodeStatus.SKIPPED
    elif not counts["completed"]:
        status = NodeStatus.FAILED
    elif all(s == NodeStatus.CACHED for s in statuses):
        status = NodeStatus.CACHED
    else:
        status = NodeStatus.COMPLETED
    first = found[0][1]
    urls = [url for _, state in found for url in state["outputUrls"]]
    thumbnails = [url for _, state in found for url in state["thumbnailUrls"]]
    failed = next((state["error"] for run, state in found if run.status == NodeStatus.FAILED),
                  None) or next((state["error"] for _, state in found if state["error"]), None)
    return {
        "label": first["label"], "status": status,
        "error": f"{counts['failed']} of {counts['total']} items failed"
        + (f" (first: {failed})" if failed else "") if counts["failed"] else None,
        "outputUrl": urls[0] if urls else None, "outputUrls": urls,
        "thumbnailUrl": thumbnails[0] if thumbnails else None, "thumbnailUrls": thumbnails,
        "posterUrl": first["posterUrl"],
        "text": next((state["text"] for _, state in found if state["text"]), None),
        "texts": [state["text"] for _, state in found],
        "seed": first["seed"], "items": counts,
    }


def _collect_states(execution: Execution, runs: list[NodeRun],
                    node_states: list[dict[str, Any]]) -> None:
    """A Collect node's nodeState says how many items it gathered and how many failed."""
    found = fanout.regions(execution)
    if not found:
        return
    by_id = {state["nodeId"]: state for state in node_states}
    for region in found.values():
        failed = {run.item_index for run in runs if run.node_id in region["nodes"]
                  and run.item_index is not None
                  and run.status in (NodeStatus.FAILED, NodeStatus.SKIPPED)}
        total = region.get("items")
        for node_id in region["collects"]:
            if node_id in by_id and total is not None:
                by_id[node_id]["items"] = {"total": total, "gathered": total - len(failed),
                                           "failed": len(failed)}


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
            "app": {"id": str(execution.app_id), "name": execution.app_name}
            if execution.app_id else None,
            "error": execution.error or None,
            "credits": {"charged": execution.credits_charged},
            "durationSeconds": duration,
            "thumbnailUrl": _history_thumbnail(thumb),
            "simulated": execution.simulated,
            "createdAt": _time(execution.created_at),
            "startTime": _time(execution.started_at),
            "endTime": _time(execution.finished_at),
        })
    return items, total


def _history_thumbnail(asset: Asset | None) -> str | None:
    """The run's first image output small: its 768 px thumbnail, or for an image stored before
    thumbnails existed the image itself (as the history gave before)."""
    if asset is None:
        return None
    shaped = asset_api(asset)
    return shaped["thumbnailUrl"] or shaped["url"]


def execution_run_summary(execution: Execution, batch_id: str | None) -> dict[str, Any]:
    """One run as the execute response's `executionRuns` lists it."""
    payload = execution_poll_payload(execution)
    return {
        "id": str(execution.pk), "status": execution.status,
        "startTime": payload["startTime"], "endTime": payload["endTime"],
        "error": payload["error"], "batchId": batch_id,
        "runIndexInBatch": execution.run_index_in_batch,
        "nodeRuns": payload["nodeResults"]["nodeRuns"],
        "staleDependencies": payload["staleDependencies"],
    }


# --- what a run of a workflow takes and costs ------------------------------------------------

def workflow_run_inputs(*, workflow: Workflow) -> list[dict[str, Any]]:
    """The inputs a run of the workflow takes: one per input node with a setting."""
    inputs = []
    for node in workflow.nodes:
        # A draft (saved with ?strict=false) may hold malformed nodes: they take no input.
        data = node.get("data") if isinstance(node, dict) else None
        spec = catalog.get(data.get("nodeType")) if isinstance(data, dict) else None
        if spec is None or spec.category != "input" or not spec.settings():
            continue
        main = spec.settings()[0]
        config = effective_config(node, spec)
        inputs.append({
            "nodeId": node.get("id"), "label": data.get("label") or spec.label,
            "type": spec.outputs[0].type if spec.outputs else main.type,
            "required": main.required, "description": main.description or spec.description,
            "default": config.get(main.id, main.default),
        })
    return inputs


def workflow_input_node_ids(*, workflow: Workflow) -> set[str]:
    """Ids of the workflow's input nodes (a webhook body's keys that fill them)."""
    ids = set()
    for node in workflow.nodes:
        if not _well_formed(node, "data"):  # a draft's malformed node is no input
            continue
        spec = catalog.get((node.get("data") or {}).get("nodeType"))
        if spec is not None and spec.category == "input":
            ids.add(node.get("id"))
    return ids


def ancestors_and_self(nodes: list[dict], edges: list[dict], node_id: str) -> set[str]:
    """The node and everything upstream of it (for pricing a targeted run)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(n.get("id") for n in nodes if isinstance(n, dict))
    graph.add_edges_from((e.get("source"), e.get("target")) for e in edges
                         if isinstance(e, dict))
    if node_id not in graph:
        raise ApiError(f"Node {node_id} not found", code="node_not_found", status=404)
    return nx.ancestors(graph, node_id) | {node_id}


def _well_formed(item: Any, *objects: str) -> bool:
    """A node or edge shaped enough to read: an object with a string id (and these keys, if
    present, objects)."""
    return isinstance(item, dict) and isinstance(item.get("id"), str) and all(
        isinstance(item.get(key), dict) for key in objects if key in item)


def _unpinned(workflow: Workflow, nodes: list[dict], edges: list[dict],
              only: set[str] | None) -> tuple[set[str] | None, dict[str, Any]]:
    """The nodes a run would price once pinned nodes, and what only feeds them, are left out
    (as executions.planner does), and the pinned nodes' runs."""
    ids = only if only is not None else {node["id"] for node in nodes}
    pinned = pins.pinned_sources(workflow.team, [n for n in nodes if n["id"] in ids])
    if not pinned:
        return only, pinned
    successors: dict[str, list[str]] = {node_id: [] for node_id in ids}
    for edge in edges:
        if edge["source"] in ids and edge["target"] in ids:
            successors[edge["source"]].append(edge["target"])
    return ids - set(pinned) - pins.only_feeding(set(pinned), successors), pinned


def workflow_estimate(*, principal: Principal, workflow: Workflow, nodes: list[dict],
                      edges: list[dict] | None, target_node_id: str | None) -> dict[str, Any]:
    """What a run of these nodes would cost (only the target's ancestors with a target), and
    whether the team's balance covers it: the estimate endpoint's `data`. The balance itself
    (`availableCredits`) only for those who may read the team's usage, else null."""
    # Unsaved or draft graphs may hold malformed nodes and edges: only well-formed ones are
    # priced (validation, not the estimate, names the rest).
    nodes = [node for node in nodes if _well_formed(node, "data")]
    edges = [edge for edge in edges or [] if _well_formed(edge)
             and isinstance(edge.get("source"), str) and isinstance(edge.get("target"), str)]
    only = ancestors_and_self(nodes, edges, target_node_id) if target_node_id else None
    only, pinned = _unpinned(workflow, nodes, edges, only)
    # Our files' sizes (an Image Input's upload or earlier output, a pinned output) are read
    # off the team's assets, as the run would take them: such a quote is exact.
    price = estimate(nodes, only=only, edges=edges,
                     sizes=known_sizes(workflow.team_id, nodes, pinned))
    available = workflow.team.credit_balance
    return {
        "workflowId": str(workflow.pk),
        "estimatedCredits": price["estimatedCredits"],
        "availableCredits": available if principal.can(workflow.team_id, Scope.USAGE_READ)
        else None,
        "sufficient": available >= price["estimatedCredits"],
        "estimateComplete": price["estimateComplete"],
        "breakdown": price["breakdown"],
        "warnings": price["warnings"],
    }


# --- batches ---------------------------------------------------------------------------------

def batch_get(*, principal: Principal, batch_id: str) -> Batch:
    try:
        batch = Batch.objects.filter(pk=uuid.UUID(batch_id),
                                     team_id__in=principal.team_ids()).first()
    except ValueError:
        batch = None
    if batch is None:
        raise NotFound("Batch")
    return batch


def batch_latest_runs(batch: Batch) -> dict[int, Execution]:
    """The newest run of every index (a retry supersedes the failed run)."""
    latest: dict[int, Execution] = {}
    for execution in batch.executions.order_by("created_at"):
        latest[execution.run_index_in_batch] = execution
    return latest


def batch_summary(batch: Batch) -> dict[str, Any]:
    """A batch's overall status, counts by status and the latest run of each item."""
    latest = batch_latest_runs(batch)
    counts: dict[str, int] = {}
    for run in latest.values():
        counts[run.status] = counts.get(run.status, 0) + 1
    active = counts.get("QUEUED", 0) + counts.get("RUNNING", 0)
    overall = "RUNNING" if active else ("COMPLETED" if counts.get("COMPLETED", 0) == len(latest)
                                        else "FAILED")
    return {
        "batchId": str(batch.pk),
        "workflowId": str(batch.workflow_id) if batch.workflow_id else None,
        "status": overall,
        "total": len(batch.items),
        "counts": counts,
        "runs": [{"id": str(run.pk), "runIndexInBatch": index, "status": run.status,
                  "error": run.error or None} for index, run in sorted(latest.items())],
    }


def workflow_latest_outputs(*, workflow: Workflow, recent: int = 50
                            ) -> dict[str, dict[str, Any]]:
    """Per node of the saved graph, what its latest completed (or cached) run made, among the
    workflow's `recent` runs: `{"assets": [Asset…], "text": str | None}`. The assets are the
    workflow's team's only. For the share page, which serves them by its own URLs."""
    node_ids = {node.get("id") for node in workflow.nodes if isinstance(node, dict)}
    executions = Execution.objects.filter(workflow=workflow).order_by("-created_at")[:recent]
    runs = (NodeRun.objects.filter(execution__in=list(executions.values_list("pk", flat=True)),
                                   node_id__in=node_ids,
                                   status__in=(NodeStatus.COMPLETED, NodeStatus.CACHED))
            .order_by("-execution__created_at").only("node_id", "outputs"))
    latest: dict[str, NodeRun] = {}
    for run in runs:
        latest.setdefault(run.node_id, run)
    ids = [pk for run in latest.values() for pk in output_asset_ids(run.outputs)]
    assets = {str(a.pk): a for a in Asset.objects.filter(pk__in=ids, team_id=workflow.team_id)}
    shown = {}
    for node_id, run in latest.items():
        found = [assets[pk] for pk in output_asset_ids(run.outputs) if pk in assets]
        text = output_shape(run.outputs, {})["text"] if not found else None
        if found or text:
            shown[node_id] = {"assets": found, "text": text}
    return shown
