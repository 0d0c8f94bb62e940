// Saving: debounced autosave of drafts, explicit save, the conflict rule (baseUpdatedAt on
// every save), plus live lint and the credit estimate that follow the saved graph.

import { useEffect, useRef } from "react";
import { useShallow } from "zustand/react/shallow";

import { api, ApiError, describe, estimate as fetchEstimate, lint, saveWorkflow } from "./api";
import { previewMerge } from "./merge";
import { toWorkflowJson, useEditor } from "./store";
import type { Workflow } from "./types";

export const CONFLICT = "conflict";
const AUTOSAVE_MS = 1500;
const LINT_MS = 400;

let queue: Promise<boolean> = Promise.resolve(true);

/** Save the graph as it is now. Saves run one after another, so each one carries the
 * `updatedAt` the previous one returned (never a stale base of our own making). With
 * `overwrite`, no base is sent: the user chose to replace a teammate's save. */
export function save(options: { strict?: boolean; overwrite?: boolean } = {}): Promise<boolean> {
  queue = queue.then(() => saveNow(options), () => saveNow(options));
  return queue;
}

async function saveNow({ strict = false, overwrite = false }): Promise<boolean> {
  const editor = useEditor.getState();
  const { nodes, edges } = editor;
  if (!editor.workflowId || !editor.canEdit) return false;
  editor.setSaving(true);  // a teammate's save told meanwhile waits for our answer (teammate.ts)
  try {
    const graph = toWorkflowJson(nodes, edges);
    const saved = await saveWorkflow(editor.workflowId, graph, {
      strict, baseUpdatedAt: overwrite ? undefined : editor.updatedAt,
    });
    const now = useEditor.getState();
    // Edits made while the request was out stay unsaved; the next autosave takes them.
    now.saved(saved.data.updatedAt, now.nodes === nodes && now.edges === edges, graph);
    if (now.notice === CONFLICT) now.notify(null);
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) {
      editor.notify(CONFLICT);
      void previewMerge();  // can the teammate's save and ours be merged?
    } else {
      // Drafts save with problems; what is refused anyway (caps, an empty graph) says why.
      editor.notify(`Not saved: ${describe(error)}`);
    }
    return false;
  } finally {
    useEditor.getState().setSaving(false);
  }
}

/** Keep both versions: the teammate's stays where it is, ours becomes a new workflow. */
export async function saveAsCopy(): Promise<string> {
  const editor = useEditor.getState();
  const created = await api<{ data: Workflow }>("POST", "/workflows?strict=false", {
    name: `${editor.name} (my copy)`, ...toWorkflowJson(editor.nodes, editor.edges),
  });
  return created.data.id;
}

export function useAutosave() {
  const dirty = useEditor((s) => s.dirty);
  const nodes = useEditor((s) => s.nodes);
  const edges = useEditor((s) => s.edges);
  const conflict = useEditor((s) => s.notice === CONFLICT);
  const canEdit = useEditor((s) => s.canEdit);
  useEffect(() => {
    if (!dirty || conflict || !canEdit) return;
    const timer = window.setTimeout(() => { void save(); }, AUTOSAVE_MS);
    return () => window.clearTimeout(timer);
  }, [dirty, conflict, canEdit, nodes, edges]);
  useEffect(() => {
    const warn = (event: BeforeUnloadEvent) => {
      if (useEditor.getState().dirty && useEditor.getState().canEdit) event.preventDefault();
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, []);
}

/** Lint the graph at most LINT_MS after it changes (a steady stream of edits never starves
 * it); answers can arrive out of order, keep the newest. Moving or measuring a node changes
 * nothing that lint reads, so only node data and edges count. */
export function useLint() {
  const data = useEditor(useShallow((s) => s.nodes.map((node) => node.data)));
  const edges = useEditor((s) => s.edges);
  const round = useRef(0);
  const timer = useRef(0);
  useEffect(() => {
    if (timer.current) return;  // one is already coming: it will read the latest graph
    timer.current = window.setTimeout(() => {
      timer.current = 0;
      const graph = toWorkflowJson(useEditor.getState().nodes, useEditor.getState().edges);
      if (!graph.nodes.length) {
        useEditor.getState().setProblems([]);
        return;
      }
      const mine = ++round.current;
      lint(graph)
        .then((result) => {
          if (mine === round.current) useEditor.getState().setProblems(result.data.violations);
        })
        .catch(() => undefined);
    }, LINT_MS);
  }, [data, edges]);
  useEffect(() => () => window.clearTimeout(timer.current), []);
}

/** The saved graph's credit estimate, read again after every save. */
export function useEstimate(workflowId: string) {
  const updatedAt = useEditor((s) => s.updatedAt);
  useEffect(() => {
    if (!workflowId || !updatedAt) return;
    fetchEstimate(workflowId)
      .then((result) => useEditor.getState().setEstimate(result.data))
      .catch(() => undefined);
  }, [workflowId, updatedAt]);
}
