// List fan-out on the canvas: a node a List fans out runs once per item; its branches arrive
// as separate node events (itemIndex, itemCount) and are summarised here into the one state
// the node shows: how many items are done, a status for the whole and every item's output.

import type { NodeStatus } from "./status";
import type { NodeOutput, NodeRunState } from "./types";

/** Each item's state of a fanned node, by item index. */
export type Branches = Record<number, NodeRunState>;

export interface FanOutCounts {
  total: number;
  done: number;
  failed: number;
  running: number;
}

const DONE: ReadonlySet<NodeStatus> = new Set<NodeStatus>(["COMPLETED", "CACHED"]);
const FAILED: ReadonlySet<NodeStatus> = new Set<NodeStatus>(["FAILED", "SKIPPED"]);

export function statusesOf(branches: Branches, total: number): NodeStatus[] {
  return Array.from({ length: total }, (_, index) => branches[index]?.status ?? "PENDING");
}

export function countsOf(branches: Branches, total: number): FanOutCounts {
  const statuses = statusesOf(branches, total);
  return {
    total,
    done: statuses.filter((s) => DONE.has(s)).length,
    failed: statuses.filter((s) => FAILED.has(s)).length,
    running: statuses.filter((s) => s === "RUNNING").length,
  };
}

/** The node's state as a whole: running while any item is; failed only if every item failed
 * (the poll's nodeStates say the same); every item's images and videos, in item order. */
export function summarise(branches: Branches, total: number): Omit<NodeRunState, "seq"> {
  const statuses = statusesOf(branches, total);
  const counts = countsOf(branches, total);
  const settled = counts.done + counts.failed
    + statuses.filter((s) => s === "CANCELLED").length;
  let status: NodeStatus;
  if (settled < total) {
    status = counts.running || settled ? "RUNNING" : statuses[0];
  } else if (statuses.includes("CANCELLED")) {
    status = "CANCELLED";
  } else if (statuses.every((s) => s === "SKIPPED")) {
    status = "SKIPPED";
  } else if (!counts.done) {
    status = "FAILED";
  } else {
    status = statuses.every((s) => s === "CACHED") ? "CACHED" : "COMPLETED";
  }
  const ordered = statusesOf(branches, total).map((_, index) => branches[index]);
  const output: NodeOutput = {
    images: ordered.flatMap((b) => (b && DONE.has(b.status) ? b.output?.images ?? [] : [])),
    videos: ordered.flatMap((b) => (b && DONE.has(b.status) ? b.output?.videos ?? [] : [])),
    text: ordered.find((b) => b?.output?.text)?.output?.text ?? null,
  };
  const firstError = ordered.find((b) => b?.status === "FAILED")?.error
    ?? ordered.find((b) => b?.error)?.error;
  return {
    status,
    progress: total ? settled / total : 1,
    error: counts.failed
      ? `${counts.failed} of ${total} items failed${firstError ? ` (first: ${firstError})` : ""}`
      : null,
    output,
  };
}
