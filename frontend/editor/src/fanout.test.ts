import { describe, expect, it } from "vitest";

import { countsOf, summarise } from "./fanout";
import type { NodeRunState } from "./types";

const image = (url: string) => ({ url, width: 64, height: 64, thumbnailUrl: `${url}.webp` });
const run = (status: NodeRunState["status"], url?: string, error: string | null = null):
  NodeRunState => ({ status, progress: 1, error,
                     output: url ? { images: [image(url)], videos: [], text: null } : null });

describe("a fanned node's summary", () => {
  it("is running while any item is, and counts what is done", () => {
    const branches = { 0: run("COMPLETED", "/a"), 1: run("RUNNING"), 3: run("FAILED", undefined, "moderated") };
    expect(countsOf(branches, 4)).toEqual({ total: 4, done: 1, failed: 1, running: 1 });
    const summary = summarise(branches, 4);
    expect(summary.status).toBe("RUNNING");
    expect(summary.progress).toBe(0.5);
    expect(summary.output?.images.map((i) => i.url)).toEqual(["/a"]);
    expect(summary.error).toBe("1 of 4 items failed (first: moderated)");
  });

  it("completes with every item's images in item order once all are settled", () => {
    const summary = summarise({ 1: run("COMPLETED", "/b"), 0: run("CACHED", "/a"),
                                2: run("FAILED") }, 3);
    expect(summary.status).toBe("COMPLETED");
    expect(summary.output?.images.map((i) => i.url)).toEqual(["/a", "/b"]);
  });

  it("fails only when every item failed, and waits while none has started", () => {
    expect(summarise({ 0: run("FAILED"), 1: run("SKIPPED") }, 2).status).toBe("FAILED");
    expect(summarise({ 0: run("QUEUED") }, 3).status).toBe("QUEUED");
  });
});

describe("the store's branch events", () => {
  it("keep each item apart and show their summary as the node's state", async () => {
    const { useEditor } = await import("./store");
    const editor = useEditor.getState();
    editor.startRun("run-1");
    editor.nodeEvent("gen", { status: "PENDING" }, 2);  // the placeholder, before the list
    editor.branchEvent("gen", 0, 3, { status: "RUNNING" }, 5);
    editor.branchEvent("gen", 1, 3, run("COMPLETED", "/b"), 7);
    editor.branchEvent("gen", 0, 3, { status: "QUEUED" }, 4);  // older: ignored
    const state = useEditor.getState();
    expect(state.itemCounts.gen).toBe(3);
    expect(state.branches.gen[0].status).toBe("RUNNING");
    expect(state.runs.gen.status).toBe("RUNNING");
    expect(state.runs.gen.output?.images.map((i) => i.url)).toEqual(["/b"]);
    editor.nodeEvent("gen", { status: "PENDING" }, 3);  // a late placeholder event: older
    expect(useEditor.getState().runs.gen.status).toBe("RUNNING");
  });
});
