// A workflow's version history (GET/PATCH /workflows/{id}/versions…, POST …/restore) and the
// team's activity log filtered to one workflow.

import type { Workflow, WorkflowEdge, WorkflowNode } from "../types";
import { api } from "./client";

export interface ChangeCounts {
  nodesAdded: number;
  nodesRemoved: number;
  nodesChanged: number;
  settingsChanged: number;
  nodesMoved: number;
  edgesAdded: number;
  edgesRemoved: number;
}

export interface VersionItem {
  number: number;
  firstNumber: number;
  versions: number;
  label: string;
  name: string;
  source: string;
  valid: boolean;
  author: string;
  createdAt: string;
  startedAt: string;
  changes: ChangeCounts;
  /** How a version a merge wrote came about ("merged with v12 by ann"); else "". */
  note: string;
  summary: string;
}

export interface NodeChange {
  nodeId: string;
  settings: string[];
  fields: string[];
  values: Record<string, { before: unknown; after: unknown }>;
}

export interface VersionDiff {
  nodesAdded: string[];
  nodesRemoved: string[];
  nodesChanged: NodeChange[];
  edgesAdded: WorkflowEdge[];
  edgesRemoved: WorkflowEdge[];
}

export interface VersionDetail {
  number: number;
  label: string;
  name: string;
  source: string;
  author: string;
  createdAt: string;
  saves: number;
  note: string;
  current: boolean;
  nodes: WorkflowNode[];
  edges: WorkflowEdge[];
  diff: VersionDiff;
}

export interface ActivityItem {
  id: number;
  at: string;
  kind: string;
  summary: string;
  actor: string;
  source: string;
  details: Record<string, unknown>;
}

const base = (workflowId: string) => `/workflows/${encodeURIComponent(workflowId)}/versions`;

export const listVersions = (workflowId: string, limit = 50, offset = 0) =>
  api<{ data: VersionItem[]; total: number }>(
    "GET", `${base(workflowId)}?limit=${limit}&offset=${offset}`);

export const getVersion = (workflowId: string, number: number) =>
  api<{ data: VersionDetail }>("GET", `${base(workflowId)}/${number}`);

export const nameVersion = (workflowId: string, number: number, label: string) =>
  api<{ data: VersionDetail }>("PATCH", `${base(workflowId)}/${number}`, { label });

export const restoreVersion = (workflowId: string, number: number) =>
  api<{ data: Workflow }>("POST", `${base(workflowId)}/${number}/restore`);

export const workflowActivity = (teamId: number, workflowId: string, limit = 30, offset = 0) =>
  api<{ data: ActivityItem[]; meta: { total: number } }>(
    "GET", `/teams/${teamId}/activity?workflowId=${encodeURIComponent(workflowId)}`
      + `&limit=${limit}&offset=${offset}`);
