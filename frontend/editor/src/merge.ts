// A save a teammate's save overtook (409 stale_write): ask the server whether the two edits
// merge (POST /workflows/{id}/merge, preview), then resolve as the user chooses: merge their
// changes, keep mine, or take theirs. Every choice keeps both sides in the version history.

import { create } from "zustand";

import { ApiError, describe } from "./api";
import { mergePreview, mergeSave, type MergePreview, type MergeStrategy } from "./api/workflows";
import { toWorkflowJson, useEditor } from "./store";

export type { MergeConflict, MergePreview } from "./api/workflows";

interface MergeState {
  preview: MergePreview | null;
  checking: boolean;
  busy: boolean;
  /** Why the preview could not be had (the plain choices still work). */
  error: string | null;
}

export const useMerge = create<MergeState>()(() => ({
  preview: null, checking: false, busy: false, error: null,
}));

const mine = () => {
  const editor = useEditor.getState();
  return toWorkflowJson(editor.nodes, editor.edges);
};

/** Ask whether the graph on the canvas merges with the saved one (nothing is written). */
export async function previewMerge(): Promise<void> {
  const editor = useEditor.getState();
  if (!editor.workflowId || !editor.base) return;
  useMerge.setState({ checking: true, error: null });
  try {
    const answer = await mergePreview(editor.workflowId, { ...mine(), base: editor.base });
    useMerge.setState({ preview: answer.data, checking: false });
  } catch (error) {
    useMerge.setState({ preview: null, checking: false, error: describe(error) });
  }
}

/** Resolve the conflict: "merge" both sides' changes, keep "mine" over theirs, or take
 * "theirs" (mine is kept as a version first). The result is loaded on the canvas. */
export async function resolveMerge(strategy: MergeStrategy): Promise<boolean> {
  const editor = useEditor.getState();
  const { preview } = useMerge.getState();
  if (!editor.workflowId || !editor.base) return false;
  useMerge.setState({ busy: true });
  try {
    const saved = await mergeSave(editor.workflowId, {
      ...mine(), base: editor.base, strategy,
      ...(preview ? { theirsUpdatedAt: preview.theirs.updatedAt } : {}),
    });
    const now = useEditor.getState();
    now.load(saved.data.saved);
    useMerge.setState({ preview: null, busy: false });
    now.notify(resolvedMessage(strategy, saved.data.saved.version, preview));
    return true;
  } catch (error) {
    useMerge.setState({ busy: false });
    if (error instanceof ApiError && error.status === 409) {
      await previewMerge();  // saved again meanwhile, or now conflicting: look again
    } else {
      useMerge.setState({ error: `Not saved: ${describe(error)}` });
    }
    return false;
  }
}

export function resolvedMessage(strategy: MergeStrategy, version: number | undefined,
                                preview: MergePreview | null): string {
  const theirs = preview ? `v${preview.theirs.version} by ${preview.theirs.author}` : "theirs";
  const as = version ? ` (now v${version})` : "";
  if (strategy === "merge") return `Merged your changes with ${theirs}${as}`;
  if (strategy === "mine") return `Kept yours over ${theirs}${as}; theirs stays in Versions`;
  return `Took ${theirs}${as}; yours is kept in Versions`;
}

const FIELDS: Record<string, string> = {
  node: "the node", label: "its name", position: "its place", nodeType: "its model",
};

/** One conflict in words, e.g. "Upscale: scale (you 8, them 4)". */
export function describeConflict(conflict: MergePreview["conflicts"][number],
                                 labelOf: (nodeId: string) => string): string {
  const label = labelOf(conflict.nodeId);
  if (conflict.reason === "deleted_by_you") return `${label}: you deleted it, they changed it`;
  if (conflict.reason === "deleted_by_them") return `${label}: they deleted it, you changed it`;
  if (conflict.reason === "wired_to_deleted_node") {
    return `${label}: one of you deleted it, the other connected it`;
  }
  const field = conflict.field.startsWith("in-") ? `input ${conflict.field.slice(3)}`
    : conflict.field.replace(/^(config|params)\./, "");
  const value = (v: unknown) => conflict.field.startsWith("in-")
    ? (Array.isArray(v) ? v.map((e) => labelOf(String(e?.source))).join(", ") || "nothing"
      : "nothing")
    : v === null || v === undefined ? "unset" : short(v);
  return `${label}: ${FIELDS[field] ?? field} (you ${value(conflict.mine)}, `
    + `them ${value(conflict.theirs)})`;
}

function short(value: unknown): string {
  const text = typeof value === "string" ? `“${value}”` : JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

/** What the teammate's save touched, by node label: "Upscale, Prompt". */
export function touchedLabels(ids: string[], labelOf: (nodeId: string) => string): string {
  const labels = ids.map(labelOf);
  return labels.length > 3 ? `${labels.slice(0, 3).join(", ")} and ${labels.length - 3} more`
    : labels.join(", ");
}
