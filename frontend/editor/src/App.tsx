import {
  Background, Controls, MiniMap, ReactFlow, ReactFlowProvider, useReactFlow,
} from "@xyflow/react";
import { useCallback, useEffect, useRef, useState } from "react";

import { api, ApiError } from "./api";
import FlowNode from "./components/FlowNode";
import Inspector from "./components/Inspector";
import Palette from "./components/Palette";
import { resync, useLiveStatus } from "./live";
import { toWorkflowJson, useEditor } from "./store";
import type { NodeSpec, Problem, Workflow } from "./types";

const nodeTypes = { wireflow: FlowNode };
const DONE = new Set(["COMPLETED", "FAILED", "CANCELLED"]);

async function save(strict: boolean, overwrite = false): Promise<boolean> {
  const editor = useEditor.getState();
  const body = {
    id: editor.workflowId,
    ...toWorkflowJson(editor.nodes, editor.edges),
    ...(overwrite ? {} : { baseUpdatedAt: editor.updatedAt }),
  };
  try {
    const saved = await api<{ data: Workflow }>("POST", `/workflows?strict=${strict}`, body);
    editor.saved(saved.data.updatedAt);
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) {
      editor.notify("conflict");
    } else if (error instanceof ApiError) {
      editor.notify(`Not saved: ${error.message}`);
    }
    return false;
  }
}

function Editor({ workflowId }: { workflowId: string }) {
  const nodes = useEditor((s) => s.nodes);
  const edges = useEditor((s) => s.edges);
  const dirty = useEditor((s) => s.dirty);
  const notice = useEditor((s) => s.notice);
  const runStatus = useEditor((s) => s.runStatus);
  const executionId = useEditor((s) => s.executionId);
  const runs = useEditor((s) => s.runs);
  const name = useEditor((s) => s.name);
  const { onNodesChange, onEdgesChange, connect, addNode, undo, redo, notify } = useEditor.getState();
  const flow = useReactFlow();
  const [estimate, setEstimate] = useState<number | null>(null);
  const lintTimer = useRef<number>(0);
  const lintRound = useRef(0);
  useLiveStatus(workflowId);

  useEffect(() => {
    void (async () => {
      const [catalog, workflow] = await Promise.all([
        api<{ nodes: NodeSpec[] }>("GET", "/nodes"),
        api<Workflow>("GET", `/workflows/${workflowId}`),
      ]);
      useEditor.getState().setCatalog(catalog.nodes);
      useEditor.getState().load(workflow);
      setTimeout(() => flow.fitView({ padding: 0.2, maxZoom: 1 }), 50);
    })().catch((error) => notify(`Could not open the workflow: ${error.message}`));
  }, [workflowId, flow, notify]);

  // Lint as the graph changes; autosave a draft a moment after the last change.
  useEffect(() => {
    window.clearTimeout(lintTimer.current);
    lintTimer.current = window.setTimeout(() => {
      const graph = toWorkflowJson(useEditor.getState().nodes, useEditor.getState().edges);
      if (!graph.nodes.length) return;
      const round = ++lintRound.current;  // answers can arrive out of order: keep the newest
      api<{ data: { violations: Problem[] } }>("POST", "/workflows/lint", graph)
        .then((result) => {
          if (round === lintRound.current) useEditor.getState().setProblems(result.data.violations);
        })
        .catch(() => undefined);
    }, 400);
  }, [nodes, edges]);
  useEffect(() => {
    if (!dirty) return;
    const timer = window.setTimeout(() => { void save(false); }, 1500);
    return () => window.clearTimeout(timer);
  }, [dirty, nodes, edges]);
  useEffect(() => {
    if (dirty || !workflowId) return;
    api<{ data: { estimatedCredits: number } }>("POST", `/workflows/${workflowId}/estimate`, {})
      .then((result) => setEstimate(result.data.estimatedCredits)).catch(() => undefined);
  }, [dirty, workflowId]);

  const run = useCallback(async (targetNodeId?: string) => {
    if (!(await save(false))) return;
    try {
      const started = await api<{ executionId: string }>(
        "POST", `/workflows/${workflowId}/execute`, targetNodeId ? { targetNodeId } : {});
      useEditor.getState().startRun(started.executionId);
      void resync();
    } catch (error) {
      notify(`Not started: ${(error as Error).message}`);
    }
  }, [workflowId, notify]);

  const cancel = useCallback(async () => {
    if (executionId) await api("POST", `/workflows/executions/${executionId}/cancel`);
  }, [executionId]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const mod = event.ctrlKey || event.metaKey;
      const typing = (event.target as HTMLElement)?.closest("input, textarea, select");
      if (mod && event.key.toLowerCase() === "z" && !typing) {
        event.preventDefault();
        if (event.shiftKey) redo(); else undo();
      } else if (mod && event.key === "Enter") {
        event.preventDefault();
        void run();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [undo, redo, run]);

  const total = nodes.length;
  const finished = Object.values(runs).filter((r) => DONE.has(r.status) || r.status === "CACHED"
                                               || r.status === "SKIPPED").length;
  const running = runStatus !== null && !DONE.has(runStatus);
  const selected = nodes.find((node) => node.selected);

  return (
    <div className="editor">
      <header className="toolbar">
        <a href="/">← Workflows</a>
        <strong>{name}</strong>
        <span className="muted" data-testid="save-state">{dirty ? "Unsaved changes…" : "Saved"}</span>
        <span style={{ flex: 1 }} />
        <button onClick={undo} title="Undo (Ctrl+Z)">Undo</button>
        <button onClick={redo} title="Redo (Ctrl+Shift+Z)">Redo</button>
        <button onClick={() => void save(false)}>Save</button>
        {selected && <button onClick={() => void run(selected.id)}>Run to here</button>}
        {running
          ? <button onClick={() => void cancel()}>Cancel</button>
          : <button className="primary" data-testid="run" onClick={() => void run()}
                    title="Run (Ctrl+Enter)">
              Run{estimate !== null ? ` · ${estimate} credits` : ""}
            </button>}
        {runStatus && (
          <span className="run-progress" data-testid="run-status">
            {runStatus.toLowerCase()}
            <progress max={Math.max(1, total)} value={finished} />
          </span>
        )}
      </header>
      {notice === "conflict" ? (
        <div className="notice" role="alert">
          A teammate saved this workflow after you opened it.{" "}
          <button onClick={() => window.location.reload()}>Reload theirs</button>{" "}
          <button onClick={() => { notify(null); void save(false, true); }}>Keep mine</button>
        </div>
      ) : notice && (
        <div className="notice" role="alert" data-testid="notice">
          {notice} <button onClick={() => notify(null)}>×</button>
        </div>
      )}
      <div className="workspace">
        <Palette />
        <div className="canvas"
             onDragOver={(event) => { event.preventDefault(); event.dataTransfer.dropEffect = "move"; }}
             onDrop={(event) => {
               event.preventDefault();
               const nodeType = event.dataTransfer.getData("application/wireflow-node");
               if (nodeType) {
                 addNode(nodeType, flow.screenToFlowPosition({ x: event.clientX, y: event.clientY }));
               }
             }}>
          <ReactFlow nodes={nodes} edges={edges} nodeTypes={nodeTypes}
                     onNodesChange={onNodesChange} onEdgesChange={onEdgesChange}
                     onConnect={connect} deleteKeyCode={["Backspace", "Delete"]}
                     multiSelectionKeyCode="Shift" fitView fitViewOptions={{ maxZoom: 1 }}
                     minZoom={0.1} colorMode="dark">
            <Background />
            <MiniMap pannable zoomable bgColor="#14171d" maskColor="rgba(0,0,0,0.45)"
                     nodeColor="#394150" />
            <Controls />
          </ReactFlow>
        </div>
        <Inspector />
      </div>
    </div>
  );
}

export default function App({ workflowId }: { workflowId: string }) {
  return <ReactFlowProvider><Editor workflowId={workflowId} /></ReactFlowProvider>;
}
