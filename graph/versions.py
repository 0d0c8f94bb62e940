"""Reads on a workflow's version history: the list the editor's panel shows (autosaves folded
into editing sessions), one version with its diff against the current graph.

Every save writes an immutable WorkflowVersion (autosave: one every 1.5 s while someone edits).
The list folds consecutive edits by one author into one entry while they keep coming within
`SESSION_GAP` of each other; creating, duplicating and restoring always stand alone. Nothing
is merged in the database: every version stays readable by its number."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from graph.models import Workflow, WorkflowVersion
from wireflow_site.errors import NotFound

SESSION_GAP = timedelta(minutes=5)
EDITS = {WorkflowVersion.Source.UPDATE, WorkflowVersion.Source.REPLACE,
         WorkflowVersion.Source.PATCH_NODE}
MAX_NUMBER = 2**31 - 1


def _author(row: dict) -> str:
    if row["created_by__username"]:
        return row["created_by__username"]
    if row["api_key__name"]:
        return f"key {row['api_key__name']}"
    return "operator"


def version_sessions(*, workflow: Workflow) -> list[dict[str, Any]]:
    """Newest first: one entry per editing session (its latest version), or per version that
    stands alone."""
    rows = (WorkflowVersion.objects.filter(workflow=workflow).order_by("-number")
            .values("number", "name", "source", "valid", "created_at", "created_by_id",
                    "api_key_id", "created_by__username", "api_key__name"))
    sessions: list[dict[str, Any]] = []
    for row in rows:
        last = sessions[-1] if sessions else None
        same_author = last is not None and (last["_who"] == (row["created_by_id"],
                                                             row["api_key_id"]))
        if (last is not None and same_author and row["source"] in EDITS
                and last["source"] in EDITS
                and last["_oldest_at"] - row["created_at"] < SESSION_GAP):
            last["firstNumber"] = row["number"]
            last["versions"] += 1
            last["startedAt"] = row["created_at"]
            last["_oldest_at"] = row["created_at"]
            continue
        sessions.append({
            "number": row["number"], "firstNumber": row["number"], "versions": 1,
            "name": row["name"], "source": row["source"], "valid": row["valid"],
            "author": _author(row), "createdAt": row["created_at"],
            "startedAt": row["created_at"],
            "_who": (row["created_by_id"], row["api_key_id"]), "_oldest_at": row["created_at"],
        })
    for session in sessions:
        del session["_who"], session["_oldest_at"]
    return sessions


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
    nodes in both which settings (config keys), label, type or position changed; edges added
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
            changed.append({"nodeId": node_id, "settings": keys, "fields": fields})

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
