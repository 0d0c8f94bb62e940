"""Writes on workflows. Every save checks the graph, guards against stale writes and appends
an immutable WorkflowVersion in the same transaction."""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.activity import Kind, activity_record
from accounts.models import Team
from accounts.selectors import Principal
from graph import versions
from graph.merge import MalformedGraph, MergeResult, merge_graphs
from graph.models import Workflow, WorkflowTemplate, WorkflowVersion, new_webhook_id
from graph.starters import Starter
from graph.validation import ValidationResult, validate_graph
from wireflow_site.errors import ApiError

# Problems no draft may be saved with, strict or not.
ALWAYS_REFUSED = {"empty_graph", "too_many_nodes", "too_many_edges", "malformed_graph"}

# Node fields PATCH /workflows/{id}/nodes/{nodeId} may change; everything else is structural.
PATCHABLE_NODE_FIELDS = {"config", "params", "label", "position", "pinned", "baseUpdatedAt"}


def format_timestamp(value: datetime) -> str:
    """ISO 8601 in UTC with microseconds, so a client can echo it back as baseUpdatedAt."""
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace(
        "+00:00", "Z"
    )


def _parse_base(value: Any, field: str = "baseUpdatedAt") -> datetime | None:
    if value in (None, ""):
        return None
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None:
        raise ApiError(
            f"{field} must be an ISO 8601 timestamp, as returned in updatedAt",
            code="invalid_request",
        )
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed


def _guard_stale(workflow: Workflow, base_updated_at: Any,
                 field: str = "baseUpdatedAt") -> None:
    base = _parse_base(base_updated_at, field)
    if base is not None and base < workflow.updated_at:
        raise ApiError(
            "The workflow was saved by someone else since you loaded it",
            code="stale_write",
            status=409,
            currentUpdatedAt=format_timestamp(workflow.updated_at),
            yourBaseUpdatedAt=base_updated_at,
            currentVersion=workflow.version,
        )


def check_graph(
    nodes: Any, edges: Any, *, strict: bool, only_node: str | None = None
) -> ValidationResult:
    """Validate; raise 422 for violations (all of them in strict mode, else only the fatal).

    With `only_node`, strict mode refuses only violations that point at that node, so
    patching one node of a draft is not blocked by problems elsewhere.
    """
    result = validate_graph(nodes, edges)
    blocking = [
        v
        for v in result.violations
        if v["rule"] in ALWAYS_REFUSED
        or (strict and (only_node is None or v.get("nodeId") == only_node))
    ]
    if blocking:
        raise ApiError(
            f"Workflow graph failed validation ({len(blocking)} error"
            f"{'s' if len(blocking) != 1 else ''})",
            code="invalid_graph",
            status=422,
            violations=blocking,
            warnings=result.warnings,
        )
    return result


def _log(workflow: Workflow, kind: str, actor: Principal | None, *, user=None,
         details: dict | None = None) -> None:
    """The workflow's line in its team's activity log, in the caller's transaction. `actor`
    None: an operator (admin, the command line), or `user` when admin says who."""
    api_key = getattr(actor, "api_key", None)
    user = getattr(actor, "user", None) or user
    source = "api" if api_key is not None else "editor" if actor is not None else "admin"
    activity_record(team_id=workflow.team_id, kind=kind, user=user, api_key=api_key,
                    source=source, workflow_id=workflow.pk, workflow_name=workflow.name,
                    details=details)


def _write_version(workflow: Workflow, *, source: str, valid: bool, actor: Principal,
                   note: str = "") -> None:
    versions.version_write(workflow=workflow, source=source, valid=valid, actor=actor,
                           note=note)


def workflow_create(
    *,
    team: Team,
    actor: Principal,
    name: str,
    nodes: list,
    edges: list,
    description: str = "",
    tags: list[str] | None = None,
    is_active: bool = True,
    strict: bool = True,
    source: str = WorkflowVersion.Source.CREATE,
    log_details: dict | None = None,
) -> tuple[Workflow, ValidationResult]:
    result = check_graph(nodes, edges, strict=strict)
    now = timezone.now()
    with transaction.atomic():
        workflow = Workflow.objects.create(
            team=team,
            name=name,
            description=description,
            tags=list(tags or []),
            is_active=is_active,
            nodes=nodes,
            edges=edges,
            created_by=actor.user,
            created_at=now,
            updated_at=now,
        )
        _write_version(workflow, source=source, valid=result.ok, actor=actor)
        workflow.save(update_fields=["version"])
        _log(workflow, Kind.WORKFLOW_DUPLICATED if source == WorkflowVersion.Source.DUPLICATE
             else Kind.WORKFLOW_CREATED, actor, details=log_details)
    return workflow, result


def workflow_update(
    *,
    workflow: Workflow,
    actor: Principal,
    changes: dict[str, Any],
    base_updated_at: Any = None,
    strict: bool = True,
    source: str = WorkflowVersion.Source.UPDATE,
    log: bool = True,
    note: str = "",
) -> tuple[Workflow, ValidationResult]:
    """Apply `changes` (model field names: name, description, tags, is_active, nodes, edges).

    A graph left out of `changes` keeps the saved one; the stored graph is still checked so the
    response can report its warnings.
    """
    nodes = changes.get("nodes", workflow.nodes)
    edges = changes.get("edges", workflow.edges)
    graph_changed = "nodes" in changes or "edges" in changes
    result = check_graph(nodes, edges, strict=strict and graph_changed)
    with transaction.atomic():
        locked = Workflow.objects.select_for_update().get(pk=workflow.pk)
        _guard_stale(locked, base_updated_at)
        old_name = locked.name
        changed = {field for field, value in changes.items() if getattr(locked, field) != value}
        for field, value in changes.items():
            setattr(locked, field, value)
        locked.updated_at = max(timezone.now(), locked.updated_at)
        _write_version(locked, source=source, valid=result.ok, actor=actor, note=note)
        locked.save()
        if log and "name" in changed:
            _log(locked, Kind.WORKFLOW_RENAMED, actor, details={"from": old_name})
        if log and changed - {"name"}:
            _log(locked, Kind.WORKFLOW_EDITED, actor)
    return locked, result


def workflow_patch_node(
    *,
    workflow: Workflow,
    actor: Principal,
    node_id: str,
    patch: dict[str, Any],
    strict: bool = True,
) -> tuple[dict[str, Any], Workflow]:
    """Shallow-merge one node's config/params (null deletes a key); replace label/position;
    set or clear its pin."""
    structural = sorted(set(patch) - PATCHABLE_NODE_FIELDS)
    if structural:
        raise ApiError(
            f"Cannot change {', '.join(structural)} with PATCH; only config, params, label, "
            f"position and pinned. Use PUT /workflows/{workflow.pk} to change the graph's "
            "structure.",
            code="immutable_field",
            fields=structural,
        )
    with transaction.atomic():
        locked = Workflow.objects.select_for_update().get(pk=workflow.pk)
        _guard_stale(locked, patch.get("baseUpdatedAt"))
        nodes = copy.deepcopy(locked.nodes)
        node = next(
            (n for n in nodes if isinstance(n, dict) and n.get("id") == node_id), None
        )
        if node is None:
            raise ApiError(f"Node {node_id} not found in this workflow", code="not_found",
                           status=404)
        data = node.setdefault("data", {})
        if not isinstance(data, dict):
            data = node["data"] = {}
        for key in ("config", "params"):
            if key in patch:
                _merge_settings(data, key, patch[key])
        if "label" in patch:
            if not isinstance(patch["label"], str):
                raise ApiError("label must be a string", code="invalid_request")
            data["label"] = patch["label"]
        if "position" in patch:
            node["position"] = _position(patch["position"])
        if "pinned" in patch:
            _set_pin(data, patch["pinned"])
        result = check_graph(nodes, locked.edges, strict=strict, only_node=node_id)
        locked.nodes = nodes
        locked.updated_at = max(timezone.now(), locked.updated_at)
        _write_version(
            locked, source=WorkflowVersion.Source.PATCH_NODE, valid=result.ok, actor=actor
        )
        locked.save()
        _log(locked, Kind.WORKFLOW_EDITED, actor)
    return node, locked


def _set_pin(data: dict, pin: Any) -> None:
    """Pin the node to the output it made in a run (`{"executionId"}`), or unpin it (null).
    Whether that run made one is checked when a run uses the pin (executions.pins)."""
    if pin is None:
        data.pop("pinned", None)
        return
    run_id = pin.get("executionId") if isinstance(pin, dict) else None
    try:
        valid = isinstance(run_id, str) and set(pin) == {"executionId"} and bool(
            uuid.UUID(run_id))
    except ValueError:
        valid = False
    if not valid:
        raise ApiError('pinned must be {"executionId": "<id of a run of this node>"} or null',
                       code="invalid_request")
    data["pinned"] = {"executionId": str(uuid.UUID(run_id))}


def _merge_settings(data: dict, key: str, changes: Any) -> None:
    if not isinstance(changes, dict):
        raise ApiError(f"{key} must be an object", code="invalid_request")
    current = data.get(key) if isinstance(data.get(key), dict) else {}
    merged = dict(current)
    for name, value in changes.items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    data[key] = merged


def _position(value: Any) -> dict[str, float]:
    if (
        not isinstance(value, dict)
        or set(value) - {"x", "y"}
        or not all(
            isinstance(value.get(axis), (int, float)) and not isinstance(value.get(axis), bool)
            for axis in ("x", "y")
        )
    ):
        raise ApiError('position must be {"x": number, "y": number}', code="invalid_request")
    return {"x": value["x"], "y": value["y"]}


def workflow_duplicate(*, workflow: Workflow, actor: Principal,
                       name: str | None = None) -> Workflow:
    copy_of, _ = workflow_create(
        team=workflow.team,
        actor=actor,
        name=name or f"{workflow.name} (copy)",
        description=workflow.description,
        tags=list(workflow.tags),
        is_active=workflow.is_active,
        nodes=copy.deepcopy(workflow.nodes),
        edges=copy.deepcopy(workflow.edges),
        strict=False,
        source=WorkflowVersion.Source.DUPLICATE,
    )
    return copy_of


def workflow_duplicate_shared(*, workflow: Workflow, team: Team, actor: Principal) -> Workflow:
    """"Duplicate into my team" from a share page: a new workflow in `team` holding what the
    page shows (public_graph: no secrets, no pins), never the original's hidden settings."""
    shown = public_graph(workflow)
    copy_of, _ = workflow_create(
        team=team, actor=actor, name=f"{workflow.name} (copy)"[:200],
        description=shown["description"], tags=shown["tags"],
        nodes=shown["nodes"], edges=shown["edges"], strict=False,
        source=WorkflowVersion.Source.DUPLICATE,
        log_details={"sharedFrom": str(workflow.pk)},
    )
    return copy_of


def workflow_restore_version(*, workflow: Workflow, version: WorkflowVersion,
                             actor: Principal) -> tuple[Workflow, ValidationResult]:
    """Make an earlier version the current graph, as a new version (nothing is overwritten:
    every version in between stays)."""
    with transaction.atomic():
        restored, result = workflow_update(
            workflow=workflow, actor=actor, strict=False,
            changes={"nodes": copy.deepcopy(version.nodes), "edges": copy.deepcopy(version.edges)},
            source=WorkflowVersion.Source.RESTORE, log=False)
        versions.version_keep(version)  # the log names it: it is not coalesced away
        _log(restored, Kind.VERSION_RESTORED, actor,
             details={"number": version.number, "as": restored.version})
    return restored, result


MERGE_STRATEGIES = ("preview", "merge", "mine", "theirs")


def workflow_merge(*, workflow: Workflow, actor: Principal, base: dict[str, Any],
                   mine: dict[str, Any], strategy: str = "preview",
                   theirs_updated_at: Any = None) -> tuple[MergeResult, dict[str, Any],
                                                           Workflow | None]:
    """Resolve an editor's save that a teammate's save (theirs: the workflow as it is now)
    overtook, `base` being the graph the editor started from. "preview" writes nothing;
    "merge" saves both sides' changes as one new version (refused with the conflicts when
    they touch the same field); "mine" saves mine over theirs; "theirs" saves mine as a
    version and then theirs again on top. Each writes versions that are never coalesced
    away, so theirs and mine both stay in the history. With `theirs_updated_at` (the
    theirs the user saw), a save made since is a 409 stale_write. Returns the merge, what
    theirs was ({"version", "updatedAt", "author"}) and the saved workflow (None: preview)."""
    if strategy not in MERGE_STRATEGIES:
        raise ApiError(f"strategy must be one of {', '.join(MERGE_STRATEGIES)}",
                       code="invalid_request", field="strategy")
    with transaction.atomic():
        locked = (Workflow.objects.select_for_update() if strategy != "preview"
                  else Workflow.objects).get(pk=workflow.pk)
        if strategy != "preview":
            _guard_stale(locked, theirs_updated_at, "theirsUpdatedAt")
        try:
            merged = merge_graphs(base=base, mine=mine,
                                  theirs={"nodes": locked.nodes, "edges": locked.edges})
        except MalformedGraph as error:
            raise ApiError(f"Cannot merge: {error}", code="invalid_request") from None
        latest = (WorkflowVersion.objects.select_related("created_by", "api_key")
                  .filter(workflow=locked, number=locked.version).first())
        author = versions.version_author(latest) if latest else "operator"
        theirs = {"version": locked.version, "updatedAt": format_timestamp(locked.updated_at),
                  "author": author}
        if strategy == "preview":
            return merged, theirs, None
        of = f"v{locked.version} by {author}"
        conflicts = [c.as_json() for c in merged.conflicts]
        if strategy == "merge" and conflicts:
            raise ApiError(
                f"Both of you changed the same thing ({len(conflicts)} conflict"
                f"{'s' if len(conflicts) != 1 else ''}); keep yours or take theirs",
                code="merge_conflict", status=409, conflicts=conflicts,
                currentUpdatedAt=theirs["updatedAt"], currentVersion=locked.version)

        def write(graph: dict[str, Any], note: str) -> Workflow:
            saved, _ = workflow_update(
                workflow=locked, actor=actor, strict=False,
                changes={"nodes": graph["nodes"], "edges": graph["edges"]},
                source=WorkflowVersion.Source.MERGE, note=note)
            return saved

        if strategy == "merge":
            saved = write({"nodes": merged.nodes, "edges": merged.edges}, f"merged with {of}")
        elif strategy == "mine":
            saved = write(mine, f"kept mine over {of}")
        else:
            their_graph = {"nodes": copy.deepcopy(locked.nodes),
                           "edges": copy.deepcopy(locked.edges)}
            write(mine, f"mine, set aside for {of}")
            saved = write(their_graph, f"took {of}")
    return merged, theirs, saved


# Told of each workflow deleted, inside the deleting transaction (executions subscribes: a
# deleted workflow's runs and files go, executions.retention); the graph knows nothing of runs.
_on_deleted: list[Callable[[Workflow], None]] = []


def on_workflow_deleted(callback: Callable[[Workflow], None]) -> None:
    _on_deleted.append(callback)


def workflow_delete(*, workflow: Workflow, actor: Principal | None = None) -> None:
    """Hide the workflow from every API and page; versions are kept for an operator's restore.
    Its runs and their files are deleted by its subscribers (see `on_workflow_deleted`)."""
    with transaction.atomic():
        hidden = Workflow.objects.filter(pk=workflow.pk, deleted_at__isnull=True).update(
            deleted_at=timezone.now()
        )
        if hidden:
            _log(workflow, Kind.WORKFLOW_DELETED, actor)
            for callback in _on_deleted:
                callback(workflow)


def workflow_restore(*, workflow: Workflow, user=None) -> None:
    """Bring a deleted workflow back (admin's "Restore"; `user` the operator)."""
    with transaction.atomic():
        if Workflow.objects.filter(pk=workflow.pk, deleted_at__isnull=False).update(
                deleted_at=None):
            _log(workflow, Kind.WORKFLOW_RESTORED, None, user=user)


def workflow_rotate_webhook(*, workflow: Workflow, actor: Principal | None = None,
                            user=None) -> Workflow:
    with transaction.atomic():
        workflow.webhook_id = new_webhook_id()
        workflow.save(update_fields=["webhook_id"])
        _log(workflow, Kind.WEBHOOK_ROTATED, actor, user=user)
    return workflow


SECRET_WORDS = ("key", "token", "secret", "password", "credential", "auth")


def workflow_set_visibility(*, workflow: Workflow, visibility: Any,
                            actor: Principal | None = None) -> Workflow:
    if visibility not in ("view", "private"):
        raise ApiError('visibility must be "view" or "private"', code="invalid_request")
    with transaction.atomic():
        before = workflow.link_permission
        workflow.link_permission = visibility
        workflow.save(update_fields=["link_permission"])
        if before != visibility:
            _log(workflow, Kind.VISIBILITY_CHANGED, actor,
                 details={"from": before, "to": visibility})
    return workflow


# Values that look like credentials, wherever they appear in a shared setting (a prompt with
# a key pasted into it included): API keys of ours and of the vendors, bearer tokens, JWTs,
# long hex or base64 tokens, and signed URLs (an upload's URL in an Image input is private).
_KEY_LIKE = re.compile(
    r"\b(?:sk|pk|rk|whsec)[-_][A-Za-z0-9_-]{12,}"
    r"|\bBearer\s+\S+"
    r"|\bAKIA[0-9A-Z]{16}\b"
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}"
    r"|\bxox[abprs]-[A-Za-z0-9-]{10,}"
    r"|\bAIza[0-9A-Za-z_-]{30,}"
    r"|\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
    r"|\b[A-Fa-f0-9]{32,}\b"
    r"|(?<![A-Za-z0-9_/+-])(?=[A-Za-z0-9_+/-]*[0-9])(?=[A-Za-z0-9_+/-]*[A-Za-z])"
    r"[A-Za-z0-9_+/-]{40,}={0,2}"
    r"|\bhttps?://\S*[?&](?:signature|X-Amz-Signature|sig|token|key)=\S*",
    re.IGNORECASE,
)
HIDDEN = "[hidden]"
# What a shared node keeps of its `data`: no pins (they name runs), outputs or anything else.
PUBLIC_NODE_DATA = ("label", "nodeType", "category", "config", "params")


def public_value(value: Any) -> Any:
    """A setting's value as a shared page may show it: key-like strings hidden, nested values
    checked the same way, settings named like secrets dropped."""
    if isinstance(value, str):
        return _KEY_LIKE.sub(HIDDEN, value)
    if isinstance(value, dict):
        return {k: public_value(v) for k, v in value.items()
                if not any(word in str(k).lower() for word in SECRET_WORDS)}
    if isinstance(value, list):
        return [public_value(v) for v in value]
    return value


def public_graph(workflow: Workflow) -> dict[str, Any]:
    """The graph as a shared page (and a duplicate made from it) shows it: each node's id,
    position, label, type and settings, with settings named like secrets left out and
    key-like values hidden; nothing else of the node's data."""
    nodes = []
    for node in workflow.nodes:
        if not isinstance(node, dict):
            continue
        data = node.get("data") if isinstance(node.get("data"), dict) else {}
        shown = {k: data[k] for k in PUBLIC_NODE_DATA if k in data}
        for key in ("config", "params"):
            if key in shown:
                shown[key] = public_value(shown[key]) if isinstance(shown[key], dict) else {}
        if isinstance(shown.get("label"), str):
            shown["label"] = public_value(shown["label"])
        nodes.append({"id": node.get("id"), "type": node.get("type", "basedNode"),
                      "position": node.get("position"), "data": shown})
    edges = [{k: edge.get(k) for k in ("id", "source", "sourceHandle", "target", "targetHandle")}
             for edge in workflow.edges if isinstance(edge, dict)]
    return {"id": str(workflow.pk), "name": workflow.name,
            "description": public_value(workflow.description), "tags": list(workflow.tags),
            "nodes": nodes, "edges": edges}


def template_save(*, workflow: Workflow, actor: Principal, name: str | None = None,
                  description: str | None = None,
                  cover_asset_id: uuid.UUID | None = None) -> WorkflowTemplate:
    """"Save as template": a copy of the workflow's graph as it is now, for its team. The
    caller has checked that the cover is one of the team's assets."""
    check_graph(workflow.nodes, workflow.edges, strict=False)  # never an empty graph
    nodes = copy.deepcopy(workflow.nodes)
    for node in nodes:  # a pin names a run of this workflow: no template carries one
        if isinstance(node, dict) and isinstance(node.get("data"), dict):
            node["data"].pop("pinned", None)
    return WorkflowTemplate.objects.create(
        team_id=workflow.team_id,
        name=name or workflow.name,
        description=workflow.description if description is None else description,
        tags=list(workflow.tags),
        nodes=nodes,
        edges=copy.deepcopy(workflow.edges),
        source_workflow=workflow,
        cover_asset_id=cover_asset_id,
        created_by=actor.user,
    )


def template_clone(*, template: Starter | WorkflowTemplate, team: Team, actor: Principal,
                   name: str | None = None) -> Workflow:
    """"Use template": a new workflow in `team` holding a copy of the template's graph. A
    built-in starter is valid by construction (checked strictly); a team's template may hold
    a draft, as the workflow it was saved from could."""
    builtin = isinstance(template, Starter)
    workflow, _ = workflow_create(
        team=team,
        actor=actor,
        name=name or template.name,
        description=template.description,
        tags=list(template.tags),
        nodes=copy.deepcopy(template.nodes),
        edges=copy.deepcopy(template.edges),
        strict=builtin,
        source=WorkflowVersion.Source.TEMPLATE,
        log_details={"template": str(template.id), "templateName": template.name},
    )
    return workflow


def template_delete(*, template: WorkflowTemplate) -> None:
    template.delete()
