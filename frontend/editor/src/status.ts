// Run statuses as the server spells them (executions/models.py), and the two questions the
// editor asks of them: is it still going, and is it over for good.

/** A run (an execution) as a whole. */
export type ExecutionStatus = "QUEUED" | "RUNNING" | "COMPLETED" | "FAILED" | "CANCELLED";

/** One node of a run. PENDING waits for its inputs; CACHED reused an earlier output; SKIPPED
 * never ran because something upstream failed. */
export type NodeStatus =
  | "PENDING" | "QUEUED" | "RUNNING" | "COMPLETED" | "CACHED" | "FAILED" | "SKIPPED" | "CANCELLED";

type Status = ExecutionStatus | NodeStatus;

const ACTIVE: ReadonlySet<Status> = new Set<Status>(["QUEUED", "RUNNING"]);
const FINISHED: ReadonlySet<Status> = new Set<Status>(
  ["COMPLETED", "CACHED", "FAILED", "SKIPPED", "CANCELLED"]);

/** Waiting for a worker or being worked on: the run can still be cancelled. A PENDING node is
 * neither active nor finished. */
export function isActive(status: Status | null | undefined): boolean {
  return status != null && ACTIVE.has(status);
}

/** Settled: nothing more will happen to this run or node. */
export function isFinished(status: Status | null | undefined): boolean {
  return status != null && FINISHED.has(status);
}

const EXECUTION_LABELS: Record<ExecutionStatus, string> = {
  QUEUED: "queued", RUNNING: "running", COMPLETED: "completed", FAILED: "failed",
  CANCELLED: "cancelled",
};

const NODE_LABELS: Record<NodeStatus, string> = {
  PENDING: "waiting", QUEUED: "queued", RUNNING: "running", COMPLETED: "completed",
  CACHED: "cached", FAILED: "failed", SKIPPED: "skipped", CANCELLED: "cancelled",
};

// A status this editor does not know yet (a newer server) is shown in lower case as it came.

export function executionLabel(status: ExecutionStatus): string {
  return EXECUTION_LABELS[status] ?? String(status).toLowerCase();
}

export function nodeLabel(status: NodeStatus): string {
  return NODE_LABELS[status] ?? String(status).toLowerCase();
}
