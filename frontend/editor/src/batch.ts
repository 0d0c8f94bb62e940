// A batch started from the editor: a list of prompts (or a CSV, a column per input node) run
// as one batch through the batch API, followed until every item is final, with per-item retry.

import Papa from "papaparse";
import { create } from "zustand";

import { batchSummary, describe, executeBatch, poll, retryBatch } from "./api";
import { isFinished } from "./status";
import type { ExecutionStatus } from "./status";
import { save } from "./save";
import { useEditor } from "./store";

export interface BatchItem {
  index: number;
  label: string;
  executionId: string;
  status: ExecutionStatus;
  error: string | null;
  thumb: string | null;
}

interface BatchState {
  batchId: string | null;
  items: BatchItem[];
  error: string | null;
  set(state: Partial<Omit<BatchState, "set">>): void;
}

export const useBatch = create<BatchState>()((set) => ({
  batchId: null, items: [], error: null, set: (state) => set(state),
}));

export const MAX_ITEMS = 500;

/** One item per non-empty line, for one input node. */
export function itemsFromLines(nodeId: string, text: string): Record<string, unknown>[] {
  return text.split(/\r?\n/).map((line) => line.trim()).filter(Boolean)
    .map((line) => ({ [nodeId]: line }));
}

/** One item per CSV row; each column is an input node, named by its id or its label. Columns
 * that name no input node are an error, not silently dropped. */
export function itemsFromCsv(csv: string, inputs: { id: string; label: string }[]):
    { items: Record<string, unknown>[]; error: string | null } {
  const parsed = Papa.parse<Record<string, string>>(csv.trim(), {
    header: true, skipEmptyLines: true, transformHeader: (h) => h.trim(),
  });
  // One column has no delimiter to detect: that is not an error.
  const errors = parsed.errors.filter((e) => e.code !== "UndetectableDelimiter");
  if (errors.length) {
    return { items: [], error: `Row ${(errors[0].row ?? 0) + 2}: ${errors[0].message}` };
  }
  const byName = new Map<string, string>();
  for (const input of inputs) {
    byName.set(input.id, input.id);
    if (input.label) byName.set(input.label, input.id);
  }
  const columns = parsed.meta.fields ?? [];
  const unknown = columns.filter((column) => !byName.has(column));
  if (unknown.length) {
    return { items: [], error: `No input node is called “${unknown[0]}”: name columns by an `
                               + `input node's id or label (${inputs.map((i) => i.label || i.id).join(", ")})` };
  }
  const items = parsed.data.map((row) => Object.fromEntries(
    columns.map((column) => [byName.get(column)!, row[column] ?? ""])));
  return { items, error: null };
}

const labelOf = (item: Record<string, unknown>) =>
  Object.values(item).map(String).join(" · ").slice(0, 80);

let following = 0;

/** Save, start the batch, show its items and follow them. */
export async function startBatch(items: Record<string, unknown>[]): Promise<void> {
  const editor = useEditor.getState();
  const batch = useBatch.getState();
  if (!items.length) return;
  if (items.length > MAX_ITEMS) {
    batch.set({ error: `A batch runs at most ${MAX_ITEMS} items (this one has ${items.length})` });
    return;
  }
  try {
    if (editor.canEdit && editor.dirty && !(await save())) return;
    const started = await executeBatch(editor.workflowId, items);
    batch.set({
      batchId: started.batchId, error: null,
      items: started.executionRuns.map((run, index) => ({
        index, label: labelOf(items[index]), executionId: run.id,
        status: (run as { status?: ExecutionStatus }).status ?? "QUEUED",
        error: null, thumb: null,
      })),
    });
    void follow(started.batchId);
  } catch (error) {
    batch.set({ error: `Batch not started: ${describe(error)}` });
  }
}

/** Poll the batch until every item is final; each finished item gets its first image. */
async function follow(batchId: string): Promise<void> {
  const mine = ++following;
  for (let delay = 700; mine === following; delay = Math.min(3000, delay * 1.4)) {
    let summary;
    try {
      summary = (await batchSummary(batchId)).data;
    } catch {
      await sleep(delay);
      continue;
    }
    if (mine !== following) return;
    const previous = new Map(useBatch.getState().items.map((item) => [item.index, item]));
    const items = summary.runs.map((run) => {
      const before = previous.get(run.runIndexInBatch);
      const same = before?.executionId === run.id;
      return { index: run.runIndexInBatch, label: before?.label ?? `#${run.runIndexInBatch + 1}`,
               executionId: run.id, status: run.status, error: run.error,
               thumb: same ? before?.thumb ?? null : null };
    });
    useBatch.getState().set({ items });
    await Promise.all(items.filter((item) => item.status === "COMPLETED" && !item.thumb)
      .map(async (item) => {
        const result = await poll(item.executionId).catch(() => null);
        const image = result?.nodeResults.nodeRuns.flatMap((run) => run.output?.images ?? [])
          .at(-1);
        if (image) {
          useBatch.getState().set({ items: useBatch.getState().items.map((other) =>
            other.executionId === item.executionId
              ? { ...other, thumb: image.thumbnailUrl || image.url } : other) });
        }
      }));
    if (items.every((item) => isFinished(item.status))) return;
    await sleep(delay);
  }
}

/** Run one failed item again; the grid follows its new run. */
export async function retryItem(index: number): Promise<void> {
  const { batchId } = useBatch.getState();
  if (!batchId) return;
  try {
    await retryBatch(batchId, [index]);
    void follow(batchId);
  } catch (error) {
    useBatch.getState().set({ error: `Not retried: ${describe(error)}` });
  }
}

const sleep = (ms: number) => new Promise((resolve) => window.setTimeout(resolve, ms));
