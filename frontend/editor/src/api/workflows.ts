// The endpoints of api.md that the editor and the workflows page call.

import type { ExecutionStatus } from "../status";
import type {
  Estimate, HistoryItem, NodeSpec, Poll, PollNodeRun, Problem, StaleDependency, Workflow,
  WorkflowEdge, WorkflowNode,
} from "../types";
import { api, upload } from "./client";

export interface WorkflowItem {
  id: string;
  name: string;
  description: string;
  webhookUrl: string | null;  // null: the caller may not run the workflow
  isActive: boolean;
  executionCount: number;
  lastExecutedAt: string | null;
  tags: string[];
  createdAt: string;
  updatedAt: string;
}

export interface Graph { nodes: WorkflowNode[]; edges: WorkflowEdge[] }

export const fetchCatalog = () => api<{ nodes: NodeSpec[] }>("GET", "/nodes");

export const fetchWorkflow = (id: string) => api<Workflow>("GET", `/workflows/${id}`);

export const listWorkflows = (teamId?: number) =>
  api<{ workflows: WorkflowItem[] }>("GET", `/workflows${teamId ? `?teamId=${teamId}` : ""}`);

/** Save (a draft unless strict); `baseUpdatedAt` makes a teammate's newer save a 409. */
export const saveWorkflow = (id: string, graph: Graph, options: { strict: boolean;
                             baseUpdatedAt?: string }) =>
  api<{ data: Workflow }>("POST", `/workflows?strict=${options.strict}`,
                          { id, ...graph, ...(options.baseUpdatedAt
                            ? { baseUpdatedAt: options.baseUpdatedAt } : {}) });

export type MergeStrategy = "merge" | "mine" | "theirs";

export interface MergeConflict {
  nodeId: string;
  /** "config.<key>", "label", "position", "in-<port>" (what feeds an input), "node". */
  field: string;
  reason: "both_changed" | "both_added" | "deleted_by_you" | "deleted_by_them"
    | "wired_to_deleted_node";
  base: unknown;
  mine: unknown;
  theirs: unknown;
}

export interface MergePreview {
  clean: boolean;
  conflicts: MergeConflict[];
  nodes: WorkflowNode[] | null;
  edges: WorkflowEdge[] | null;
  theirs: { version: number; updatedAt: string; author: string };
  mineTouched: string[];
  theirsTouched: string[];
  /** The workflow as saved; null for a preview. */
  saved: Workflow | null;
}

const mergePath = (id: string) => `/workflows/${encodeURIComponent(id)}/merge`;

/** (+) Would a save a teammate's save overtook merge with it? Writes nothing. */
export const mergePreview = (id: string, body: Graph & { base: Graph }) =>
  api<{ data: MergePreview }>("POST", mergePath(id), { ...body, strategy: "preview" });

/** (+) Resolve it; `saved` is the workflow as saved. */
export const mergeSave = (id: string, body: Graph & {
  base: Graph; strategy: MergeStrategy; theirsUpdatedAt?: string }) =>
  api<{ data: MergePreview & { saved: Workflow } }>("POST", mergePath(id), body);

export const renameWorkflow = (id: string, name: string) =>
  api<{ data: Workflow }>("POST", "/workflows?strict=false", { id, name });

/** A new workflow always starts with one prompt node (the API refuses empty graphs). */
export const createWorkflow = (name: string, teamId?: number) =>
  api<{ data: Workflow }>("POST", "/workflows?strict=false", {
    name, ...(teamId ? { teamId } : {}),
    nodes: [{ id: "prompt-1", type: "basedNode", position: { x: 80, y: 160 },
              data: { label: "Prompt", nodeType: "input:text", category: "input",
                      config: { prompt: "" } } }],
    edges: [],
  });

export const duplicateWorkflow = (id: string, name?: string) =>
  api<{ data: { id: string; name: string; url: string } }>(
    "POST", `/workflows/${id}/duplicate`, name ? { name } : {});

export const deleteWorkflow = (id: string) => api<void>("DELETE", `/workflows/${id}`);

export const lint = (graph: Graph) =>
  api<{ data: { violations: Problem[] } }>("POST", "/workflows/lint", graph);

export const estimate = (id: string, targetNodeId?: string) =>
  api<{ data: Estimate }>("POST", `/workflows/${id}/estimate`,
                          targetNodeId ? { targetNodeId } : {});

export interface Started {
  executionId: string;
  status: ExecutionStatus;
  executionRuns: { id: string; nodeRuns: PollNodeRun[] }[];
  staleDependencies?: StaleDependency[];
}

export const execute = (id: string, targetNodeId?: string) =>
  api<Started>("POST", `/workflows/${id}/execute`, targetNodeId ? { targetNodeId } : {});

export const cancelExecution = (executionId: string) =>
  api<Poll>("POST", `/workflows/executions/${executionId}/cancel`);

export const poll = (executionId: string) =>
  api<Poll>("GET", `/workflows/executions/${executionId}/poll`);

export const history = (workflowId: string, limit = 20, offset = 0) =>
  api<{ executions: HistoryItem[]; total: number }>(
    "GET", `/workflows/executions?workflowId=${encodeURIComponent(workflowId)}`
           + `&limit=${limit}&offset=${offset}`);

export const rotateWebhook = (id: string) =>
  api<{ data: { webhookId: string; webhookUrl: string } }>("POST",
                                                          `/workflows/${id}/webhook/rotate`);

export const uploadMedia = (file: File) =>
  upload<{ data: { url: string; id: string; type: string; width: number; height: number } }>(
    "/media/upload", file);

/** One run per item, in parallel (`batch` of api.md): each item is an `inputs` object. */
export const executeBatch = (id: string, batch: Record<string, unknown>[]) =>
  api<Started & { batchId: string }>("POST", `/workflows/${id}/execute`, { batch });

export interface BatchSummary {
  batchId: string;
  status: string;
  total: number;
  counts: Record<string, number>;
  runs: { id: string; runIndexInBatch: number; status: ExecutionStatus; error: string | null }[];
}

export const batchSummary = (batchId: string) =>
  api<{ data: BatchSummary }>("GET", `/batches/${batchId}`);

/** Run the failed items of `runIndexes` again (all failed items without it). */
export const retryBatch = (batchId: string, runIndexes?: number[]) =>
  api<{ data: BatchSummary }>("POST", `/batches/${batchId}/retry`,
                              runIndexes ? { runIndexes } : {});

/** The graph a run ran, as it was when it started. */
export const executionGraph = (executionId: string) =>
  api<{ data: { executionId: string; nodes: WorkflowNode[]; edges: WorkflowEdge[] } }>(
    "GET", `/workflows/executions/${executionId}/graph`);

export type LinkPermission = "view" | "private";

/** Share a read-only page of the workflow with anyone who has the link ("view"), or stop. */
export const setVisibility = (id: string, visibility: LinkPermission) =>
  api<{ linkPermission: LinkPermission; url: string }>(
    "POST", `/workflows/${id}/visibility`, { visibility });
