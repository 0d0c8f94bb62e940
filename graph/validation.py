"""Workflow graph validation: every problem in one pass, as JSON-ready dicts.

Each problem is `{"rule", "message", "fix", "nodeId", "edgeId", ...}`; violations block a save or
a run, warnings do not. The input is untrusted JSON (api.md's workflow shape): nothing here
raises on it.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import networkx as nx

from graph.catalog import Input, NodeSpec, Output, Registry
from graph.catalog import catalog as default_catalog
from graph.catalog.inputs import TEXT_INPUT
from graph.catalog.values import check_setting, is_empty, show
from graph.fanout import regions

MAX_NODES = 100
MAX_EDGES = 500

Problem = dict[str, Any]


def problem(
    rule: str, message: str, *, fix: str | None = None, node_id: str | None = None,
    edge_id: str | None = None, **extra: Any,
) -> Problem:
    return {"rule": rule, "message": message, "fix": fix, "nodeId": node_id, "edgeId": edge_id,
            **extra}


@dataclass
class ValidationResult:
    violations: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def to_api(self) -> dict[str, Any]:
        return {"ok": self.ok, "violations": self.violations, "warnings": self.warnings}


@dataclass
class _Node:
    id: str
    spec: NodeSpec
    config: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.spec.label} '{self.id}'"


@dataclass
class _Wire:
    """An edge into a known port; `output` is None when its source handle did not resolve."""

    id: str
    source: _Node | None
    target: _Node
    output: Output | None
    input: Input


_Port = TypeVar("_Port", Input, Output)


def _merged_config(data: dict[str, Any]) -> dict[str, Any] | None:
    """`data.params` overlaid by `data.config`; None when either is not an object."""
    merged: dict[str, Any] = {}
    for key in ("params", "config"):
        part = data.get(key)
        if part is None:
            continue
        if not isinstance(part, dict):
            return None
        merged.update(part)
    return merged


def _a(media: str) -> str:
    """'an image', 'a video', 'any'."""
    return media if media == "any" else f"{'an' if media[:1] in 'aeiou' else 'a'} {media}"


def _did_you_mean(word: str, choices: list[str]) -> str | None:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return f"did you mean {close[0]}?" if close else None


def effective_config(node: Any, spec: NodeSpec) -> dict[str, Any]:
    """The node's settings and inline port values: defaults overlaid by params, then config."""
    data = node.get("data") if isinstance(node, dict) else None
    merged = _merged_config(data) if isinstance(data, dict) else None
    known = {s.id for s in spec.settings()} | {p.id for p in spec.ports() if p.inline}
    return {**spec.defaults(), **{k: v for k, v in (merged or {}).items() if k in known}}


def _static_text(node: _Node | None) -> str | None:
    """The text a node sends, where the graph alone says it (a Text Input's own value);
    None where it is only known when the run reaches it."""
    if node is None or node.spec.node_type != TEXT_INPUT.node_type:
        return None
    value = node.config.get("prompt")
    return value if isinstance(value, str) else "" if value is None else None


def topological_order(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> list[str]:
    """Node ids, every edge's source before its target. For a graph that passed validation;
    raises ValueError on a cycle."""
    graph = nx.DiGraph()
    graph.add_nodes_from(node["id"] for node in nodes)
    graph.add_edges_from((edge["source"], edge["target"]) for edge in edges)
    try:
        return list(nx.topological_sort(graph))
    except nx.NetworkXUnfeasible as exc:
        raise ValueError("the graph has a cycle") from exc


def validate_graph(
    nodes: Any, edges: Any, *, catalog: Registry = default_catalog,
    max_nodes: int = MAX_NODES, max_edges: int = MAX_EDGES,
) -> ValidationResult:
    """Check a workflow graph against the catalog and report every problem found."""
    return _Validator(catalog, max_nodes, max_edges).run(nodes, edges)


class _Validator:
    def __init__(self, catalog: Registry, max_nodes: int, max_edges: int) -> None:
        self.catalog = catalog
        self.max_nodes = max_nodes
        self.max_edges = max_edges
        self.result = ValidationResult()
        self.ids: dict[str, _Node | None] = {}  # every node id; None if its type is unusable
        self.links: list[tuple[str, str, str]] = []  # (edge id, source, target), not self-loops
        self.wires: list[_Wire] = []
        self.touched: set[str] = set()  # nodes some edge refers to
        self.wired: dict[tuple[str, str], list[_Wire]] = defaultdict(list)  # (node, port) → wires

    def error(self, rule: str, message: str, **kwargs: Any) -> None:
        self.result.violations.append(problem(rule, message, **kwargs))

    def warn(self, rule: str, message: str, **kwargs: Any) -> None:
        self.result.warnings.append(problem(rule, message, **kwargs))

    def run(self, nodes: Any, edges: Any) -> ValidationResult:
        self._read_nodes(nodes)
        self._read_edges(edges)
        for wire in self.wires:
            self.wired[(wire.target.id, wire.input.id)].append(wire)
        self._check_types(self._check_structure())
        self._check_input_counts()
        for node in self.ids.values():
            if node is not None:
                self._check_node(node)
        if isinstance(nodes, list) and isinstance(edges, list) and not any(
                v["rule"] == "cycle" for v in self.result.violations):
            for found in regions(nodes, edges, only=set(self.ids))[1]:
                self.error(found["rule"], found["message"], fix=found["fix"],
                           node_id=found["nodeId"])
        return self.result

    # -- reading -------------------------------------------------------------------------------

    def _read_nodes(self, raw: Any) -> None:
        if not isinstance(raw, list):
            self.error("malformed_graph", "'nodes' must be a list of node objects",
                       fix='send "nodes": [...]')
            return
        if not raw:
            self.error("empty_graph", "The workflow has no nodes", fix="add at least one node")
        if len(raw) > self.max_nodes:
            self.error("too_many_nodes",
                       f"The workflow has {len(raw)} nodes; at most {self.max_nodes} are allowed",
                       fix="split it into smaller workflows")
        for index, item in enumerate(raw):
            self._read_node(index, item)

    def _read_node(self, index: int, item: Any) -> None:
        node_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(node_id, str) or not node_id:
            self.error("malformed_node", f"Node #{index} is not an object with a string 'id'",
                       fix="give every node a unique string id", index=index)
            return
        if node_id in self.ids:
            self.error("duplicate_node_id", f"More than one node has the id '{node_id}'",
                       fix="give every node a unique id", node_id=node_id, index=index)
            return
        self.ids[node_id] = None
        data = item.get("data")
        node_type = data.get("nodeType") if isinstance(data, dict) else None
        config = _merged_config(data) if isinstance(data, dict) else None
        if not isinstance(node_type, str) or config is None:
            self.error("malformed_node",
                       f"Node '{node_id}' needs data.nodeType (a string) and data.config (an "
                       "object)", fix="see GET /api/v1/nodes for the node types",
                       node_id=node_id, index=index)
            return
        spec = self.catalog.get(node_type)
        if spec is None:
            fix = _did_you_mean(node_type, list(self.catalog.node_types()))
            self.error("unknown_node_type",
                       f"Node '{node_id}' has an unknown type {show(node_type)}",
                       fix=fix or "see GET /api/v1/nodes for the node types", node_id=node_id,
                       nodeType=node_type)
            return
        self.ids[node_id] = _Node(node_id, spec, config)

    def _read_edges(self, raw: Any) -> None:
        if not isinstance(raw, list):
            self.error("malformed_graph", "'edges' must be a list of edge objects",
                       fix='send "edges": [] when there are none')
            return
        if len(raw) > self.max_edges:
            self.error("too_many_edges",
                       f"The workflow has {len(raw)} edges; at most {self.max_edges} are allowed",
                       fix="split it into smaller workflows")
        seen: set[str] = set()
        for index, item in enumerate(raw):
            self._read_edge(index, item, seen)

    def _read_edge(self, index: int, item: Any, seen: set[str]) -> None:
        edge_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(edge_id, str) or not edge_id:
            self.error("malformed_edge", f"Edge #{index} is not an object with a string 'id'",
                       fix="give every edge a unique string id", index=index)
            return
        if edge_id in seen:
            self.error("duplicate_edge_id", f"More than one edge has the id '{edge_id}'",
                       fix="give every edge a unique id", edge_id=edge_id, index=index)
            return
        seen.add(edge_id)
        ends = [item.get(key) for key in ("source", "target", "sourceHandle", "targetHandle")]
        source, target, source_handle, target_handle = ends
        if not all(isinstance(end, str) for end in ends):
            self.error("malformed_edge",
                       f"Edge '{edge_id}' needs string source, target, sourceHandle and "
                       "targetHandle", fix="e.g. sourceHandle out-image, targetHandle in-image",
                       edge_id=edge_id, index=index)
            return
        missing = [end for end in (source, target) if end not in self.ids]
        if missing:
            names = " and ".join(f"'{end}'" for end in missing)
            self.error("dangling_edge", f"Edge '{edge_id}' points at no node {names}",
                       fix="remove the edge or add the missing node", edge_id=edge_id,
                       nodes=missing)
            return
        self.touched.update((source, target))
        if source == target:
            self.error("self_loop", f"Edge '{edge_id}' connects node '{source}' to itself",
                       fix="remove the edge", node_id=source, edge_id=edge_id)
            return
        self.links.append((edge_id, source, target))
        src, dst = self.ids[source], self.ids[target]
        output = None
        if src is not None:
            output = self._resolve(edge_id, src, source_handle, "out", src.spec.outputs)
        if dst is not None:
            port = self._resolve(edge_id, dst, target_handle, "in", dst.spec.ports())
            if port is not None:
                self.wires.append(_Wire(edge_id, src, dst, output, port))

    def _resolve(
        self, edge_id: str, node: _Node, handle: str, side: str, ports: Sequence[_Port]
    ) -> _Port | None:
        """The output or port `handle` names on `node` ("out-…" / "in-…"); reported when none."""
        by_handle = {f"{side}-{port.id}": port for port in ports}
        if handle in by_handle:
            return by_handle[handle]
        choices = list(by_handle)
        setting = handle.removeprefix("in-") if side == "in" else None
        if not choices:
            fix = "remove the edge"
        elif f"{side}-{handle}" in by_handle:
            fix = f"did you mean {side}-{handle}?"
        elif any(s.id == setting for s in node.spec.settings()):
            fix = f"'{setting}' is a setting: set it in data.config"
        else:
            fix = _did_you_mean(handle, choices) or f"use one of {', '.join(choices)}"
        key = "sourceHandle" if side == "out" else "targetHandle"
        offered = f"its handles are {', '.join(choices)}" if choices else "it has none"
        self.error("unknown_handle",
                   f"Edge '{edge_id}': {node.name} has no {key} {show(handle)} ({offered})",
                   fix=fix, node_id=node.id, edge_id=edge_id, handle=handle)
        return None

    # -- graph-wide rules ----------------------------------------------------------------------

    def _check_structure(self) -> list[str]:
        """Report cycles; return the executable nodes, upstream first (cycles condensed)."""
        graph = nx.DiGraph()
        graph.add_nodes_from(
            node_id for node_id, node in self.ids.items() if node is None or node.spec.executable
        )
        edge_ids: dict[tuple[str, str], str] = {}
        for edge_id, source, target in self.links:
            if source in graph and target in graph:
                graph.add_edge(source, target)
                edge_ids.setdefault((source, target), edge_id)
        if nx.is_directed_acyclic_graph(graph):
            return list(nx.topological_sort(graph))
        position = {node_id: index for index, node_id in enumerate(self.ids)}
        for component in nx.strongly_connected_components(graph):
            if len(component) > 1:
                start = min(component, key=position.__getitem__)
                cycle = nx.find_cycle(graph.subgraph(component), source=start)
                self._report_cycle([u for u, _ in cycle], [edge_ids[pair] for pair in cycle])
        condensed = nx.condensation(graph)
        return [n for c in nx.topological_sort(condensed) for n in condensed.nodes[c]["members"]]

    def _report_cycle(self, cycle: list[str], edges: list[str]) -> None:
        tail = f"'{cycle[0]}'" if len(cycle) <= 8 else f"… ({len(cycle)} nodes)"
        path = " → ".join([*(f"'{node_id}'" for node_id in cycle[:8]), tail])
        self.error("cycle", f"The graph has a cycle: {path}",
                   fix=f"remove one of the edges {', '.join(edges)}; data must flow one way",
                   node_id=cycle[0], edge_id=edges[-1], nodes=cycle, edges=edges)

    def _check_types(self, order: list[str]) -> None:
        """Media types along wires; an `any` output takes the type wired into its node."""
        incoming: dict[str, list[_Wire]] = defaultdict(list)
        for wire in self.wires:
            incoming[wire.target.id].append(wire)
        routed: dict[str, str] = {}
        for node_id in order:
            for wire in incoming.get(node_id, ()):
                if wire.source is None or wire.output is None:
                    continue
                sent = wire.output.type
                if sent == "any":
                    sent = routed.get(wire.source.id, "any")
                wanted, port = wire.input.type, wire.input.id
                if wanted == "any":
                    routed.setdefault(node_id, sent)
                elif sent not in ("any", wanted):
                    self.error("type_mismatch",
                               f"Edge '{wire.id}' carries {sent} from {wire.source.name} but "
                               f"in-{port} of {wire.target.name} takes {wanted}",
                               fix=f"connect {_a(wanted)} output to in-{port}",
                               node_id=node_id, edge_id=wire.id, input=port)

    def _check_input_counts(self) -> None:
        for wires in self.wired.values():
            port, ids = wires[0].input, [wire.id for wire in wires]
            node = wires[0].target
            where = f"in-{port.id} of {node.name}"
            if not port.multiple and len(ids) > 1:
                self.error("duplicate_input",
                           f"{len(ids)} edges ({', '.join(ids)}) go into {where}, which takes "
                           "one", fix="keep one edge, or add a Router to choose",
                           node_id=node.id, edge_id=ids[1], input=port.id, edges=ids)
            elif port.max_items is not None and len(ids) > port.max_items:
                self.error("too_many_inputs",
                           f"{len(ids)} edges go into {where}, which takes at most "
                           f"{port.max_items}", fix=f"remove {len(ids) - port.max_items}",
                           node_id=node.id, edge_id=ids[port.max_items], input=port.id,
                           edges=ids)

    # -- per-node rules ------------------------------------------------------------------------

    def _check_node(self, node: _Node) -> None:
        spec = node.spec
        if spec.executable:
            self._check_required_ports(node)
            if len(self.ids) > 1 and node.id not in self.touched:
                self.warn("disconnected_node", f"{node.name} is connected to nothing",
                          fix="connect it or remove it", node_id=node.id)
        # The sides a size rule constrains are checked as a whole, by the node's own check.
        by_rule = set(spec.size_rule.inputs()) if spec.size_rule else set()
        for setting in spec.settings():
            self._check_setting(node, setting, bounds=setting.id not in by_rule)
        inline = {port.id for port in spec.ports() if port.inline}
        for key in inline & node.config.keys():
            value = node.config[key]
            if value is not None and not isinstance(value, str):
                self.error("invalid_setting", f"'{key}' must be text, got {show(value)}",
                           fix=f"type the {key} as a string", node_id=node.id, input=key)
        known = [s.id for s in spec.settings()] + sorted(inline)
        for key in node.config:
            if key not in known:
                self.warn("unknown_setting", f"{node.name} has no setting {show(key)}; it is "
                          "ignored", fix=_did_you_mean(str(key), known) or "remove it",
                          node_id=node.id, input=str(key))
        if spec.check_config is not None:
            self._check_config(node)

    def _check_required_ports(self, node: _Node) -> None:
        for port in node.spec.ports():
            if not port.required:
                continue
            if (node.id, port.id) in self.wired:
                self._check_not_blank(node, port, self.wired[(node.id, port.id)])
                continue
            typed = node.config.get(port.id)
            if port.inline and isinstance(typed, str) and typed.strip():
                continue
            fix = f"connect {_a(port.type)} output to in-{port.id}"
            if port.inline:
                fix += f", or type it into data.config.{port.id}"
            self.error("required_input_missing",
                       f"{node.name} needs its '{port.label}' input (in-{port.id})",
                       fix=fix, node_id=node.id, input=port.id, handle=f"in-{port.id}")

    def _check_not_blank(self, node: _Node, port: _Port, wires: list[_Wire]) -> None:
        """A required text input wired only from Text Inputs that hold no text would reach the
        provider empty (FLUX refuses it with a 422, Nano Banana generates anyway and charges):
        caught here, on the node, before anything runs."""
        if port.type != "text":
            return
        texts = [_static_text(wire.source) for wire in wires]
        if not texts or any(text is None or text.strip() for text in texts):
            return
        sources = ", ".join(f"'{wire.source.id}'" for wire in wires if wire.source is not None)
        self.error("required_input_missing",
                   f"{node.name} needs its '{port.label}' input (in-{port.id}), but the text "
                   f"wired into it is empty (from {sources})",
                   fix=f"type the text into {sources}", node_id=node.id, input=port.id,
                   handle=f"in-{port.id}", sources=[w.source.id for w in wires if w.source])

    def _check_setting(self, node: _Node, setting: Input, *, bounds: bool) -> None:
        value = node.config.get(setting.id)
        if setting.required and is_empty(value):
            self.error("required_setting_missing", f"{node.name} needs '{setting.id}' set",
                       fix=f"set data.config.{setting.id}", node_id=node.id, input=setting.id)
            return
        if setting.id not in node.config:
            return
        error = check_setting(setting, value, bounds=bounds)
        if error is not None:
            self.error("invalid_setting", f"{node.name}: {error.message}", fix=error.fix,
                       node_id=node.id, input=setting.id)

    def _check_config(self, node: _Node) -> None:
        for issue in node.spec.check_config({**node.spec.defaults(), **node.config}):
            issue = dict(issue)
            rule, message, fix = issue.pop("rule"), issue.pop("message"), issue.pop("fix", None)
            self.error(rule, f"{node.name}: {message}", fix=fix, node_id=node.id, **issue)
