import {
  Background, Controls, type FinalConnectionState, MiniMap, ReactFlow, ReactFlowProvider,
  useReactFlow, useStore,
} from "@xyflow/react";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";

import { describe, fetchCatalog, fetchWorkflow, uploadMedia } from "./api";
import FlowNode, { FRAME_TYPE } from "./components/FlowNode";
import Palette from "./components/Palette";
import ConnectMenu from "./components/ConnectMenu";
import QuickAdd from "./components/QuickAdd";
import ShortcutHelp from "./components/ShortcutHelp";
import SidePanel from "./components/SidePanel";
import Toolbar from "./components/Toolbar";
import Viewer from "./components/Viewer";
import { useLiveStatus } from "./live";
import * as runs from "./runs";
import { save, useAutosave, useEstimate, useLint } from "./save";
import { useShortcuts } from "./shortcuts";
import { useTheme } from "./components/ThemeToggle";
import { MEDIA_COLORS } from "./graph";
import type { NodeStatus } from "./status";
import { type FlowNode as FlowNodeT, useEditor } from "./store";
import type { Size } from "./layout";
import type { NodeSpec } from "./types";

/** A URL's path that names a sound file (a dropped link becomes an Audio Input). */
const AUDIO_URL = /\.(mp3|wav|m4a|aac|ogg|oga|opus|flac)$/i;

/** An image or audio file, or such a URL, dropped on the canvas becomes an Image Input or an
 * Audio Input there (a file is uploaded first, as the inspector's upload does; the server
 * tells what it is from its content). */
async function dropMedia(data: DataTransfer, at: { x: number; y: number }): Promise<void> {
  const editor = useEditor.getState();
  const file = Array.from(data.files).find((item) => item.type.startsWith("image/")
                                           || item.type.startsWith("audio/"));
  const text = (data.getData("text/uri-list") || data.getData("text/plain")).split("\n")[0].trim();
  let url: string | null = null;
  let kind = "image";
  try {
    if (file) {
      const uploaded = (await uploadMedia(file)).data;
      url = uploaded.url;
      kind = uploaded.type;
    } else if (/^https?:\/\//.test(text)) {
      url = text;
      kind = AUDIO_URL.test(text.split(/[?#]/)[0]) ? "audio" : "image";
    }
  } catch (error) {
    editor.notify(`Not uploaded: ${describe(error)}`);
    return;
  }
  if (!url) {
    if (data.files.length) editor.notify("Only images and sounds can be dropped on the canvas");
    return;
  }
  if (kind !== "image" && kind !== "audio") {
    editor.notify(`A ${kind} cannot be an input here: drop an image or a sound`);
    return;
  }
  editor.addNode(kind === "audio" ? "input:audio" : "input:image", at, { url });
}

type FrameDrag = { id: string; start: { x: number; y: number };
                  members: Map<string, { x: number; y: number }> };

/** The nodes wholly inside a frame, with where they are. */
function framed(frame: FlowNodeT, nodes: FlowNodeT[]): Map<string, { x: number; y: number }> {
  const width = Number(frame.data.config?.width ?? 640);
  const height = Number(frame.data.config?.height ?? 420);
  const inside = new Map<string, { x: number; y: number }>();
  for (const node of nodes) {
    if (node.id === frame.id || node.data.nodeType === FRAME_TYPE) continue;
    const w = node.measured?.width ?? 220;
    const h = node.measured?.height ?? 120;
    if (node.position.x >= frame.position.x && node.position.y >= frame.position.y
        && node.position.x + w <= frame.position.x + width
        && node.position.y + h <= frame.position.y + height) {
      inside.set(node.id, node.position);
    }
  }
  return inside;
}

type QuickAt = { screen: { x: number; y: number }; flow: { x: number; y: number } };

/** The media type an output handle sends ("any" when unknown). */
function mediaOf(catalog: Map<string, NodeSpec>, nodeType: string | undefined,
                 handle: string | null | undefined): string {
  const spec = nodeType ? catalog.get(nodeType) : undefined;
  return spec?.outputs.find((output) => `out-${output.id}` === handle)?.type ?? "any";
}

// Module level: React Flow re-creates every node when this object changes identity.
const nodeTypes = { wireflow: FlowNode };
const MULTI_SELECT = ["Shift", "Meta", "Control"];
// Room at the bottom for the minimap and the zoom controls, so no node hides behind them.
const FIT = { padding: { top: "30px", left: "60px", right: "30px", bottom: "120px" },
              maxZoom: 1 } as const;
const ZOOMED_OUT = 0.55;
const PROBLEM_EDGE = { stroke: "#d9902f", strokeWidth: 2 };
const EDGE_LABEL = { fill: "#ffb86b", fontSize: 11 };
const EDGE_LABEL_BG = { fill: "#1b1f27" };
const MINIMAP_COLORS: Partial<Record<NodeStatus, string>> = {
  RUNNING: "#f5c542", COMPLETED: "#5fd38d", CACHED: "#5fd38d", FAILED: "#ff6b6b",
};

/** The minimap, coloured by run status; it redraws when a status changes (a string key, so
 * progress ticks do not redraw it). */
function RunMiniMap() {
  const statuses = useEditor((s) => Object.entries(s.runs)
    .map(([id, run]) => `${id}=${run.status}`).join(","));
  const color = useCallback((node: { id: string }) => {
    const status = useEditor.getState().runs[node.id]?.status;
    return (status && MINIMAP_COLORS[status]) ?? "#394150";
  },
  // A new function when a status changes is what makes React Flow redraw the minimap.
  [statuses]);
  return <MiniMap pannable zoomable bgColor="var(--panel)" maskColor="rgba(0,0,0,0.45)"
                  nodeColor={color} style={{ width: 150, height: 100 }} />;
}

function Canvas() {
  const nodes = useEditor((s) => s.nodes);
  const rawEdges = useEditor((s) => s.edges);
  const problems = useEditor((s) => s.problems);
  const catalog = useEditor((s) => s.catalog);
  // Types of the nodes, as one string: moving a node changes `nodes` but not the edges' colours.
  const typeKey = useEditor((s) => s.nodes.map((n) => `${n.id}\u0001${n.data.nodeType}`)
    .join("\u0002"));
  // Each edge in the colour of what it carries; lint problems that name an edge show on it.
  const edges = useMemo(() => {
    const types = new Map(typeKey.split("\u0002").map((pair) => pair.split("\u0001") as
                                                     [string, string]));
    // A short label on the edge (the rule); the full message is on the node it names.
    const byEdge = new Map(problems.filter((p) => p.edgeId)
      .map((p) => [p.edgeId!, `⚠ ${p.rule.replace(/_/g, " ")}`]));
    return rawEdges.map((edge) => {
      const media = mediaOf(catalog, types.get(edge.source), edge.sourceHandle);
      const styled = { ...edge, className: `edge-${media}`,
                       style: { stroke: MEDIA_COLORS[media] ?? MEDIA_COLORS.any, strokeWidth: 2 } };
      return byEdge.has(edge.id)
        ? { ...styled, className: "edge-problem", style: PROBLEM_EDGE,
            label: byEdge.get(edge.id), animated: true,
            labelStyle: EDGE_LABEL, labelBgStyle: EDGE_LABEL_BG,
            labelBgPadding: [4, 2] as [number, number] }
        : styled;
    });
  }, [rawEdges, problems, catalog, typeKey]);
  const canEdit = useEditor((s) => s.canEdit);
  const { onNodesChange, onEdgesChange, connect, addNode, checkpoint, canConnect,
          explainRefusal } = useEditor.getState();
  // While an edge is dragged, a handle it may not join shows red (and one it may, green);
  // dropped there, the editor says why instead of silently doing nothing.
  const onConnectEnd = useCallback((_: MouseEvent | TouchEvent, state: FinalConnectionState) => {
    const { fromHandle, toHandle, isValid } = state;
    if (!fromHandle || !toHandle || isValid) return;
    const [source, target] = fromHandle.type === "source" ? [fromHandle, toHandle]
      : [toHandle, fromHandle];
    explainRefusal({ source: source.nodeId, sourceHandle: source.id ?? null,
                     target: target.nodeId, targetHandle: target.id ?? null });
  }, [explainRefusal]);
  const flow = useReactFlow();
  const colorMode = useTheme((s) => s.choice);
  // Dragging a frame drags the nodes that lay inside it when the drag began.
  const frameDrag = useRef<FrameDrag | null>(null);
  const onNodeDragStart = useCallback((_: unknown, node: FlowNodeT) => {
    checkpoint();
    frameDrag.current = node.data.nodeType === FRAME_TYPE
      ? { id: node.id, start: node.position, members: framed(node, useEditor.getState().nodes) }
      : null;
  }, [checkpoint]);
  const onNodeDrag = useCallback((_: unknown, node: FlowNodeT) => {
    const drag = frameDrag.current;
    if (!drag || drag.id !== node.id) return;
    const dx = node.position.x - drag.start.x;
    const dy = node.position.y - drag.start.y;
    useEditor.getState().moveNodes(new Map([...drag.members].map(
      ([id, at]) => [id, { x: at.x + dx, y: at.y + dy }])));
  }, []);
  const [quickAdd, setQuickAdd] = useState<QuickAt | null>(null);
  // Below this zoom a node's 12 px text is unreadable: nodes show their label large instead.
  const zoomedOut = useStore((s) => s.transform[2] < ZOOMED_OUT);
  return (
    <main className={`canvas${zoomedOut ? " zoomed-out" : ""}`} aria-label="Canvas"
          data-zoomed-out={zoomedOut}
         onDoubleClick={(event) => {
           if (!canEdit || !(event.target as HTMLElement).classList.contains("react-flow__pane")) {
             return;
           }
           const box = event.currentTarget.getBoundingClientRect();
           setQuickAdd({ screen: { x: event.clientX - box.left, y: event.clientY - box.top },
                         flow: flow.screenToFlowPosition({ x: event.clientX, y: event.clientY }) });
         }}
         onDragOver={(event) => { event.preventDefault(); event.dataTransfer.dropEffect = "move"; }}
         onDrop={(event) => {
           event.preventDefault();
           if (!canEdit) return;
           const at = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
           const nodeType = event.dataTransfer.getData("application/wireflow-node");
           if (nodeType) {
             addNode(nodeType, at);
             return;
           }
           void dropMedia(event.dataTransfer, at);
         }}>
      <ReactFlow nodes={nodes} edges={edges} nodeTypes={nodeTypes}
                 onNodesChange={onNodesChange} onEdgesChange={onEdgesChange}
                 onConnect={connect} isValidConnection={canConnect}
                 onConnectEnd={onConnectEnd} onNodeDragStart={onNodeDragStart}
                 onNodeDrag={onNodeDrag} onNodeDragStop={() => { frameDrag.current = null; }}
                 elevateNodesOnSelect={false}
                 onSelectionDragStart={checkpoint}
                 nodesDraggable={canEdit} nodesConnectable={canEdit}
                 deleteKeyCode={null} multiSelectionKeyCode={MULTI_SELECT}
                 fitView fitViewOptions={FIT} minZoom={0.1} colorMode={colorMode}
                 zoomOnDoubleClick={false}
                 onlyRenderVisibleElements={nodes.length > 60}>
        <Background />
        <RunMiniMap />
        <Controls fitViewOptions={FIT} />
      </ReactFlow>
      {quickAdd && <QuickAdd at={quickAdd} onClose={() => setQuickAdd(null)} />}
    </main>
  );
}

function Editor({ workflowId }: { workflowId: string }) {
  const canEdit = useEditor((s) => s.canEdit);
  const pastGraph = useEditor((s) => s.stashed !== null);
  const viewingPast = useEditor((s) => s.viewingPast);
  const flow = useReactFlow();
  const [ready, setReady] = useState(false);
  useLiveStatus(workflowId);
  useAutosave();
  useLint();
  useEstimate(workflowId);

  // Open the workflow once per id. React Flow's instance (`flow`) changes identity while it
  // initialises, so it is read through a ref: as a dependency it re-ran this effect, and the
  // second load could land after the user's first edit and wipe it.
  const flowRef = useRef(flow);
  flowRef.current = flow;
  useEffect(() => {
    let stale = false;
    void (async () => {
      const [catalog, workflow] = await Promise.all([fetchCatalog(), fetchWorkflow(workflowId)]);
      if (stale) return;
      useEditor.getState().setCatalog(catalog.nodes);
      useEditor.getState().load(workflow);
      setReady(true);
      setTimeout(() => void flowRef.current.fitView(FIT), 50);
      // ?run=<id> (a gallery's "Open its run"): that run's states and outputs on the canvas.
      const past = new URLSearchParams(window.location.search).get("run");
      if (past) void runs.openPast(past).catch(() => useEditor.getState().notify(
        "That run is not one of this workflow's, or is gone"));
    })().catch((error) => {
      if (!stale) useEditor.getState().notify(`Could not open the workflow: ${error.message}`);
    });
    return () => { stale = true; };
  }, [workflowId]);

  // Toolbar, inspector and Ctrl+Enter all start runs here (runs.start lets one start at a time).
  const run = useCallback((targetNodeId?: string) => void runs.start(workflowId, targetNodeId),
                          [workflowId]);

  const layout = useCallback(() => {
    // Sizes as the nodes are on screen now (offset sizes ignore the zoom): a node restored by
    // undo carries the `measured` it had when it was removed, and React Flow keeps that until
    // the element resizes again.
    const sizes = new Map<string, Size>();
    for (const node of flow.getNodes()) {
      const element = document.querySelector<HTMLElement>(
        `.react-flow__node[data-id="${CSS.escape(node.id)}"]`);
      const measured = flow.getInternalNode(node.id)?.measured ?? node.measured;
      const width = element?.offsetWidth || measured?.width;
      const height = element?.offsetHeight || measured?.height;
      if (width && height) sizes.set(node.id, { width, height });
    }
    useEditor.getState().autoLayout(sizes);
    window.setTimeout(() => void flow.fitView({ ...FIT, duration: 200 }), 30);
  }, [flow]);

  const saveNow = useCallback(() => void save(), []);
  const [help, setHelp] = useState(false);
  const showHelp = useCallback(() => setHelp(true), []);
  useShortcuts({ run, save: saveNow, help: showHelp });

  return (
    <div className="editor" data-ready={ready}>
      <Toolbar onRun={run} onLayout={layout} />
      <div className="workspace">
        {canEdit ? <Palette /> : <aside className="palette muted" data-testid="read-only">
          {pastGraph && !viewingPast
            ? "An earlier version of the graph, read-only: Versions › Back to the current graph."
            : pastGraph
            ? "The graph as this run ran it, read-only: go back to the latest run to edit."
            : "You can view this workflow and its runs; editing needs the editor role."}
        </aside>}
        <Canvas />
        <SidePanel onRunTo={run} />
      </div>
      <Viewer />
      <ConnectMenu />
      {help && <ShortcutHelp onClose={() => setHelp(false)} />}
    </div>
  );
}

export default function App({ workflowId, canEdit = true, canRun = true }: {
  workflowId: string; canEdit?: boolean; canRun?: boolean;
}) {
  useState(() => useEditor.getState().setPermissions({ canEdit, canRun }));
  return <ReactFlowProvider><Editor workflowId={workflowId} /></ReactFlowProvider>;
}
