// A run's life in the editor: start one (one at a time), cancel it, open a past one from the
// history, go back to the latest; and putting what the server says of a run on the canvas.
// The requests are in api/, the state in the store; components and the socket call these.

import {
  cancelExecution, describe, execute, executionGraph, history, poll as fetchPoll,
} from "./api";
import { save } from "./save";
import { useEditor } from "./store";
import type { Poll, PollNodeRun } from "./types";

/** Put a poll response (or a snapshot) on the canvas: the run and every node's state. Each
 * entry carries the poll's `seq`, so a node or run status that an event newer than the poll
 * already set stays as it is, while nodes the events have not mentioned yet are filled in. */
export function applyPoll(poll: Poll | null, options?: { past?: boolean }) {
  if (!poll) return;
  const editor = useEditor.getState();
  if (editor.executionId !== poll.executionId || options?.past !== undefined) {
    editor.startRun(poll.executionId, options);
  }
  const items: Record<string, number> = {};  // a fanned node's runs: one per item
  for (const run of poll.nodeResults.nodeRuns) {
    if (run.itemIndex != null) items[run.nodeId] = (items[run.nodeId] ?? 0) + 1;
  }
  for (const run of poll.nodeResults.nodeRuns) {
    const state = { status: run.status, progress: run.progress, error: run.error,
                    output: run.output, seed: run.seed };
    if (run.itemIndex != null) {
      editor.branchEvent(run.nodeId, run.itemIndex, items[run.nodeId], state, poll.seq);
    } else {
      editor.nodeEvent(run.nodeId, state, poll.seq);
    }
  }
  editor.runEvent(poll.status, poll.seq);
  editor.setStale(poll.staleDependencies ?? []);
}

/** The node runs a new execution starts with (from the execute response): shown at once for
 * every node no event has reached yet, so the whole run is on the canvas before the first
 * poll answers. They carry no seq, so they never overwrite what an event said. */
export function applyStarted(executionId: string, nodeRuns: PollNodeRun[]) {
  const editor = useEditor.getState();
  if (editor.executionId !== executionId) editor.startRun(executionId);
  for (const run of nodeRuns) {
    if (useEditor.getState().runs[run.nodeId]) continue;
    editor.nodeEvent(run.nodeId, { status: run.status, progress: run.progress, error: run.error,
                                   output: run.output, seed: run.seed });
  }
}

/** Read the run on the canvas again from the poll endpoint (after missed events). */
export async function resync(): Promise<void> {
  const { executionId, viewingPast } = useEditor.getState();
  if (!executionId) return;
  applyPoll(await fetchPoll(executionId), viewingPast ? { past: true } : undefined);
}

let starting = false;

/** Run the workflow (up to `targetNodeId` if given), saving unsaved edits first. One start at
 * a time: a second Ctrl+Enter (or click) while a run is being started is ignored instead of
 * starting, and paying for, a second run. */
export async function start(workflowId: string, targetNodeId?: string): Promise<void> {
  useEditor.getState().restoreGraph();  // a run is of today's graph: show it again
  const { canEdit, canRun, dirty } = useEditor.getState();
  if (!canRun || starting) return;
  starting = true;
  try {
    if (canEdit && dirty && !(await save())) return;
    const started = await execute(workflowId, targetNodeId);
    applyStarted(started.executionId, started.executionRuns[0]?.nodeRuns ?? []);
    useEditor.getState().setStale(started.staleDependencies ?? []);
    // Events may have gone by before we knew the id: read the run's state once.
    applyPoll(await fetchPoll(started.executionId));
  } catch (error) {
    useEditor.getState().notify(`Not started: ${describe(error)}`);
  } finally {
    starting = false;
  }
}

/** Cancel the run on the canvas; its state as the cancel left it goes on the canvas. */
export async function cancel(): Promise<void> {
  const executionId = useEditor.getState().executionId;
  if (!executionId) return;
  try {
    applyPoll(await cancelExecution(executionId));
  } catch (error) {
    useEditor.getState().notify(`Not cancelled: ${describe(error)}`);
  }
}

/** Show a past run from the history, states and outputs, until the user goes back to the
 * latest. Fails with the request's error, for the history panel to show. */
export async function openPast(executionId: string): Promise<void> {
  const editor = useEditor.getState();
  if (editor.canEdit && editor.dirty && !(await save())) return;
  const [graph, state] = await Promise.all([executionGraph(executionId), fetchPoll(executionId)]);
  // The run's own graph, as it was when it ran (read-only), not today's.
  useEditor.getState().showPastGraph(graph.data.nodes, graph.data.edges);
  applyPoll(state, { past: true });
}

/** Leave a past run opened from the history: show the workflow's newest run again. */
export async function showLatest(): Promise<void> {
  const editor = useEditor.getState();
  editor.restoreGraph();
  try {
    const latest = (await history(editor.workflowId, 1)).executions[0];
    if (latest) applyPoll(await fetchPoll(latest.executionId), { past: false });
  } catch (error) {
    editor.notify(`Could not load the latest run: ${describe(error)}`);
  }
}
