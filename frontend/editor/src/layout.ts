// Auto-layout: dagre ranks the graph left to right (inputs on the left, outputs on the right).

import dagre from "@dagrejs/dagre";

import type { WorkflowEdge, WorkflowNode } from "./types";

export interface Size { width: number; height: number }

const FALLBACK: Size = { width: 220, height: 120 };

/** New top-left positions for the nodes, from their measured sizes (a fallback when unknown).
 * Disconnected nodes are placed too; dagre stacks them in the first rank. */
export function layoutPositions(nodes: WorkflowNode[], edges: WorkflowEdge[],
                                sizes: Map<string, Size> = new Map()):
    Map<string, { x: number; y: number }> {
  const graph = new dagre.graphlib.Graph({ multigraph: true });
  graph.setGraph({ rankdir: "LR", nodesep: 40, ranksep: 90, marginx: 20, marginy: 20 });
  graph.setDefaultEdgeLabel(() => ({}));
  for (const node of nodes) graph.setNode(node.id, { ...(sizes.get(node.id) ?? FALLBACK) });
  for (const edge of edges) {
    if (graph.hasNode(edge.source) && graph.hasNode(edge.target)) {
      graph.setEdge(edge.source, edge.target, {}, edge.id);
    }
  }
  dagre.layout(graph);
  const positions = new Map<string, { x: number; y: number }>();
  for (const node of nodes) {
    const placed = graph.node(node.id);
    const size = sizes.get(node.id) ?? FALLBACK;
    // dagre gives centres; React Flow wants top-left corners.
    positions.set(node.id, { x: Math.round(placed.x - size.width / 2),
                             y: Math.round(placed.y - size.height / 2) });
  }
  return positions;
}

interface Box { x: number; y: number; width: number; height: number }

const GAP = 24;

const overlaps = (a: Box, b: Box) =>
  a.x < b.x + b.width + GAP && b.x < a.x + a.width + GAP
  && a.y < b.y + b.height + GAP && b.y < a.y + a.height + GAP;

/** The nearest free place for a new node of `size` at or below-right of `wanted`: a new node is
 * never dropped on top of another (Enter, a double-click, "use as input" twice). */
export function freeSpot(wanted: { x: number; y: number }, others: Box[],
                         size: Size = FALLBACK): { x: number; y: number } {
  // Rings of candidates around the wanted spot, nearest first; the first that is free wins.
  const step = 40;
  for (let ring = 0; ring < 40; ring++) {
    const candidates: { x: number; y: number }[] = [];
    for (let dx = -ring; dx <= ring; dx++) {
      for (let dy = -ring; dy <= ring; dy++) {
        if (Math.max(Math.abs(dx), Math.abs(dy)) === ring) {
          candidates.push({ x: wanted.x + dx * step, y: wanted.y + dy * step });
        }
      }
    }
    candidates.sort((a, b) => Math.hypot(a.x - wanted.x, a.y - wanted.y)
                              - Math.hypot(b.x - wanted.x, b.y - wanted.y));
    const free = candidates.find((spot) => !others.some((other) =>
      overlaps({ ...spot, ...size }, other)));
    if (free) return { x: Math.round(free.x), y: Math.round(free.y) };
  }
  return wanted;
}
