// The editor's state: the graph, the catalog, per-node run status and save status, with
// separate state and action types, read through narrow selectors.

import {
  addEdge, applyEdgeChanges, applyNodeChanges,
  type Connection, type Edge, type EdgeChange, type Node, type NodeChange,
} from "@xyflow/react";
import { create } from "zustand";

import { checkConnection, type Clip, copyNodes, createNode, edgeId, pasteClip } from "./graph";
import { freeSpot, layoutPositions, type Size } from "./layout";
import { type Branches, summarise } from "./fanout";
import { type ExecutionStatus, isFinished } from "./status";
import type {
  Estimate, NodeRunState, NodeSpec, Problem, StaleDependency, Workflow, WorkflowEdge,
  WorkflowNode, WorkflowNodeData,
} from "./types";

export type FlowNode = Node<WorkflowNodeData>;
/** "forbidden": the server closed the socket because this user may no longer watch the
 * workflow's runs (removed from the team, demoted, deactivated); reconnecting cannot help. */
export type LiveState = "connecting" | "open" | "reconnecting" | "forbidden";

interface Snapshot { nodes: FlowNode[]; edges: Edge[] }

export interface EditorState {
  workflowId: string;
  /** False for a team's viewers: the canvas is read-only and nothing is saved. */
  canEdit: boolean;
  canRun: boolean;
  name: string;
  updatedAt: string;
  /** The graph as last loaded or saved: the base a teammate's overtaking save is merged
   * against (merge.ts). */
  base: { nodes: WorkflowNode[]; edges: WorkflowEdge[] } | null;
  webhookUrl: string | null;  // null: the caller may not run the workflow
  catalog: Map<string, NodeSpec>;
  nodes: FlowNode[];
  edges: Edge[];
  problems: Problem[];
  /** Run status per node id, so one status event re-renders one node. */
  runs: Record<string, NodeRunState>;
  /** A node a List fans out: each item's state (by node id, then item index) and the list's
   * size; `runs` holds their summary (fanout.ts). */
  branches: Record<string, Branches>;
  itemCounts: Record<string, number>;
  executionId: string | null;
  runStatus: ExecutionStatus | null;
  /** Pinned nodes of the run on the canvas whose output predates changes upstream: id → why. */
  stale: Record<string, string>;
  /** The newest event `seq` applied for this run: an older poll answer must not undo it. */
  runSeq: number;
  runStatusSeq: number;
  /** True while the canvas shows a past run opened from the history panel. */
  viewingPast: boolean;
  /** While a past run's own graph is on the canvas: today's graph (and whether it was
   * editable), put back by `restoreGraph`. */
  stashed: (Snapshot & { canEdit: boolean }) | null;
  live: LiveState;
  estimate: Estimate | null;
  /** Credits per node from the estimate, for O(1) reads by each node on the canvas. */
  nodeCredits: Record<string, number>;
  dirty: boolean;
  /** A save of ours is on the wire. */
  saving: boolean;
  notice: string | null;
  clipboard: Clip | null;
  pastes: number;
  past: Snapshot[];
  future: Snapshot[];
  /** The last setting edited, so typing a prompt is one undo step, not one per key. */
  lastEdit: { key: string; at: number } | null;
}

export interface EditorActions {
  setPermissions(permissions: { canEdit: boolean; canRun: boolean }): void;
  setCatalog(specs: NodeSpec[]): void;
  load(workflow: Workflow): void;
  /** A teammate's save in place of the saved graph on the canvas (which has no unsaved
   * changes): the viewport stays, and so does the selection of what is still there. */
  reload(workflow: Workflow): void;
  onNodesChange(changes: NodeChange<FlowNode>[]): void;
  onEdgesChange(changes: EdgeChange[]): void;
  connect(connection: Connection): void;
  /** Feed input `port` of `target` from `source`'s output (or nothing: null), replacing what a
   * one-edge port had: connecting without a mouse (the inspector's Inputs). */
  wire(target: string, port: string, source: { nodeId: string; output: string } | null): void;
  /** Whether an edge may join these handles (asked while an edge is dragged over them). */
  canConnect(connection: Connection | Edge): boolean;
  /** Say why an edge dropped on a handle was not made. */
  explainRefusal(connection: Connection): void;
  /** Add a node at the nearest free place to `position` (never on top of another). */
  addNode(nodeType: string, position: { x: number; y: number },
          config?: Record<string, unknown>): void;
  /** An Image Input holding `url`, placed left of `targetId` and wired into its image port
   * `port` ("use as input" in the viewer). Returns the new node's id, or null. */
  useAsInput(url: string, targetId: string, port: string): string | null;
  setConfig(nodeId: string, key: string, value: unknown): void;
  setConfigs(nodeId: string, values: Record<string, unknown>): void;
  setLabel(nodeId: string, label: string): void;
  /** Keep the output the node made in this run (null: run it again next time). */
  setPinned(nodeId: string, executionId: string | null): void;
  setStale(stale: StaleDependency[]): void;
  /** Move these nodes to these positions (the nodes inside a frame being dragged). */
  moveNodes(positions: Map<string, { x: number; y: number }>): void;
  /** Record the graph as it is before a change that React Flow makes (a drag). */
  checkpoint(): void;
  copy(): number;
  paste(): void;
  duplicate(): void;
  deleteSelected(): void;
  selectAll(): void;
  autoLayout(sizes: Map<string, Size>): void;
  undo(): void;
  redo(): void;
  /** A save succeeded; `clean` unless the graph changed while it was on its way; `graph`
   * what it saved (the next merge's base). */
  saved(updatedAt: string, clean?: boolean,
        graph?: { nodes: WorkflowNode[]; edges: WorkflowEdge[] }): void;
  setName(name: string): void;
  setWebhookUrl(url: string): void;
  setProblems(problems: Problem[]): void;
  setEstimate(estimate: Estimate | null): void;
  setLive(live: LiveState): void;
  setSaving(saving: boolean): void;
  notify(message: string | null): void;
  startRun(executionId: string, options?: { past?: boolean }): void;
  /** Show the graph a past run ran (read-only) in place of today's. */
  showPastGraph(nodes: WorkflowNode[], edges: WorkflowEdge[]): void;
  /** Today's graph back after `showPastGraph` (nothing if it was not shown). */
  restoreGraph(): void;
  nodeEvent(nodeId: string, state: Partial<NodeRunState>, seq?: number): void;
  /** One item's state of a fanned node (its event or poll row). */
  branchEvent(nodeId: string, index: number, count: number, state: Partial<NodeRunState>,
              seq?: number): void;
  runEvent(status: ExecutionStatus, seq?: number): void;
}

/** Frames lie under every other node (which stay above them even when a frame is selected). */
export const toFlowNode = (node: WorkflowNode, selected = false): FlowNode => ({
  id: node.id, type: "wireflow", position: node.position, data: node.data, selected,
  zIndex: node.data.nodeType === "utility:frame" ? 0 : 1,
});

export const toFlowEdge = (edge: WorkflowEdge, selected = false): Edge => ({
  ...edge, type: "default", selected,
});

export function toWorkflowJson(nodes: FlowNode[], edges: Edge[]) {
  return {
    nodes: nodes.map((node): WorkflowNode => ({
      id: node.id, type: "basedNode", position: node.position, data: node.data,
    })),
    edges: edges.map((edge): WorkflowEdge => ({
      id: edge.id, source: edge.source, sourceHandle: edge.sourceHandle ?? "",
      target: edge.target, targetHandle: edge.targetHandle ?? "",
    })),
  };
}

const HISTORY = 100;
const COALESCE_MS = 1200;
const PASTE_OFFSET = 40;

export const useEditor = create<EditorState & EditorActions>()((set, get) => {
  /** Record the graph before a change the user can undo. */
  const remember = () => {
    const { nodes, edges, past } = get();
    set({ past: [...past.slice(-HISTORY + 1), { nodes, edges }], future: [], lastEdit: null });
  };
  /** May an edge join these handles, and if not, why. */
  const connectionCheck = (connection: Connection | Edge) => {
    const { catalog, nodes, edges } = get();
    const json = toWorkflowJson(nodes, edges);
    return checkConnection(catalog, json.nodes, json.edges, connection);
  };
  /** Remember unless this edit continues the previous one (same node and setting). */
  const rememberEdit = (key: string) => {
    const { lastEdit } = get();
    const now = Date.now();
    if (!lastEdit || lastEdit.key !== key || now - lastEdit.at > COALESCE_MS) remember();
    set({ lastEdit: { key, at: now } });
  };
  const updateNode = (nodeId: string, update: (data: WorkflowNodeData) => WorkflowNodeData) =>
    set({
      nodes: get().nodes.map((node) => node.id !== nodeId ? node
        : { ...node, data: update(node.data) }),
      dirty: true,
    });
  /** A node's size before React Flow has measured it: media nodes carry their media area. */
  const sizeOf = (spec: NodeSpec | undefined): Size => {
    const ports = Math.max(spec?.inputs.filter((i) => i.isPort).length ?? 1,
                           spec?.outputs.length ?? 1);
    const media = spec?.outputs.some((o) => o.type === "image" || o.type === "video");
    return { width: 222, height: 60 + 22 * ports + (media ? 205 : 20) };
  };
  /** Every node's box on the canvas, as measured (estimated where not measured yet). */
  const boxes = () => get().nodes.map((n) => ({
    x: n.position.x, y: n.position.y,
    ...(n.measured?.width && n.measured?.height
      ? { width: n.measured.width, height: n.measured.height }
      : sizeOf(get().catalog.get(n.data.nodeType))),
  }));
  const takesMany = (nodeId: string, port: string) => {
    const node = get().nodes.find((n) => n.id === nodeId);
    return Boolean(node && get().catalog.get(node.data.nodeType)?.inputs
      .find((input) => input.id === port)?.multiple);
  };
  /** Add nodes and edges as the new selection (paste, duplicate). */
  const insert = (clip: Clip) => {
    remember();
    set({
      nodes: [...get().nodes.map((n) => n.selected ? { ...n, selected: false } : n),
              ...clip.nodes.map((n) => toFlowNode(n, true))],
      edges: [...get().edges.map((e) => e.selected ? { ...e, selected: false } : e),
              ...clip.edges.map((e) => toFlowEdge(e, true))],
      dirty: true,
    });
  };
  const selection = () => {
    const { nodes, edges } = get();
    const json = toWorkflowJson(nodes, edges);
    const ids = new Set(nodes.filter((n) => n.selected).map((n) => n.id));
    return { json, ids };
  };
  return {
    workflowId: "", canEdit: true, canRun: true, name: "", updatedAt: "", base: null,
    webhookUrl: "",
    catalog: new Map(), nodes: [], edges: [], problems: [], runs: {}, branches: {},
    itemCounts: {},
    executionId: null, runStatus: null, stale: {}, runSeq: 0, runStatusSeq: 0,
    viewingPast: false, stashed: null, live: "connecting", estimate: null,
    nodeCredits: {},
    dirty: false, saving: false, notice: null, clipboard: null, pastes: 0, past: [], future: [],
    lastEdit: null,

    setPermissions: (permissions) => set(permissions),
    setCatalog: (specs) => set({ catalog: new Map(specs.map((s) => [s.nodeType, s])) }),
    load: (workflow) => {
      const nodes = workflow.nodes.map((n) => toFlowNode(n));
      const edges = workflow.edges.map((e) => toFlowEdge(e));
      set({
        workflowId: workflow.id, name: workflow.name, updatedAt: workflow.updatedAt,
        webhookUrl: workflow.webhookUrl, nodes, edges, dirty: false, past: [], future: [],
        lastEdit: null, base: toWorkflowJson(nodes, edges),
      });
    },
    reload: (workflow) => {
      const { stashed } = get();
      // Viewing a past run: its graph stays on the canvas; today's (put back later) is theirs.
      const shown = stashed ?? get();
      const picked = new Set(shown.nodes.filter((n) => n.selected).map((n) => n.id));
      const pickedEdges = new Set(shown.edges.filter((e) => e.selected).map((e) => e.id));
      const sizes = new Map(shown.nodes.map((n) => [n.id, n.measured]));
      const nodes = workflow.nodes.map((n) => {
        const node = toFlowNode(n, picked.has(n.id));
        const measured = sizes.get(n.id);  // no flicker while React Flow measures it again
        return measured ? { ...node, measured } : node;
      });
      const edges = workflow.edges.map((e) => toFlowEdge(e, pickedEdges.has(e.id)));
      set({
        name: workflow.name, updatedAt: workflow.updatedAt, webhookUrl: workflow.webhookUrl,
        dirty: false, past: [], future: [], lastEdit: null, base: toWorkflowJson(nodes, edges),
        ...(stashed ? { stashed: { ...stashed, nodes, edges } } : { nodes, edges }),
      });
    },
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
      const check = connectionCheck(connection);
      if (!check.ok) {
        set({ notice: `Not connected: ${check.reason}` });
        return;
      }
      remember();
      set({ edges: addEdge({ ...connection, id: edgeId(connection) }, get().edges), dirty: true,
            notice: null });
    },
    wire: (target, port, source) => {
      const handle = `in-${port}`;
      const kept = get().edges.filter((e) => !(e.target === target && e.targetHandle === handle
                                               && (!source || !takesMany(target, port))));
      if (!source) {
        remember();
        set({ edges: kept, dirty: true });
        return;
      }
      const connection = { source: source.nodeId, sourceHandle: `out-${source.output}`,
                           target, targetHandle: handle };
      const check = checkConnection(get().catalog, toWorkflowJson(get().nodes, kept).nodes,
                                    toWorkflowJson(get().nodes, kept).edges, connection);
      if (!check.ok) {
        set({ notice: `Not connected: ${check.reason}` });
        return;
      }
      remember();
      set({ edges: addEdge({ ...connection, id: edgeId(connection) }, kept), dirty: true,
            notice: null });
    },
    canConnect: (connection) => connectionCheck(connection).ok,
    explainRefusal: (connection) => {
      const check = connectionCheck(connection);
      if (!check.ok) set({ notice: `Not connected: ${check.reason}` });
    },
    addNode: (nodeType, position, config) => {
      const spec = get().catalog.get(nodeType);
      if (!spec) return;
      remember();
      const node = createNode(spec, toWorkflowJson(get().nodes, []).nodes,
                              freeSpot(position, boxes(), sizeOf(spec)));
      if (config) node.data = { ...node.data, config: { ...(node.data.config ?? {}), ...config } };
      set({ nodes: [...get().nodes, toFlowNode(node)], dirty: true });
    },
    useAsInput: (url, targetId, port) => {
      const spec = get().catalog.get("input:image");
      const target = get().nodes.find((n) => n.id === targetId);
      if (!spec || !target) return null;
      remember();
      const wanted = { x: target.position.x - 300, y: target.position.y };
      const node = createNode(spec, toWorkflowJson(get().nodes, []).nodes,
                              freeSpot(wanted, boxes(), sizeOf(spec)));
      node.data = { ...node.data, config: { ...(node.data.config ?? {}), url } };
      const wire = { source: node.id, sourceHandle: "out-image", target: targetId,
                     targetHandle: `in-${port}` };
      // A port that takes one edge gives up the one it had.
      const edges = get().edges.filter((e) => !(e.target === targetId
        && e.targetHandle === wire.targetHandle && !takesMany(targetId, port)));
      set({
        nodes: [...get().nodes.map((n) => n.selected ? { ...n, selected: false } : n),
                toFlowNode(node, true)],
        edges: [...edges, toFlowEdge({ id: edgeId(wire), ...wire })],
        dirty: true,
      });
      return node.id;
    },
    setConfig: (nodeId, key, value) => {
      rememberEdit(`${nodeId}/config/${key}`);
      updateNode(nodeId, (data) => ({ ...data, config: { ...(data.config ?? {}), [key]: value } }));
    },
    setConfigs: (nodeId, values) => {
      remember();
      updateNode(nodeId, (data) => ({ ...data, config: { ...(data.config ?? {}), ...values } }));
    },
    setLabel: (nodeId, label) => {
      rememberEdit(`${nodeId}/label`);
      updateNode(nodeId, (data) => ({ ...data, label }));
    },
    setPinned: (nodeId, executionId) => {
      remember();
      updateNode(nodeId, (data) => {
        const { pinned: _old, ...rest } = data;
        return (executionId ? { ...rest, pinned: { executionId } } : rest) as WorkflowNodeData;
      });
      if (!executionId) {
        const { [nodeId]: _gone, ...stale } = get().stale;
        set({ stale });
      }
    },
    setStale: (items) => set({
      stale: Object.fromEntries(items.map((item) => [item.nodeId, item.message])),
    }),
    checkpoint: remember,
    moveNodes: (positions) => set({
      nodes: get().nodes.map((n) => positions.has(n.id) ? { ...n, position: positions.get(n.id)! }
                                                        : n),
      dirty: true,
    }),
    copy: () => {
      const { json, ids } = selection();
      if (!ids.size) return 0;
      set({ clipboard: copyNodes(json.nodes, json.edges, ids), pastes: 0 });
      return ids.size;
    },
    paste: () => {
      const { clipboard, pastes } = get();
      if (!clipboard?.nodes.length) return;
      const shift = PASTE_OFFSET * (pastes + 1);
      insert(pasteClip(clipboard, toWorkflowJson(get().nodes, []).nodes, { x: shift, y: shift }));
      set({ pastes: pastes + 1 });
    },
    duplicate: () => {
      const { json, ids } = selection();
      if (!ids.size) return;
      insert(pasteClip(copyNodes(json.nodes, json.edges, ids), json.nodes,
                       { x: PASTE_OFFSET, y: PASTE_OFFSET }));
    },
    deleteSelected: () => {
      const { nodes, edges } = get();
      const gone = new Set(nodes.filter((n) => n.selected).map((n) => n.id));
      const keptEdges = edges.filter((e) => !e.selected && !gone.has(e.source)
                                      && !gone.has(e.target));
      if (!gone.size && keptEdges.length === edges.length) return;
      remember();
      set({ nodes: nodes.filter((n) => !gone.has(n.id)), edges: keptEdges, dirty: true });
    },
    selectAll: () => set({
      nodes: get().nodes.map((n) => n.selected ? n : { ...n, selected: true }),
    }),
    autoLayout: (sizes) => {
      const { nodes, edges } = get();
      if (!nodes.length) return;
      const json = toWorkflowJson(nodes, edges);
      const positions = layoutPositions(json.nodes, json.edges, sizes);
      remember();
      set({
        nodes: nodes.map((n) => ({ ...n, position: positions.get(n.id) ?? n.position })),
        dirty: true,
      });
    },
    undo: () => {
      const { past, nodes, edges, future } = get();
      const previous = past[past.length - 1];
      if (!previous) return;
      set({ ...previous, past: past.slice(0, -1), future: [{ nodes, edges }, ...future],
            dirty: true, lastEdit: null });
    },
    redo: () => {
      const { past, nodes, edges, future } = get();
      const next = future[0];
      if (!next) return;
      set({ ...next, past: [...past, { nodes, edges }], future: future.slice(1), dirty: true,
            lastEdit: null });
    },
    saved: (updatedAt, clean = true, graph) => set({
      updatedAt, dirty: !clean, ...(graph ? { base: graph } : {}),
    }),
    setName: (name) => set({ name }),
    setWebhookUrl: (webhookUrl) => set({ webhookUrl }),
    setProblems: (problems) => set({ problems }),
    setEstimate: (estimate) => set({
      estimate,
      nodeCredits: Object.fromEntries((estimate?.breakdown ?? []).map((b) => [b.nodeId, b.credits])),
    }),
    setLive: (live) => set({ live }),
    setSaving: (saving) => set({ saving }),
    notify: (notice) => set({ notice }),
    startRun: (executionId, options) => set({
      executionId, runStatus: "QUEUED", runs: {}, branches: {}, itemCounts: {}, stale: {},
      runSeq: 0, runStatusSeq: 0,
      viewingPast: Boolean(options?.past),
    }),
    showPastGraph: (nodes, edges) => {
      const { stashed, nodes: now, edges: nowEdges, canEdit } = get();
      set({
        stashed: stashed ?? { nodes: now, edges: nowEdges, canEdit },
        nodes: nodes.map((node) => toFlowNode(node)), edges: edges.map((edge) => toFlowEdge(edge)),
        canEdit: false,
      });
    },
    restoreGraph: () => {
      const { stashed } = get();
      if (!stashed) return;
      set({ nodes: stashed.nodes, edges: stashed.edges, canEdit: stashed.canEdit, stashed: null });
    },
    nodeEvent: (nodeId, state, seq = 0) => {
      const previous: NodeRunState = get().runs[nodeId]
        ?? { status: "PENDING", progress: 0, error: null, output: null };
      // Events can arrive out of order (they are sent after commit from several workers): an
      // older one than what the node shows would turn a finished node back to running.
      if (seq && previous.seq && seq < previous.seq) return;
      set({ runs: { ...get().runs, [nodeId]: { ...previous, ...state, seq: seq || previous.seq } },
            runSeq: Math.max(get().runSeq, seq) });
    },
    branchEvent: (nodeId, index, count, state, seq = 0) => {
      const mine = get().branches[nodeId] ?? {};
      const previous: NodeRunState = mine[index]
        ?? { status: "PENDING", progress: 0, error: null, output: null };
      if (seq && previous.seq && seq < previous.seq) return;  // out of order: older
      const branches = { ...mine, [index]: { ...previous, ...state, seq: seq || previous.seq } };
      const total = Math.max(count, get().itemCounts[nodeId] ?? 0);
      const seen = Math.max(seq, get().runs[nodeId]?.seq ?? 0);
      set({
        branches: { ...get().branches, [nodeId]: branches },
        itemCounts: { ...get().itemCounts, [nodeId]: total },
        runs: { ...get().runs, [nodeId]: { ...summarise(branches, total), seq: seen || undefined } },
        runSeq: Math.max(get().runSeq, seq),
      });
    },
    runEvent: (runStatus, seq = 0) => {
      if (seq && seq < get().runStatusSeq) return;
      set({ runStatus, runStatusSeq: Math.max(get().runStatusSeq, seq),
            runSeq: Math.max(get().runSeq, seq) });
    },
  };
});

/** Selectors that return primitives, so a status event re-renders only what shows it. */
export const selectFinishedCount = (s: EditorState) =>
  Object.values(s.runs).filter((run) => isFinished(run.status)).length;
export const selectRunTotal = (s: EditorState) => Object.keys(s.runs).length;
export const selectSelectedCount = (s: EditorState) =>
  s.nodes.reduce((n, node) => n + (node.selected ? 1 : 0), 0);
