import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import {
  describeConflict, previewMerge, resolveMerge, resolvedMessage, touchedLabels, useMerge,
  type MergePreview,
} from "./merge";
import { save } from "./save";
import { useEditor } from "./store";
import type { WorkflowNode } from "./types";

const prompt = (text: string, x = 0): WorkflowNode => ({
  id: "prompt", type: "basedNode", position: { x, y: 0 },
  data: { label: "Prompt", nodeType: "input:text", category: "input", config: { prompt: text } },
} as WorkflowNode);

const preview = (clean: boolean): MergePreview => ({
  clean, conflicts: clean ? [] : [{ nodeId: "prompt", field: "config.prompt",
                                    reason: "both_changed", base: "cow", mine: "horse",
                                    theirs: "pig" }],
  nodes: clean ? [prompt("horse", -400)] : null, edges: clean ? [] : null,
  theirs: { version: 2, updatedAt: "t2", author: "ann" }, mineTouched: ["prompt"],
  theirsTouched: ["prompt"], saved: null,
});

/** A stand-in server answering each request from `answer`; the requests with their bodies. */
function fakeServer(answer: (method: string, url: string, body: Record<string, unknown>)
  => object) {
  const requests: { method: string; url: string; body: Record<string, unknown> }[] = [];
  vi.stubGlobal("document", { cookie: "" });
  vi.stubGlobal("fetch", async (url: string, init: { method: string; body?: string }) => {
    const body = init.body ? JSON.parse(init.body) : {};
    requests.push({ method: init.method, url, body });
    const reply = answer(init.method, url, body);
    const status = "status" in reply && typeof reply.status === "number" ? reply.status : 200;
    return { ok: status < 400, status, text: async () => JSON.stringify(reply) };
  });
  return requests;
}

describe("a save a teammate's save overtook", () => {
  beforeEach(() => {
    useEditor.getState().load({ id: "w", name: "w", updatedAt: "t1", webhookUrl: "",
                                nodes: [prompt("cow")], edges: [] });
    useEditor.setState({ canEdit: true, notice: null });
    useMerge.setState({ preview: null, checking: false, busy: false, error: null });
  });
  afterEach(() => vi.unstubAllGlobals());

  it("asks for a merge preview against the graph it loaded, then merges", async () => {
    const requests = fakeServer((method, url, body) => {
      if (url.endsWith("/workflows?strict=false")) {
        return { status: 409, code: "stale_write", error: "saved by someone else",
                 currentVersion: 2 };
      }
      if (body.strategy === "preview") return { data: preview(true) };
      return { data: { ...preview(true), saved: {
        id: "w", name: "w", updatedAt: "t3", webhookUrl: "", version: 3,
        nodes: [prompt("horse", -400)], edges: [] } } };
    });
    useEditor.getState().setConfig("prompt", "prompt", "horse");
    expect(await save()).toBe(false);
    expect(useEditor.getState().notice).toBe("conflict");
    await vi.waitFor(() => expect(useMerge.getState().preview?.clean).toBe(true));
    const asked = requests[1];
    expect(asked.url).toBe("/api/v1/workflows/w/merge");
    expect((asked.body.base as { nodes: WorkflowNode[] }).nodes[0].data.config)
      .toEqual({ prompt: "cow" });
    expect((asked.body.nodes as WorkflowNode[])[0].data.config).toEqual({ prompt: "horse" });

    expect(await resolveMerge("merge")).toBe(true);
    expect(requests[2].body).toMatchObject({ strategy: "merge", theirsUpdatedAt: "t2" });
    const editor = useEditor.getState();
    expect(editor.nodes[0].position).toEqual({ x: -400, y: 0 });
    expect(editor.updatedAt).toBe("t3");
    expect(editor.base?.nodes[0].data.config).toEqual({ prompt: "horse" });  // the next base
    expect(editor.notice).toBe("Merged your changes with v2 by ann (now v3)");
  });

  it("looks again when another save came in before the choice", async () => {
    let saves = 0;
    const requests = fakeServer((_m, _u, body) => {
      if (body.strategy === "preview") return { data: preview(false) };
      saves += 1;
      return { status: 409, code: "stale_write", error: "saved by someone else" };
    });
    await previewMerge();
    expect(await resolveMerge("mine")).toBe(false);
    expect(saves).toBe(1);
    expect(requests.map((r) => r.body.strategy)).toEqual(["preview", "mine", "preview"]);
    expect(useMerge.getState().preview?.clean).toBe(false);
  });
});

describe("conflicts in words", () => {
  const labelOf = (id: string) => ({ prompt: "Prompt", up: "Upscale", a: "Idea" }[id] ?? id);

  it("names the node, the setting and both values", () => {
    expect(describeConflict(preview(false).conflicts[0], labelOf))
      .toBe("Prompt: prompt (you “horse”, them “pig”)");
    expect(describeConflict({ nodeId: "up", field: "node", reason: "deleted_by_you",
                              base: {}, mine: null, theirs: {} }, labelOf))
      .toBe("Upscale: you deleted it, they changed it");
    expect(describeConflict({ nodeId: "up", field: "in-image", reason: "both_changed",
                              base: [], mine: [{ source: "a" }], theirs: [] }, labelOf))
      .toBe("Upscale: input image (you Idea, them nothing)");
    expect(describeConflict({ nodeId: "up", field: "position", reason: "both_changed",
                              base: null, mine: { x: 1 }, theirs: null }, labelOf))
      .toBe('Upscale: its place (you {"x":1}, them unset)');
  });

  it("says what the choice did", () => {
    expect(resolvedMessage("theirs", 5, preview(false)))
      .toBe("Took v2 by ann (now v5); yours is kept in Versions");
    expect(resolvedMessage("mine", undefined, null))
      .toBe("Kept yours over theirs; theirs stays in Versions");
    expect(touchedLabels(["prompt", "up", "a", "x", "y"], labelOf))
      .toBe("Prompt, Upscale, Idea and 2 more");
  });
});
