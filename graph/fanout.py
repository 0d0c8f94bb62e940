"""List fan-out, as far as the graph decides it: which nodes a List node fans out (they run
once per item) and which Collect nodes gather their results.

A List node's region is every node reachable from it without passing through a Collect node.
One list per node (a node two lists reach is refused) and no list inside another's region
(nested fan-out is refused): both are validation errors, so a run never meets them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

LIST_NODE = "utility:list"
COLLECT_NODE = "utility:collect"
TEXT_INPUT_NODE = "input:text"
MAX_ITEMS = 100


@dataclass(frozen=True)
class Region:
    source: str
    nodes: frozenset[str]  # run once per item
    collects: frozenset[str]  # gather every item's results


def parse_items(text: Any) -> list[str]:
    """The items of a list: a JSON array (of strings; other values as their JSON), as an LLM
    answers, possibly inside a ``` fence; else one item per non-blank line."""
    text = text if isinstance(text, str) else ""
    stripped = text.strip()
    if stripped.startswith("```"):
        inner = stripped.strip("`")
        inner = inner[4:] if inner.lower().startswith("json") else inner
        stripped = inner.strip()
    if stripped.startswith("["):
        try:
            value = json.loads(stripped)
        except ValueError:
            value = None
        if isinstance(value, list):
            items = [item if isinstance(item, str) else json.dumps(item) for item in value]
            return [item.strip() for item in items if item.strip()]
    return [line.strip() for line in text.splitlines() if line.strip()]


def _ids(entry: Any, *keys: str) -> tuple[str, ...] | None:
    values = tuple(entry.get(key) if isinstance(entry, dict) else None for key in keys)
    return values if all(isinstance(v, str) for v in values) else None


def node_types(nodes: list[dict]) -> dict[str, str]:
    found = {}
    for node in nodes:
        data = node.get("data") if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get("id"), str) and isinstance(data, dict) \
                and isinstance(data.get("nodeType"), str):
            found[node["id"]] = data["nodeType"]
    return found


def regions(nodes: list[dict], edges: list[dict], only: set[str] | None = None
            ) -> tuple[dict[str, Region], list[dict[str, Any]]]:
    """Each List node's region (among the nodes of `only`, when given), and the problems that
    refuse the graph: `{"rule", "message", "fix", "nodeId"}`."""
    types = node_types(nodes)
    if only is not None:
        types = {node_id: kind for node_id, kind in types.items() if node_id in only}
    successors: dict[str, list[str]] = {node_id: [] for node_id in types}
    for edge in edges:
        pair = _ids(edge, "source", "target")
        if pair and pair[0] in types and pair[1] in types:
            successors[pair[0]].append(pair[1])
    found: dict[str, Region] = {}
    problems: list[dict[str, Any]] = []
    owner: dict[str, str] = {}
    for source in sorted(node_id for node_id, kind in types.items() if kind == LIST_NODE):
        fanned, collects, todo, seen = set(), set(), list(successors[source]), set()
        while todo:
            node_id = todo.pop()
            if node_id in seen:
                continue
            seen.add(node_id)
            if types[node_id] == COLLECT_NODE:
                collects.add(node_id)
                continue
            if types[node_id] == LIST_NODE:
                problems.append({
                    "rule": "nested_fan_out", "nodeId": node_id,
                    "message": f"List '{node_id}' is inside the fan-out of list '{source}': "
                               "lists cannot be nested",
                    "fix": f"put a Collect node between '{source}' and '{node_id}'"})
                continue
            fanned.add(node_id)
            todo.extend(successors[node_id])
        for node_id in sorted(fanned | collects):
            if node_id in owner:
                problems.append({
                    "rule": "fan_out_overlap", "nodeId": node_id,
                    "message": f"Node '{node_id}' is fanned out by two lists ('{owner[node_id]}' "
                               f"and '{source}'): a node can follow one list only",
                    "fix": "combine the items into one list, or collect one list first"})
            owner.setdefault(node_id, source)
        found[source] = Region(source, frozenset(fanned), frozenset(collects))
    return found, problems


def static_items(nodes: list[dict], edges: list[dict], source: str) -> list[str] | None:
    """The items of List `source` when the graph alone says them (its own Items setting, or
    the text of a Text Input wired into it); None when another node makes them during the
    run."""
    by_id = {node.get("id"): node for node in nodes if isinstance(node, dict)}

    def config(node_id: str) -> dict:
        data = (by_id.get(node_id) or {}).get("data")
        data = data if isinstance(data, dict) else {}
        value = data.get("config") if isinstance(data.get("config"), dict) else data.get("params")
        return value if isinstance(value, dict) else {}

    feeding = [pair[0] for edge in edges if (pair := _ids(edge, "source", "target"))
               and pair[1] == source and pair[0] in by_id]
    if not feeding:
        return parse_items(config(source).get("items"))
    types = node_types(list(by_id.values()))
    if all(types.get(node_id) == TEXT_INPUT_NODE for node_id in feeding):
        return parse_items("\n".join(str(config(node_id).get("prompt") or "")
                                     for node_id in feeding))
    return None
