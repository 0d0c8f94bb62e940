// The run's live status: one WebSocket per open workflow, reconnecting with backoff; after a
// reconnect (or a gap in `seq`) the state is re-read from the poll endpoint.

import { useEffect } from "react";

import { useBatch } from "./batch";
import { applyPoll, resync } from "./runs";
import { useEditor } from "./store";
import { usePresence } from "./team/presence";
import { workflowSaved } from "./teammate";
import type { LiveMessage } from "./types";

const FIRST_DELAY = 500;
const MAX_DELAY = 10_000;
/** The server's close code for "you may not watch this workflow" (consumers.CLOSE_FORBIDDEN). */
export const CLOSE_FORBIDDEN = 4403;

export interface LiveOptions {
  url: string;
  /** Builds the socket; tests pass a fake. */
  socket?: (url: string) => WebSocket;
}

/** Open the live socket of a workflow and keep it open: on a drop, mark the editor as
 * reconnecting, reopen with exponential backoff, and re-read the run from the poll endpoint
 * (events sent while we were away are lost; the poll is the truth). A close with 4403 (access
 * withdrawn) ends it: the editor says so instead of retrying. Returns a stop function. */
export function connectLive({ url, socket: makeSocket = (u) => new WebSocket(u) }: LiveOptions):
    () => void {
  let socket: WebSocket | null = null;
  let stopped = false;
  let delay = FIRST_DELAY;
  let lastSeq = 0;
  let retry = 0;
  /** Count an event of the run on the canvas: a gap in `seq` means some were lost. */
  const sequence = (seq: number) => {
    if (lastSeq && seq > lastSeq + 1) void resync().catch(() => undefined);
    lastSeq = Math.max(lastSeq, seq);
  };
  const receive = (message: LiveMessage) => {
    const editor = useEditor.getState();
    switch (message.type) {
      case "snapshot":
        // The latest run as the server has it: the truth after a (re)connect, unless the
        // user is looking at a past run from the history.
        if (!editor.viewingPast) applyPoll(message.execution);
        lastSeq = message.execution?.seq ?? 0;
        return;
      case "node.status":
        if (message.executionId !== editor.executionId) return;  // a stray event of another run
        sequence(message.seq);
        {
          const state = {
            status: message.status, progress: message.progress, error: message.error,
            ...(message.output ? { output: message.output } : {}),
            ...(message.seed != null ? { seed: message.seed } : {}),
          };
          if (message.itemIndex != null) {  // one item of a fan-out
            editor.branchEvent(message.nodeId, message.itemIndex, message.itemCount ?? 0, state,
                               message.seq);
          } else {
            editor.nodeEvent(message.nodeId, state, message.seq);
          }
        }
        return;
      case "execution.status":
        if (message.executionId !== editor.executionId) {
          // Someone looking at a past run (on its own graph) stays there; the runs of a batch
          // started here are followed in the Batch tab, not one after another on the canvas.
          if (editor.viewingPast || inBatch(message.executionId)) return;
          editor.startRun(message.executionId);  // a run started elsewhere (API, teammate)
          lastSeq = 0;
        }
        sequence(message.seq);
        editor.runEvent(message.status, message.seq);
        return;
      case "access.changed":
        editor.setPermissions({ canEdit: message.canEdit, canRun: message.canRun });
        return;
      case "presence":
        usePresence.getState().setUsers(message.users);
        return;
      case "workflow.saved":
        void workflowSaved(message);
        return;
      case "events":  // a burst, in order: each as if it had come alone
        message.events.forEach(receive);
        return;
      default: {
        // A type this editor does not know yet (a newer server) is ignored. Assigning it to
        // `never` makes the compiler refuse a new member of the union that no case handles.
        const unhandled: never = message;
        return unhandled;
      }
    }
  };
  const open = () => {
    socket = makeSocket(url);
    socket.onopen = () => {
      delay = FIRST_DELAY;
      useEditor.getState().setLive("open");
    };
    socket.onmessage = (message) => receive(JSON.parse(message.data) as LiveMessage);
    socket.onclose = (event) => {
      usePresence.getState().setUsers([]);  // told again by the server once back
      if (stopped) return;
      if (event?.code === CLOSE_FORBIDDEN) {
        // Access is gone for good: asking again would be refused again, every few seconds.
        stopped = true;
        useEditor.getState().setLive("forbidden");
        return;
      }
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

const inBatch = (executionId: string) =>
  useBatch.getState().items.some((item) => item.executionId === executionId);
