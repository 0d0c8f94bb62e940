// The editor's state: the graph, the catalog, per-node run status and save status, with
// separate state and action types, read through narrow selectors.

import {
  addEdge, applyEdgeChanges, applyNodeChanges,
  type Connection, type Edge, type EdgeChange, type Node, type NodeChange,
} from "@xyflow/react";
import { create } from "zustand";

import { checkConnection, createNode } from "./graph";
import type {
  NodeRunState, NodeSpec, Problem, Workflow, WorkflowEdge, WorkflowNode, WorkflowNodeData,
} from "./types";

export type FlowNode = Node<WorkflowNodeData>;

interface Snapshot { nodes: FlowNode[]; edges: Edge[] }

export interface EditorState {
  workflowId: string;
  name: string;
  updatedAt: string;
  webhookUrl: string;
  catalog: Map<string, NodeSpec>;
  nodes: FlowNode[];
  edges: Edge[];
  problems: Problem[];
  runs: Record<string, NodeRunState>;
  executionId: string | null;
  runStatus: string | null;
  dirty: boolean;
  notice: string | null;
  past: Snapshot[];
  future: Snapshot[];
}

export interface EditorActions {
  setCatalog(specs: NodeSpec[]): void;
  load(workflow: Workflow): void;
  onNodesChange(changes: NodeChange<FlowNode>[]): void;
  onEdgesChange(changes: EdgeChange[]): void;
  connect(connection: Connection): void;
  addNode(nodeType: string, position: { x: number; y: number }): void;
  setConfig(nodeId: string, key: string, value: unknown): void;
  setLabel(nodeId: string, label: string): void;
  undo(): void;
  redo(): void;
  saved(updatedAt: string): void;
  setProblems(problems: Problem[]): void;
  notify(message: string | null): void;
  startRun(executionId: string): void;
  nodeEvent(nodeId: string, state: Partial<NodeRunState>): void;
  runEvent(status: string): void;
}

export const toFlowNode = (node: WorkflowNode): FlowNode => ({
  id: node.id, type: "wireflow", position: node.position, data: node.data,
});

export const toFlowEdge = (edge: WorkflowEdge): Edge => ({ ...edge, type: "default" });

export function toWorkflowJson(nodes: FlowNode[], edges: Edge[]) {
  return {
    nodes: nodes.map((node) => ({
      id: node.id, type: "basedNode", position: node.position, data: node.data,
    })),
    edges: edges.map((edge) => ({
      id: edge.id, source: edge.source, sourceHandle: edge.sourceHandle ?? "",
      target: edge.target, targetHandle: edge.targetHandle ?? "",
    })),
  };
}

const HISTORY = 100;

export const useEditor = create<EditorState & EditorActions>()((set, get) => {
  /** Record the graph before a change the user can undo. */
  const remember = () => {
    const { nodes, edges, past } = get();
    set({ past: [...past.slice(-HISTORY + 1), { nodes, edges }], future: [] });
  };
  return {
    workflowId: "", name: "", updatedAt: "", webhookUrl: "",
    catalog: new Map(), nodes: [], edges: [], problems: [], runs: {},
    executionId: null, runStatus: null, dirty: false, notice: null, past: [], future: [],

    setCatalog: (specs) => set({ catalog: new Map(specs.map((s) => [s.nodeType, s])) }),
    load: (workflow) => set({
      workflowId: workflow.id, name: workflow.name, updatedAt: workflow.updatedAt,
      webhookUrl: workflow.webhookUrl, nodes: workflow.nodes.map(toFlowNode),
      edges: workflow.edges.map(toFlowEdge), dirty: false, past: [], future: [],
    }),
    onNodesChange: (changes) => {
      if (changes.some((c) => c.type === "remove")) remember();
      const structural = changes.some((c) => c.type !== "select" && c.type !== "dimensions");
      set({ nodes: applyNodeChanges(changes, get().nodes), dirty: get().dirty || structural });
    },
    onEdgesChange: (changes) => {
      if (changes.some((c) => c.type === "remove")) remember();
      const structural = changes.some((c) => c.type !== "select");
      set({ edges: applyEdgeChanges(changes, get().edges), dirty: get().dirty || structural });
    },
    connect: (connection) => {
      const { catalog, nodes, edges } = get();
      const check = checkConnection(catalog, toWorkflowJson(nodes, edges).nodes,
                                    toWorkflowJson(nodes, edges).edges, connection);
      if (!check.ok) {
        set({ notice: `Not connected: ${check.reason}` });
        return;
      }
      remember();
      const id = `e-${connection.source}-${connection.sourceHandle}-${connection.target}-${connection.targetHandle}`;
      set({ edges: addEdge({ ...connection, id }, edges), dirty: true, notice: null });
    },
    addNode: (nodeType, position) => {
      const spec = get().catalog.get(nodeType);
      if (!spec) return;
      remember();
      const node = createNode(spec, toWorkflowJson(get().nodes, []).nodes, position);
      set({ nodes: [...get().nodes, toFlowNode(node)], dirty: true });
    },
    setConfig: (nodeId, key, value) => {
      remember();
      set({
        nodes: get().nodes.map((node) => node.id !== nodeId ? node : {
          ...node, data: { ...node.data, config: { ...(node.data.config ?? {}), [key]: value } },
        }),
        dirty: true,
      });
    },
    setLabel: (nodeId, label) => {
      remember();
      set({
        nodes: get().nodes.map((node) => node.id !== nodeId ? node
          : { ...node, data: { ...node.data, label } }),
        dirty: true,
      });
    },
    undo: () => {
      const { past, nodes, edges, future } = get();
      const previous = past[past.length - 1];
      if (!previous) return;
      set({ ...previous, past: past.slice(0, -1), future: [{ nodes, edges }, ...future],
            dirty: true });
    },
    redo: () => {
      const { past, nodes, edges, future } = get();
      const next = future[0];
      if (!next) return;
      set({ ...next, past: [...past, { nodes, edges }], future: future.slice(1), dirty: true });
    },
    saved: (updatedAt) => set({ updatedAt, dirty: false }),
    setProblems: (problems) => set({ problems }),
    notify: (notice) => set({ notice }),
    startRun: (executionId) => set({ executionId, runStatus: "QUEUED", runs: {} }),
    nodeEvent: (nodeId, state) => {
      const previous: NodeRunState = get().runs[nodeId]
        ?? { status: "PENDING", progress: 0, error: null, output: null };
      set({ runs: { ...get().runs, [nodeId]: { ...previous, ...state } } });
    },
    runEvent: (runStatus) => set({ runStatus }),
  };
});
