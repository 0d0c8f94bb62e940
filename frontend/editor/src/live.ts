// The run's live status: one WebSocket per open workflow, reconnecting with backoff; after a
// reconnect (or a gap in `seq`) the state is re-read from the poll endpoint.

import { useEffect } from "react";

import { applyPoll, resync } from "./runs";
import { useEditor } from "./store";

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
