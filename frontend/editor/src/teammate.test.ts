import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { useMerge } from "./merge";
import { CONFLICT, save } from "./save";
import { useEditor } from "./store";
import { workflowSaved } from "./teammate";
import type { Workflow, WorkflowNode, WorkflowSavedEvent } from "./types";

const at = (second: number) => `2026-12-03T17:00:${String(second).padStart(2, "0")}.000000Z`;

const node = (id: string, label: string): WorkflowNode => ({
  id, type: "basedNode", position: { x: id === "a" ? 0 : 300, y: 0 },
  data: { label, nodeType: "input:text", category: "input", config: { prompt: id } },
} as WorkflowNode);

const workflow = (updatedAt: string, nodes: WorkflowNode[], version = 2): Workflow => ({
  id: "w", name: "w", updatedAt, webhookUrl: "", version, nodes, edges: [],
});

const told = (updatedAt: string, version = 12): WorkflowSavedEvent => ({
  type: "workflow.saved", workflowId: "w", version, updatedAt, author: "Ann",
});

/** A stand-in server: `answer` gives each request's reply (or a promise of it). */
function fakeServer(answer: (method: string, url: string) => object | Promise<object>) {
  const requests: { method: string; url: string }[] = [];
  vi.stubGlobal("document", { cookie: "" });
  vi.stubGlobal("fetch", async (url: string, init: { method: string }) => {
    requests.push({ method: init.method, url });
    const reply = await answer(init.method, url);
    const status = "status" in reply && typeof reply.status === "number" ? reply.status : 200;
    return { ok: status < 400, status, text: async () => JSON.stringify(reply) };
  });
  return requests;
}

describe("a save told over the socket", () => {
  beforeEach(() => {
    useEditor.getState().load(workflow(at(1), [node("a", "Prompt"), node("b", "Other")]));
    useEditor.setState({ canEdit: true, notice: null, saving: false, stashed: null,
                         viewingPast: false });
    useMerge.setState({ preview: null, checking: false, busy: false, error: null });
  });
  afterEach(() => vi.unstubAllGlobals());

  it("ignores the echo of our own save, even before the save's answer", async () => {
    let answer: (reply: object) => void = () => undefined;
    const requests = fakeServer((method) => method === "POST"
      ? new Promise((resolve) => { answer = resolve; })
      : { status: 500, error: "not asked" });
    useEditor.getState().setLabel("a", "Mine");
    const saving = save();
    await vi.waitFor(() => expect(requests).toHaveLength(1));
    await workflowSaved(told(at(2)));  // the socket is quicker than the HTTP answer
    answer({ data: workflow(at(2), [node("a", "Mine"), node("b", "Other")], 3) });
    expect(await saving).toBe(true);
    await workflowSaved(told(at(2)));  // and once more after it: still ours
    expect(requests.map((r) => r.method)).toEqual(["POST"]);
    const editor = useEditor.getState();
    expect(editor.notice).toBeNull();
    expect(editor.updatedAt).toBe(at(2));
    expect(editor.nodes[0].data.label).toBe("Mine");
  });

  it("loads a teammate's save in place when nothing is unsaved, keeping the selection",
     async () => {
    useEditor.setState({ nodes: useEditor.getState().nodes.map(
      (n) => n.id === "b" ? { ...n, selected: true } : n) });
    const requests = fakeServer((method, url) => method === "GET" && url === "/api/v1/workflows/w"
      ? workflow(at(5), [node("b", "Theirs"), node("c", "New")], 12)
      : { status: 500, error: "not asked" });
    await workflowSaved(told(at(5)));
    expect(requests).toEqual([{ method: "GET", url: "/api/v1/workflows/w" }]);
    const editor = useEditor.getState();
    expect(editor.nodes.map((n) => [n.id, n.data.label, Boolean(n.selected)]))
      .toEqual([["b", "Theirs", true], ["c", "New", false]]);
    expect(editor.dirty).toBe(false);
    expect(editor.updatedAt).toBe(at(5));
    expect(editor.base?.nodes.map((n) => n.data.label)).toEqual(["Theirs", "New"]);
    expect(editor.notice).toBe("Ann saved v12");
    // An older save told late changes nothing.
    await workflowSaved(told(at(4), 11));
    expect(requests).toHaveLength(1);
  });

  it("offers the merge at once when there are unsaved changes, saving nothing", async () => {
    const requests = fakeServer((method, url) => url.endsWith("/merge")
      ? { data: { clean: true, conflicts: [], nodes: [], edges: [], mineTouched: ["a"],
                  theirsTouched: ["b"], saved: null,
                  theirs: { version: 12, updatedAt: at(5), author: "Ann" } } }
      : { status: 500, error: "not asked" });
    useEditor.getState().setLabel("a", "Mine");
    await workflowSaved(told(at(5)));
    expect(useEditor.getState().notice).toBe(CONFLICT);
    await vi.waitFor(() => expect(useMerge.getState().preview?.clean).toBe(true));
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual(["POST /api/v1/workflows/w/merge"]);
    const editor = useEditor.getState();
    expect(editor.nodes[0].data.label).toBe("Mine");  // the canvas keeps my edit
    expect(editor.dirty).toBe(true);
    expect(editor.updatedAt).toBe(at(1));
  });
});
