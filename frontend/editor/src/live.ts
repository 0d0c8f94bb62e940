// The run's live status: one WebSocket per open workflow, reconnecting with backoff; after a
// reconnect (or a gap in `seq`) the state is re-read from the poll endpoint.

import { useEffect } from "react";

import { api } from "./api";
import { useEditor } from "./store";
import type { NodeOutput, NodeStatus } from "./types";

interface PollNodeRun {
  nodeId: string; status: NodeStatus; progress: number; error: string | null;
  output: NodeOutput;
}
interface Poll { executionId: string; status: string; seq: number;
                 nodeResults: { nodeRuns: PollNodeRun[] } }

function applyPoll(poll: Poll | null) {
  if (!poll) return;
  const editor = useEditor.getState();
  if (editor.executionId !== poll.executionId) editor.startRun(poll.executionId);
  for (const run of poll.nodeResults.nodeRuns) {
    editor.nodeEvent(run.nodeId, { status: run.status, progress: run.progress, error: run.error,
                                   output: run.output });
  }
  editor.runEvent(poll.status);
}

export async function resync(): Promise<void> {
  const executionId = useEditor.getState().executionId;
  if (executionId) applyPoll(await api<Poll>("GET", `/workflows/executions/${executionId}/poll`));
}

export function useLiveStatus(workflowId: string) {
  useEffect(() => {
    if (!workflowId) return;
    let socket: WebSocket | null = null;
    let stopped = false;
    let delay = 500;
    let lastSeq = 0;
    const open = () => {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      socket = new WebSocket(`${scheme}://${location.host}/ws/workflows/${workflowId}/`);
      socket.onopen = () => { delay = 500; };
      socket.onmessage = (message) => {
        const event = JSON.parse(message.data);
        const editor = useEditor.getState();
        if (event.type === "snapshot") {
          applyPoll(event.execution);
          lastSeq = event.execution?.seq ?? 0;
          return;
        }
        if (event.executionId !== editor.executionId) {
          if (event.type !== "execution.status") return;
          editor.startRun(event.executionId);  // a run started elsewhere (API, teammate)
          lastSeq = 0;
        }
        if (lastSeq && event.seq > lastSeq + 1) void resync();  // a gap: read the truth
        lastSeq = Math.max(lastSeq, event.seq);
        if (event.type === "node.status") {
          editor.nodeEvent(event.nodeId, { status: event.status, progress: event.progress,
                                           error: event.error, output: event.output });
        } else if (event.type === "execution.status") {
          editor.runEvent(event.status);
        }
      };
      socket.onclose = () => {
        if (stopped) return;
        setTimeout(() => { open(); void resync(); }, delay);
        delay = Math.min(10_000, delay * 2);
      };
    };
    open();
    return () => { stopped = true; socket?.close(); };
  }, [workflowId]);
}
