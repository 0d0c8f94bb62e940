// Pure graph logic shared by the canvas and the tests: handles, media types, new nodes.

import type { CatalogInput, MediaType, NodeSpec, WorkflowEdge, WorkflowNode } from "./types";

export const MEDIA_COLORS: Record<string, string> = {
  text: "#f5c542",
  image: "#4fb3ff",
  video: "#c77dff",
  audio: "#5fd38d",
  number: "#ff9f5a",
  any: "#b0b7c3",
};

export function portOf(handle: string | null | undefined, prefix: "in-" | "out-"): string {
  const value = handle ?? "";
  return value.startsWith(prefix) ? value.slice(prefix.length) : value;
}

export function ports(spec: NodeSpec): CatalogInput[] {
  return spec.inputs.filter((input) => input.isPort);
}

export function settings(spec: NodeSpec): CatalogInput[] {
  return spec.inputs.filter((input) => !input.isPort);
}

export interface ConnectionCheck {
  ok: boolean;
  reason?: string;
}

/** Whether an edge may join these handles: equal media types ("any" joins anything), and a
 * single input takes one edge. */
export function checkConnection(
  catalog: Map<string, NodeSpec>,
  nodes: WorkflowNode[],
  edges: WorkflowEdge[],
  connection: { source: string; sourceHandle?: string | null; target: string;
                targetHandle?: string | null },
): ConnectionCheck {
  if (connection.source === connection.target) {
    return { ok: false, reason: "A node cannot feed itself" };
  }
  const source = nodes.find((node) => node.id === connection.source);
  const target = nodes.find((node) => node.id === connection.target);
  const sourceSpec = source && catalog.get(source.data.nodeType);
  const targetSpec = target && catalog.get(target.data.nodeType);
  if (!sourceSpec || !targetSpec) return { ok: false, reason: "Unknown node type" };
  const output = sourceSpec.outputs.find((o) => o.id === portOf(connection.sourceHandle, "out-"));
  const input = ports(targetSpec).find((i) => i.id === portOf(connection.targetHandle, "in-"));
  if (!output || !input) return { ok: false, reason: "Unknown handle" };
  const from = output.type as MediaType;
  const to = input.type as MediaType;
  if (from !== to && from !== "any" && to !== "any") {
    return {
      ok: false,
      reason: `${sourceSpec.label} gives ${from}, but ${targetSpec.label}'s ${input.label} takes ${to}`,
    };
  }
  const taken = edges.some(
    (edge) => edge.target === connection.target && edge.targetHandle === connection.targetHandle,
  );
  if (taken && !input.multiple) {
    return { ok: false, reason: `${targetSpec.label}'s ${input.label} already has an input` };
  }
  return { ok: true };
}

export function defaultConfig(spec: NodeSpec): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const setting of settings(spec)) {
    if (setting.default !== null && setting.default !== undefined) config[setting.id] = setting.default;
  }
  return config;
}

export function newNodeId(nodeType: string, nodes: WorkflowNode[]): string {
  const stem = nodeType.split(":")[1]?.replace(/_/g, "-") ?? "node";
  let n = 1;
  while (nodes.some((node) => node.id === `${stem}-${n}`)) n += 1;
  return `${stem}-${n}`;
}

export function createNode(spec: NodeSpec, nodes: WorkflowNode[],
                           position: { x: number; y: number }): WorkflowNode {
  return {
    id: newNodeId(spec.nodeType, nodes),
    type: "basedNode",
    position,
    data: { label: spec.label, nodeType: spec.nodeType, category: spec.category,
            config: defaultConfig(spec) },
  };
}

export function edgeId(edge: { source: string; sourceHandle?: string | null; target: string;
                               targetHandle?: string | null }): string {
  return `e-${edge.source}-${edge.sourceHandle ?? ""}-${edge.target}-${edge.targetHandle ?? ""}`;
}

/** What copy puts on the clipboard: the chosen nodes and the edges among them. */
export interface Clip {
  nodes: WorkflowNode[];
  edges: WorkflowEdge[];
}

export function copyNodes(nodes: WorkflowNode[], edges: WorkflowEdge[],
                          ids: Set<string>): Clip {
  return {
    nodes: structuredClone(nodes.filter((node) => ids.has(node.id))),
    edges: structuredClone(edges.filter((edge) => ids.has(edge.source) && ids.has(edge.target))),
  };
}

/** The clip as new nodes beside the existing ones: fresh ids, moved by `offset`, and the
 * edges among them re-pointed at the copies. */
export function pasteClip(clip: Clip, existing: WorkflowNode[],
                          offset: { x: number; y: number }): Clip {
  const taken = [...existing];
  const ids = new Map<string, string>();
  const nodes = clip.nodes.map((node) => {
    const copy: WorkflowNode = {
      ...structuredClone(node),
      id: newNodeId(node.data.nodeType, taken),
      position: { x: node.position.x + offset.x, y: node.position.y + offset.y },
    };
    taken.push(copy);
    ids.set(node.id, copy.id);
    return copy;
  });
  const edges = clip.edges.map((edge) => {
    const moved = { ...edge, source: ids.get(edge.source)!, target: ids.get(edge.target)! };
    return { ...moved, id: edgeId(moved) };
  });
  return { nodes, edges };
}
