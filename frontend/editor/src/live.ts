// The run's live status: one WebSocket per open workflow, reconnecting with backoff; after a
// reconnect (or a gap in `seq`) the state is re-read from the poll endpoint.

import { useEffect } from "react";

import { poll as fetchPoll } from "./api";
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
  for (const run of poll.nodeResults.nodeRuns) {
    editor.nodeEvent(run.nodeId, { status: run.status, progress: run.progress, error: run.error,
                                   output: run.output }, poll.seq);
  }
  editor.runEvent(poll.status, poll.seq);
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
                                   output: run.output });
  }
}

export async function resync(): Promise<void> {
  const { executionId, viewingPast } = useEditor.getState();
  if (executionId) applyPoll(await fetchPoll(executionId), viewingPast ? { past: true } : undefined);
}

const FIRST_DELAY = 500;
const MAX_DELAY = 10_000;

export interface LiveOptions {
  url: string;
  /** Builds the socket; tests pass a fake. */
  socket?: (url: string) => WebSocket;
}

/** Open the live socket of a workflow and keep it open: on a drop, mark the editor as
 * reconnecting, reopen with exponential backoff, and re-read the run from the poll endpoint
 * (events sent while we were away are lost; the poll is the truth). Returns a stop function. */
export function connectLive({ url, socket: makeSocket = (u) => new WebSocket(u) }: LiveOptions):
    () => void {
  let socket: WebSocket | null = null;
  let stopped = false;
  let delay = FIRST_DELAY;
  let lastSeq = 0;
  let retry = 0;
  const open = () => {
    socket = makeSocket(url);
    socket.onopen = () => {
      delay = FIRST_DELAY;
      useEditor.getState().setLive("open");
    };
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      const editor = useEditor.getState();
      if (event.type === "snapshot") {
        // The latest run as the server has it: the truth after a (re)connect, unless the
        // user is looking at a past run from the history.
        if (!editor.viewingPast) applyPoll(event.execution);
        lastSeq = event.execution?.seq ?? 0;
        return;
      }
      if (event.executionId !== editor.executionId) {
        if (event.type !== "execution.status") return;
        editor.startRun(event.executionId);  // a run started elsewhere (API, teammate)
        lastSeq = 0;
      }
      if (lastSeq && event.seq > lastSeq + 1) void resync().catch(() => undefined);
      lastSeq = Math.max(lastSeq, event.seq);
      if (event.type === "node.status") {
        editor.nodeEvent(event.nodeId, { status: event.status, progress: event.progress,
                                         error: event.error,
                                         ...(event.output ? { output: event.output } : {}) },
                         event.seq);
      } else if (event.type === "execution.status") {
        editor.runEvent(event.status, event.seq);
      }
    };
    socket.onclose = () => {
      if (stopped) return;
      useEditor.getState().setLive("reconnecting");
      retry = setTimeout(() => {
        open();
        void resync().catch(() => undefined);
      }, delay) as unknown as number;
      delay = Math.min(MAX_DELAY, delay * 2);
    };
  };
  useEditor.getState().setLive("connecting");
  open();
  return () => {
    stopped = true;
    clearTimeout(retry);
    socket?.close();
  };
}

export function useLiveStatus(workflowId: string) {
  useEffect(() => {
    if (!workflowId) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    return connectLive({ url: `${scheme}://${location.host}/ws/workflows/${workflowId}/` });
  }, [workflowId]);
}
