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
