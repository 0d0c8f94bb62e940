import { Background, Controls, ReactFlow, ReactFlowProvider, useReactFlow } from "@xyflow/react";
import { useState, type KeyboardEvent } from "react";

import FlowNode from "../components/FlowNode";
import Viewer from "../components/Viewer";
import { useEditor } from "../store";
import { useTheme } from "../components/ThemeToggle";
import type { NodeRunState, NodeSpec, WorkflowEdge, WorkflowNode } from "../types";

/** What the share page embeds (frontend/share.py `_canvas_data`): the sanitized graph, the
 * catalog entries of its node types, and each node's latest output as a run's node state. */
export interface ShareData {
  name: string;
  nodes: WorkflowNode[];
  edges: WorkflowEdge[];
  catalog: NodeSpec[];
  runs: Record<string, NodeRunState>;
}

const nodeTypes = { wireflow: FlowNode };
const FIT = { padding: 0.1 };
const STEP = 80;  // px an arrow key pans the view

/** Pan with the arrow keys, zoom with + and −, fit with 0, while the canvas has focus (the
 * nodes themselves are reached with Tab; the view follows the focused node). */
function useKeyboardView() {
  const flow = useReactFlow();
  return (event: KeyboardEvent<HTMLDivElement>) => {
    if ((event.target as HTMLElement).closest("input, select, textarea, audio, video")) return;
    const { x, y, zoom } = flow.getViewport();
    const pan: Record<string, [number, number]> = {
      ArrowLeft: [STEP, 0], ArrowRight: [-STEP, 0], ArrowUp: [0, STEP], ArrowDown: [0, -STEP],
    };
    if (pan[event.key]) {
      const [dx, dy] = pan[event.key];
      void flow.setViewport({ x: x + dx, y: y + dy, zoom }, { duration: 100 });
    } else if (event.key === "+" || event.key === "=") {
      void flow.zoomIn({ duration: 100 });
    } else if (event.key === "-") {
      void flow.zoomOut({ duration: 100 });
    } else if (event.key === "0") {
      void flow.fitView({ ...FIT, duration: 100 });
    } else {
      return;
    }
    event.preventDefault();
  };
}

function Canvas({ data }: { data: ShareData }) {
  const nodes = useEditor((s) => s.nodes);
  const edges = useEditor((s) => s.edges);
  const colorMode = useTheme((s) => s.choice);
  const onKeyDown = useKeyboardView();
  return (
    <div className="share-flow" role="region" tabIndex={0} data-testid="share-canvas"
         data-ready={nodes.length === data.nodes.length}
         aria-label={`Canvas of ${data.name}, read-only: arrow keys pan, + and − zoom, 0 fits; `
                     + "Tab reaches each node"}
         onKeyDown={onKeyDown}>
      <ReactFlow nodes={nodes} edges={edges} nodeTypes={nodeTypes}
                 nodesDraggable={false} nodesConnectable={false} elementsSelectable={false}
                 edgesFocusable={false} deleteKeyCode={null} selectionKeyCode={null}
                 multiSelectionKeyCode={null} zoomOnDoubleClick={false}
                 fitView fitViewOptions={FIT} minZoom={0.1} colorMode={colorMode}
                 onlyRenderVisibleElements={nodes.length > 60}>
        <Background />
        <Controls fitViewOptions={FIT} showInteractive={false} />
      </ReactFlow>
    </div>
  );
}

/** The shared workflow on the editor's own nodes, read-only: pan, zoom and fit, open an output
 * in the viewer; nothing can be edited or run (the store is loaded and never saved). */
export default function ShareCanvas({ data }: { data: ShareData }) {
  useState(() => {
    const store = useEditor.getState();
    store.setPermissions({ canEdit: false, canRun: false });
    store.setCatalog(data.catalog);
    store.load({ id: "", name: data.name, updatedAt: "", webhookUrl: null,
                 nodes: data.nodes, edges: data.edges });
    useEditor.setState({ runs: data.runs });
    return null;
  });
  return (
    <ReactFlowProvider>
      <Canvas data={data} />
      <Viewer />
    </ReactFlowProvider>
  );
}
