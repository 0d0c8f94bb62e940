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

/** FLUX.2 size help for the inspector: megapixels, and the nearest valid size. */
export function megapixels(width: number, height: number): number {
  return (width * height) / (1024 * 1024);
}

export function snapSize(value: number, multipleOf = 16, min = 256): number {
  return Math.max(min, Math.round(value / multipleOf) * multipleOf);
}

/** FLUX.2 and the local preview share one size rule: sides within the setting's bounds, in
 * multiples of its step, and at most 4 megapixels in all. */
export interface SizeLimits {
  multipleOf: number;
  min: number;
  max: number;
  maxMegapixels: number;
}

export const DEFAULT_LIMITS: SizeLimits = { multipleOf: 16, min: 256, max: 4096, maxMegapixels: 4 };

export const ASPECT_PRESETS = ["1:1", "4:3", "3:2", "16:9", "21:9", "3:4", "2:3", "9:16"];

function ratioOf(preset: string): number {
  const [w, h] = preset.split(":").map(Number);
  return w > 0 && h > 0 ? w / h : 1;
}

/** The nearest valid size: each side clamped and rounded to the step, then scaled down (never
 * up) until the area fits, keeping the aspect ratio as closely as the step allows. */
export function fitSize(width: number, height: number, limits: SizeLimits = DEFAULT_LIMITS):
    { width: number; height: number } {
  const { multipleOf: step, min, max, maxMegapixels } = limits;
  const floorTo = (v: number) => Math.floor(v / step) * step;
  const clamp = (v: number) => Math.min(floorTo(max), Math.max(Math.ceil(min / step) * step, v));
  let w = clamp(Math.round(width / step) * step);
  let h = clamp(Math.round(height / step) * step);
  const limit = maxMegapixels * 1024 * 1024;
  if (w * h > limit) {
    const scale = Math.sqrt(limit / (w * h));
    w = clamp(floorTo(w * scale));
    h = clamp(floorTo(h * scale));
    while (w * h > limit) {  // rounding at the bounds can leave a sliver over: trim the longer
      if (w >= h) w = clamp(w - step); else h = clamp(h - step);
      if (w === clamp(0) && h === clamp(0)) break;
    }
  }
  return { width: w, height: h };
}

/** A size for an aspect-ratio preset at about the given area (1 MP unless said), made valid. */
export function sizeForAspect(preset: string, limits: SizeLimits = DEFAULT_LIMITS,
                              targetMegapixels = 1): { width: number; height: number } {
  const area = Math.min(targetMegapixels, limits.maxMegapixels) * 1024 * 1024;
  const ratio = ratioOf(preset);
  return fitSize(Math.sqrt(area * ratio), Math.sqrt(area / ratio), limits);
}

/** The preset a size matches (within a step's rounding), or null for a custom size. */
export function aspectOf(width: number, height: number, tolerance = 0.02): string | null {
  if (!(width > 0 && height > 0)) return null;
  return ASPECT_PRESETS.find((p) => Math.abs(ratioOf(p) - width / height) / ratioOf(p)
                             <= tolerance) ?? null;
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
