// The version panel's diff, as data (pure, for VersionsPanel.tsx and its tests): one row per
// node that differs between a version and the current graph, with its settings before → after.

import type { VersionDetail } from "../api/versions";
import type { WorkflowNode } from "../types";

export type RowState = "added" | "removed" | "changed";

export interface DiffRow {
  nodeId: string;
  label: string;
  nodeType: string;
  state: RowState;
  fields: string[];
  settings: { key: string; before: string; after: string }[];
}

/** A setting's value in a few characters: strings as typed, the rest as JSON, "—" unset. */
export function shown(value: unknown, max = 60): string {
  if (value === null || value === undefined) return "—";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

const describeNode = (node: WorkflowNode | undefined, id: string) => ({
  label: node?.data?.label || id, nodeType: node?.data?.nodeType ?? "",
});

/** Rows for what differs from the version (`detail`) to the current graph (`current`):
 * "added" is in the current graph only, "removed" only in the version. */
export function diffRows(detail: VersionDetail, current: WorkflowNode[]): DiffRow[] {
  const then = new Map(detail.nodes.map((node) => [String(node.id), node]));
  const now = new Map(current.map((node) => [String(node.id), node]));
  const rows: DiffRow[] = [];
  for (const id of detail.diff.nodesAdded) {
    rows.push({ nodeId: id, ...describeNode(now.get(id), id), state: "added", fields: [],
                settings: [] });
  }
  for (const id of detail.diff.nodesRemoved) {
    rows.push({ nodeId: id, ...describeNode(then.get(id), id), state: "removed", fields: [],
                settings: [] });
  }
  for (const change of detail.diff.nodesChanged) {
    rows.push({
      nodeId: change.nodeId, ...describeNode(now.get(change.nodeId) ?? then.get(change.nodeId),
                                             change.nodeId),
      state: "changed", fields: change.fields,
      settings: change.settings.map((key) => ({
        key, before: shown(change.values?.[key]?.before), after: shown(change.values?.[key]?.after),
      })),
    });
  }
  return rows;
}

/** "v12 · Client approved", "v12". */
export const versionTitle = (number: number, label: string) =>
  label ? `v${number} · ${label}` : `v${number}`;

/** The panel's list after a page arrived: newest first, each version once (a save made
 * between two pages shifts the offsets, so a version can come twice). */
export function withPage<T extends { number: number }>(items: T[], page: T[]): T[] {
  const byNumber = new Map(items.map((item) => [item.number, item]));
  for (const item of page) byNumber.set(item.number, item);
  return [...byNumber.values()].sort((a, b) => b.number - a.number);
}

/** How many versions to ask for when the list is read again (after a save): as many as are
 * shown, in whole pages, at most `max` (the API's page cap). */
export function reloadLimit(shown: number, page: number, max = 200): number {
  return Math.min(max, Math.max(page, Math.ceil(shown / page) * page));
}
