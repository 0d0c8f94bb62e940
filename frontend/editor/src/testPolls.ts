// Test helpers shared by the editor's unit tests (imported by *.test.ts only).
import type { ExecutionStatus, NodeStatus } from "./status";
import type { Poll } from "./types";

/** A poll answer of run `executionId` with these node statuses. */
export const pollOf = (executionId: string, status: ExecutionStatus,
                nodes: [string, NodeStatus][]): Poll => ({
  executionId, status, progress: 0, seq: 9,
  nodeResults: { nodeRuns: nodes.map(([nodeId, s]) => ({
    nodeId, status: s, progress: s === "COMPLETED" ? 1 : 0, error: null,
    output: { images: [], videos: [], text: null } })) },
});
