// A teammate's save, told over the workflow's socket (`workflow.saved`, without the graph):
// an editor with nothing unsaved loads it in place; one with unsaved changes offers the merge
// at once (the same offer as after a refused save, merge.ts) instead of waiting to be refused.
// The echo of this editor's own saves is ignored: its `updatedAt` is the one the save
// returned. While a save or a merge of ours is on the wire, the news waits for its answer.

import { fetchWorkflow } from "./api";
import { previewMerge, useMerge } from "./merge";
import { CONFLICT } from "./save";
import { useEditor } from "./store";
import type { WorkflowSavedEvent } from "./types";

let pending: WorkflowSavedEvent | null = null;
let fetching = false;

/** A save of the workflow on the canvas was told (ours or a teammate's). */
export function workflowSaved(event: WorkflowSavedEvent): Promise<void> {
  if (!pending || event.updatedAt > pending.updatedAt) pending = event;
  return consider();
}

const busy = () => fetching || useEditor.getState().saving || useMerge.getState().busy;

/** Timestamps are the server's ISO 8601 in UTC with microseconds: they sort as text. */
const newer = (event: WorkflowSavedEvent) => {
  const { updatedAt } = useEditor.getState();
  return Boolean(updatedAt) && event.updatedAt > updatedAt;
};

async function consider(): Promise<void> {
  if (!pending || busy()) return;  // looked at again when ours is answered
  const event = pending;
  pending = null;
  const editor = useEditor.getState();
  if (event.workflowId !== editor.workflowId || !newer(event)) return;  // ours, or known
  if (editor.dirty || editor.notice === CONFLICT) {
    offerMerge();
    return;
  }
  fetching = true;
  try {
    const workflow = await fetchWorkflow(event.workflowId);
    const now = useEditor.getState();
    if (workflow.updatedAt <= now.updatedAt) return;  // something newer was loaded meanwhile
    if (now.dirty) {
      offerMerge();  // edited while it was fetched
      return;
    }
    now.reload(workflow);
    now.notify(`${event.author} saved v${workflow.version ?? event.version}`);
  } catch {
    // Not fetched (offline, gone): the next save's refusal still offers the merge.
  } finally {
    fetching = false;
    void consider();
  }
}

function offerMerge() {
  const editor = useEditor.getState();
  if (!editor.canEdit) return;
  editor.notify(CONFLICT);
  void previewMerge();
}

// A save or merge of ours answered: news that waited for it is looked at now.
useEditor.subscribe((state, previous) => {
  if (previous.saving && !state.saving) void consider();
});
useMerge.subscribe((state, previous) => {
  if (previous.busy && !state.busy) void consider();
});
