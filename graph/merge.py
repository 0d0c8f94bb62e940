"""Three-way merge of two edits of one workflow graph: `base` (the graph an editor loaded),
`theirs` (what a teammate saved since) and `mine` (what the editor now holds). Pure: no
database, no catalog.

A node is a set of fields: its top-level keys (`position`, `type`…), its data's keys (`label`,
`nodeType`, `pinned`…) and each setting (`config.<key>`, `params.<key>`). For each field,
a side that left it as in `base` takes the other side's value; two sides that changed it
alike agree; two that changed it differently conflict. A node deleted by one side and edited
by the other conflicts; deleted by one and left alone by the other, it goes.

Edges are known by their ends (source, sourceHandle, target, targetHandle), as in the version
diff. What feeds one input (the set of edges into a target handle) is a field of the target
node: changed differently by both sides, it conflicts (also for an input that takes several
edges: the merge knows no catalog and does not guess). An edge one side added to a node the
other deleted conflicts too. Whatever else, edges follow the nodes: an edge whose node is gone
from the result goes with it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

MISSING: Any = object()  # a field one graph does not have (not the same as null)
SETTINGS = ("config", "params")


@dataclass
class Conflict:
    nodeId: str  # noqa: N815 (the API's camelCase)
    field: str  # "config.prompt", "label", "position", "node" (the whole node), "in-<port>"
    reason: str  # "both_changed", "deleted_by_you", "deleted_by_them", "both_added",
    # "wired_to_deleted_node"
    base: Any = None
    mine: Any = None
    theirs: Any = None

    def as_json(self) -> dict[str, Any]:
        def shown(value: Any) -> Any:
            return None if value is MISSING else value
        return {"nodeId": self.nodeId, "field": self.field, "reason": self.reason,
                "base": shown(self.base), "mine": shown(self.mine),
                "theirs": shown(self.theirs)}


@dataclass
class MergeResult:
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    conflicts: list[Conflict] = field(default_factory=list)
    # What each side changed since base, by node id (for the editor's message).
    mine_touched: list[str] = field(default_factory=list)
    theirs_touched: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.conflicts


class MalformedGraph(ValueError):
    """A graph the merge cannot key: nodes or edges not a list of objects, a node without a
    string id, or two nodes with one id."""


def _nodes(graph: dict[str, Any], side: str) -> dict[str, dict[str, Any]]:
    nodes = graph.get("nodes")
    if not isinstance(nodes, list):
        raise MalformedGraph(f"{side}: nodes must be a list")
    keyed: dict[str, dict[str, Any]] = {}
    for node in nodes:
        if not isinstance(node, dict) or not isinstance(node.get("id"), str):
            raise MalformedGraph(f"{side}: every node must be an object with a string id")
        if node["id"] in keyed:
            raise MalformedGraph(f"{side}: two nodes have the id {node['id']}")
        keyed[node["id"]] = node
    return keyed


def _end_key(edge: dict[str, Any]) -> str:
    return json.dumps([edge.get("source"), edge.get("sourceHandle"), edge.get("target"),
                       edge.get("targetHandle")], default=str)


def _edges(graph: dict[str, Any], side: str) -> dict[str, dict[str, Any]]:
    edges = graph.get("edges", [])
    if not isinstance(edges, list) or not all(isinstance(e, dict) for e in edges):
        raise MalformedGraph(f"{side}: edges must be a list of objects")
    return {_end_key(edge): edge for edge in edges}


def _fields(node: dict[str, Any]) -> dict[tuple[str, str], Any]:
    """The node as fields: ("top", key), ("data", key), ("config", key), ("params", key)."""
    fields: dict[tuple[str, str], Any] = {}
    for key, value in node.items():
        if key not in ("id", "data"):
            fields[("top", key)] = value
    data = node.get("data")
    if not isinstance(data, dict):
        if "data" in node:
            fields[("top", "data")] = data
        return fields
    for key, value in data.items():
        if key in SETTINGS and isinstance(value, dict):
            fields[("data", key)] = {}  # the object itself; its keys are fields of their own
            for name, setting in value.items():
                fields[(key, name)] = setting
        else:
            fields[("data", key)] = value
    return fields


def _node(node_id: str, fields: dict[tuple[str, str], Any]) -> dict[str, Any]:
    node: dict[str, Any] = {"id": node_id}
    data: dict[str, Any] | None = None
    for (kind, key), value in fields.items():
        if kind == "top":
            node[key] = value
        elif kind == "data":
            data = node.setdefault("data", {}) if data is None else data
            data[key] = dict(value) if key in SETTINGS and isinstance(value, dict) else value
    for (kind, key), value in fields.items():
        if kind in SETTINGS:
            data = node.setdefault("data", {}) if data is None else data
            settings = data.get(kind)
            if not isinstance(settings, dict):
                settings = data[kind] = {}
            settings[key] = value
    return node


def _name(kind: str, key: str) -> str:
    return f"{kind}.{key}" if kind in SETTINGS else key


def _merge_fields(node_id: str, base: dict, mine: dict, theirs: dict, reason: str,
                  conflicts: list[Conflict]) -> dict:
    merged = {}
    for key in [*theirs, *(k for k in mine if k not in theirs),
                *(k for k in base if k not in theirs and k not in mine)]:
        b, m, t = base.get(key, MISSING), mine.get(key, MISSING), theirs.get(key, MISSING)
        if m == b:
            value = t
        elif t == b or m == t:
            value = m
        else:
            conflicts.append(Conflict(node_id, _name(*key), reason, b, m, t))
            value = m
        if value is not MISSING:
            merged[key] = value
    return merged


def merge_graphs(*, base: dict[str, Any], mine: dict[str, Any],
                 theirs: dict[str, Any]) -> MergeResult:
    """Merge `mine` and `theirs`, both edits of `base` ({"nodes", "edges"} each). The result's
    graph applies both sides' changes; where they conflict it holds mine (use it only when
    `clean`)."""
    base_nodes, mine_nodes, theirs_nodes = (_nodes(base, "base"), _nodes(mine, "mine"),
                                            _nodes(theirs, "theirs"))
    base_edges, mine_edges, theirs_edges = (_edges(base, "base"), _edges(mine, "mine"),
                                            _edges(theirs, "theirs"))
    conflicts: list[Conflict] = []
    result: dict[str, dict[str, Any]] = {}
    order = [*theirs_nodes, *(i for i in mine_nodes if i not in theirs_nodes)]
    for node_id in order:
        b, m, t = (base_nodes.get(node_id), mine_nodes.get(node_id),
                   theirs_nodes.get(node_id))
        if m is not None and t is not None:
            reason = "both_changed" if b is not None else "both_added"
            result[node_id] = _node(node_id, _merge_fields(
                node_id, _fields(b) if b is not None else {}, _fields(m), _fields(t), reason,
                conflicts))
        elif b is None:  # added by one side
            result[node_id] = m if m is not None else t  # type: ignore[assignment]
        elif m is None and t is not None and t != b:
            conflicts.append(Conflict(node_id, "node", "deleted_by_you", b, None, t))
        elif t is None and m is not None and m != b:
            conflicts.append(Conflict(node_id, "node", "deleted_by_them", b, m, None))
            result[node_id] = m
        # else: deleted by one side and left alone by the other (or by both): gone

    edges = _merge_edges(base_edges, mine_edges, theirs_edges, conflicts)
    for key, edge in list(edges.items()):
        ends = (edge.get("source"), edge.get("target"))
        if all(end in result for end in ends):
            continue
        del edges[key]
        if key not in base_edges:  # someone wired it to a node the other side deleted
            gone = next(end for end in ends if end not in result)
            conflicts.append(Conflict(str(gone), "node", "wired_to_deleted_node", None,
                                      edge if key in mine_edges else MISSING,
                                      edge if key in theirs_edges else MISSING))
    return MergeResult(nodes=[result[i] for i in order if i in result],
                       edges=list(edges.values()), conflicts=conflicts,
                       mine_touched=_touched(base_nodes, mine_nodes, base_edges, mine_edges),
                       theirs_touched=_touched(base_nodes, theirs_nodes, base_edges,
                                               theirs_edges))


def _inputs(edges: dict[str, dict]) -> dict[str, set[str]]:
    """The edges into each input, by json [target, targetHandle]."""
    into: dict[str, set[str]] = {}
    for key, edge in edges.items():
        into.setdefault(json.dumps([edge.get("target"), edge.get("targetHandle")],
                                   default=str), set()).add(key)
    return into


def _merge_edges(base: dict, mine: dict, theirs: dict,
                 conflicts: list[Conflict]) -> dict[str, dict]:
    base_in, mine_in, theirs_in = _inputs(base), _inputs(mine), _inputs(theirs)
    merged: dict[str, dict] = {}
    for port in [*theirs_in, *(p for p in mine_in if p not in theirs_in),
                 *(p for p in base_in if p not in theirs_in and p not in mine_in)]:
        b, m, t = base_in.get(port, set()), mine_in.get(port, set()), theirs_in.get(port, set())
        if m == b:
            keys, source = t, theirs
        elif t == b or m == t:
            keys, source = m, mine
        else:
            target, handle = json.loads(port)
            conflicts.append(Conflict(str(target), str(handle), "both_changed",
                                      _feeds(b, base), _feeds(m, mine), _feeds(t, theirs)))
            keys, source = m, mine
        for key in sorted(keys):
            merged[key] = source[key]
    # Keep theirs' order, then mine's additions.
    order = [*theirs, *(k for k in mine if k not in theirs)]
    return {key: merged[key] for key in order if key in merged}


def _feeds(keys: set[str], edges: dict) -> list[dict[str, Any]]:
    """What feeds an input, as the conflict shows it: each edge's source and its handle."""
    return [{"source": edges[k].get("source"), "sourceHandle": edges[k].get("sourceHandle")}
            for k in sorted(keys)]


def _touched(base_nodes: dict, nodes: dict, base_edges: dict, edges: dict) -> list[str]:
    touched = {i for i in set(base_nodes) | set(nodes)
               if base_nodes.get(i) != nodes.get(i)}
    for key in set(base_edges) ^ set(edges):
        edge = base_edges.get(key) or edges[key]
        touched.add(str(edge.get("target")))
    return sorted(touched)
