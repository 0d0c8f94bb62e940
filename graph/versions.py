"""A workflow's version history: how saves become versions (autosaves coalesced per editing
burst, named versions kept), and the reads the editor's panel, the history page and the API
show (the list with a change summary per version, one version with its diff).

Every save appends a WorkflowVersion, so the latest graph is always a version. Autosave saves
every 1.5 s while someone edits; consecutive edits by one author coalesce: a save that
continues a burst (same author, within `IDLE_GAP` of the last save, the burst younger than
`BURST_MAX`) takes the place of the burst's previous version, which is marked superseded and
deleted `GRACE` later (a run being started from it in that moment still finds its row).
Never coalesced away: a named version, one a run was started from (see `on_version_in_use`),
one restored from, and anything but an edit (create, duplicate, restore, template)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.activity import Kind, activity_by_principal
from accounts.selectors import Principal
from graph.models import Workflow, WorkflowVersion
from wireflow_site.errors import ApiError, NotFound

IDLE_GAP = SESSION_GAP = timedelta(minutes=5)
BURST_MAX = timedelta(minutes=15)
GRACE = timedelta(seconds=30)
LABEL_MAX = 120
EDITS = {WorkflowVersion.Source.UPDATE, WorkflowVersion.Source.REPLACE,
         WorkflowVersion.Source.PATCH_NODE}
MAX_NUMBER = 2**31 - 1
PAGE_MAX = 200

# Each takes a queryset of versions and returns those of them nothing outside the graph holds
# on to (executions subscribes: a version a run was started from stays).
_in_use: list[Callable[[QuerySet], QuerySet]] = []


def on_version_in_use(unused: Callable[[QuerySet], QuerySet]) -> None:
    _in_use.append(unused)


# Told of each version written, inside the saving transaction, with the workflow as saved
# (executions subscribes: the editors that have the workflow open are told after commit).
_written: list[Callable[[Workflow, WorkflowVersion], None]] = []


def on_version_written(callback: Callable[[Workflow, WorkflowVersion], None]) -> None:
    _written.append(callback)


def _unused(versions: QuerySet) -> QuerySet:
    for unused in _in_use:
        versions = unused(versions)
    return versions


def _continues(previous: dict, actor: Principal, now) -> bool:
    return (previous["source"] in EDITS and not previous["label"]
            and previous["created_by_id"] == getattr(actor.user, "pk", None)
            and previous["api_key_id"] == getattr(actor.api_key, "pk", None)
            and now - previous["created_at"] < IDLE_GAP
            and now - previous["started_at"] < BURST_MAX)


def version_write(*, workflow: Workflow, source: str, valid: bool,
                  actor: Principal, note: str = "") -> WorkflowVersion:
    """Append the version of `workflow` as it now stands (the caller holds its row locked and
    saves its `version`), coalescing an autosave into its burst; then delete the versions
    superseded more than GRACE ago, and tell the `on_version_written` subscribers."""
    now = timezone.now()
    started_at, saves = now, 1
    if source in EDITS and workflow.version:
        previous = (WorkflowVersion.objects.filter(workflow=workflow, number=workflow.version)
                    .values("id", "source", "label", "created_by_id", "api_key_id",
                            "created_at", "started_at", "saves").first())
        if (previous is not None and _continues(previous, actor, now)
                and _unused(WorkflowVersion.objects.filter(pk=previous["id"])).exists()):
            WorkflowVersion.objects.filter(pk=previous["id"]).update(superseded_at=now)
            started_at, saves = previous["started_at"], previous["saves"] + 1
    workflow.version += 1
    version = WorkflowVersion.objects.create(
        workflow=workflow, number=workflow.version, name=workflow.name,
        description=workflow.description, nodes=workflow.nodes, edges=workflow.edges,
        source=source, valid=valid, created_by=actor.user, api_key=actor.api_key,
        created_at=now, started_at=started_at, saves=saves, note=note[:200])
    versions_prune(workflow=workflow, now=now)
    for callback in _written:
        callback(workflow, version)
    return version


def versions_prune(*, workflow: Workflow, now=None) -> int:
    """Delete the workflow's versions superseded more than GRACE ago that no one named and
    nothing holds on to; the count deleted."""
    cutoff = (now or timezone.now()) - GRACE
    gone = _unused(WorkflowVersion.objects.filter(
        workflow=workflow, superseded_at__lt=cutoff, label=""))
    return gone.delete()[0]


def version_keep(version: WorkflowVersion) -> None:
    """Keep a version for good (it was restored from)."""
    WorkflowVersion.objects.filter(pk=version.pk).update(superseded_at=None)


def version_name(*, workflow: Workflow, version: WorkflowVersion, label: Any,
                 actor: Principal) -> WorkflowVersion:
    """Give a version a name (a checkpoint: never coalesced away), or take it back ("")."""
    if not isinstance(label, str):
        raise ApiError("label must be a string (\"\" removes the name)", code="invalid_request")
    if len(label) > LABEL_MAX:
        raise ApiError(f"label must be at most {LABEL_MAX} characters", code="invalid_request")
    # One line of text: runs of whitespace become one space, other control characters go.
    label = "".join(ch for ch in " ".join(label.split()) if ch.isprintable())
    with transaction.atomic():
        changed = WorkflowVersion.objects.filter(pk=version.pk).exclude(label=label).update(
            label=label, **({"superseded_at": None} if label else {}))
        if changed and label:
            activity_by_principal(actor, team_id=workflow.team_id, kind=Kind.VERSION_NAMED,
                                  source="api" if actor.api_key is not None else "editor",
                                  workflow_id=workflow.pk, workflow_name=workflow.name,
                                  details={"number": version.number, "label": label})
    version.label = label
    return version


def _author(row: dict) -> str:
    if row["created_by__username"]:
        return row["created_by__username"]
    if row["api_key__name"]:
        return f"key {row['api_key__name']}"
    return "operator"


def _listed(workflow: Workflow) -> QuerySet:
    return WorkflowVersion.objects.filter(workflow=workflow).filter(
        Q(superseded_at__isnull=True) | ~Q(label=""))


def version_count(*, workflow: Workflow) -> int:
    return _listed(workflow).count()


def version_sessions(*, workflow: Workflow, limit: int = 50,
                     offset: int = 0) -> list[dict[str, Any]]:
    """Newest first: the versions a user sees (one per editing burst, named ones, and every
    create/duplicate/restore), each with what changed since the one before it."""
    limit = max(1, min(limit, PAGE_MAX))
    rows = list(_listed(workflow).order_by("-number")
                .values("number", "name", "label", "source", "valid", "created_at",
                        "started_at", "saves", "nodes", "edges", "note", "created_by__username",
                        "api_key__name")[max(0, offset):max(0, offset) + limit + 1])
    entries = []
    for index, row in enumerate(rows[:limit]):
        before = rows[index + 1] if index + 1 < len(rows) else None
        diff = graph_diff(old_nodes=before["nodes"] if before else [],
                          old_edges=before["edges"] if before else [],
                          new_nodes=row["nodes"], new_edges=row["edges"])
        changes = diff_counts(diff)
        summary = diff_summary(changes) if before else "first version"
        entries.append({
            "number": row["number"], "firstNumber": row["number"] - row["saves"] + 1,
            "versions": row["saves"], "label": row["label"], "name": row["name"],
            "source": row["source"], "valid": row["valid"], "author": _author(row),
            "createdAt": row["created_at"], "startedAt": row["started_at"],
            "changes": changes, "note": row["note"],
            "summary": f"{row['note']}: {summary}" if row["note"] else summary,
        })
    return entries


def diff_counts(diff: dict[str, Any]) -> dict[str, int]:
    changed = diff["nodesChanged"]
    return {
        "nodesAdded": len(diff["nodesAdded"]), "nodesRemoved": len(diff["nodesRemoved"]),
        "nodesChanged": len(changed),
        "settingsChanged": sum(len(c["settings"]) for c in changed),
        "nodesMoved": sum("position" in c["fields"] for c in changed),
        "edgesAdded": len(diff["edgesAdded"]), "edgesRemoved": len(diff["edgesRemoved"]),
    }


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def diff_summary(counts: dict[str, int]) -> str:
    """E.g. "+2 nodes, 1 setting changed": what a version changed, in a few words."""
    parts = []
    if counts["nodesAdded"]:
        parts.append(f"+{_plural(counts['nodesAdded'], 'node')}")
    if counts["nodesRemoved"]:
        parts.append(f"\u2212{_plural(counts['nodesRemoved'], 'node')}")
    if counts["settingsChanged"]:
        parts.append(f"{_plural(counts['settingsChanged'], 'setting')} changed")
    if counts["nodesMoved"]:
        parts.append(f"{_plural(counts['nodesMoved'], 'node')} moved")
    renamed = counts["nodesChanged"] - counts["nodesMoved"]
    if renamed > 0 and not counts["settingsChanged"]:
        parts.append(f"{_plural(renamed, 'node')} changed")
    edges = counts["edgesAdded"] + counts["edgesRemoved"]
    if edges:
        parts.append(f"{_plural(edges, 'connection')} changed")
    return ", ".join(parts) or "no change to the graph"


def version_get(*, workflow: Workflow, number: int) -> WorkflowVersion:
    version = None
    if 0 < number <= MAX_NUMBER:
        version = (WorkflowVersion.objects.select_related("created_by", "api_key")
                   .filter(workflow=workflow, number=number).first())
    if version is None:
        raise NotFound("Version")
    return version


def version_author(version: WorkflowVersion) -> str:
    if version.created_by is not None:
        return version.created_by.get_username()
    if version.api_key is not None:
        return f"key {version.api_key.name}"
    return "operator"


def _by_id(items: Any) -> dict[str, dict]:
    if not isinstance(items, list):
        return {}
    return {str(item["id"]): item for item in items
            if isinstance(item, dict) and isinstance(item.get("id"), (str, int))}


def _data(node: dict) -> dict:
    return node.get("data") if isinstance(node.get("data"), dict) else {}


def _settings(node: dict) -> dict:
    data = _data(node)
    for key in ("config", "params"):
        if isinstance(data.get(key), dict):
            return data[key]
    return {}


def graph_diff(*, old_nodes: Any, old_edges: Any, new_nodes: Any,
               new_edges: Any) -> dict[str, Any]:
    """What changed going from the old graph to the new: nodes added and removed, and for
    nodes in both which settings (config keys, with their values before and after), label,
    type or position changed; edges added
    and removed (by their ends, so a re-made edge with a new id is no change)."""
    old, new = _by_id(old_nodes), _by_id(new_nodes)
    changed = []
    for node_id in sorted(set(old) & set(new)):
        before, after = old[node_id], new[node_id]
        settings_before, settings_after = _settings(before), _settings(after)
        keys = sorted(k for k in set(settings_before) | set(settings_after)
                      if settings_before.get(k) != settings_after.get(k))
        fields = [name for name, a, b in (
            ("label", _data(before).get("label"), _data(after).get("label")),
            ("nodeType", _data(before).get("nodeType"), _data(after).get("nodeType")),
            ("position", before.get("position"), after.get("position"))) if a != b]
        if keys or fields:
            changed.append({"nodeId": node_id, "settings": keys, "fields": fields,
                            "values": {k: {"before": settings_before.get(k),
                                           "after": settings_after.get(k)} for k in keys}})

    def ends(edges: Any) -> dict[str, dict]:
        # As JSON: a draft's malformed edge may hold lists or objects where ids belong.
        return {json.dumps([e.get("source"), e.get("sourceHandle"), e.get("target"),
                            e.get("targetHandle")], sort_keys=True, default=str): e
                for e in (edges if isinstance(edges, list) else []) if isinstance(e, dict)}

    old_ends, new_ends = ends(old_edges), ends(new_edges)
    return {
        "nodesAdded": sorted(set(new) - set(old)),
        "nodesRemoved": sorted(set(old) - set(new)),
        "nodesChanged": changed,
        "edgesAdded": [new_ends[k] for k in new_ends if k not in old_ends],
        "edgesRemoved": [old_ends[k] for k in old_ends if k not in new_ends],
    }
