import { applyPoll, applyStarted, cancel, openPast, showLatest, start } from "./runs";
import { useEditor } from "./store";
import { pollOf } from "./testPolls";


describe("applying a poll", () => {
  it("keeps what newer events said, fills in the rest, and takes a newer answer", () => {
    const editor = useEditor.getState();
    editor.startRun("run-1");
    editor.nodeEvent("a", { status: "COMPLETED", progress: 1 }, 12);
    editor.runEvent("COMPLETED", 13);
    applyPoll({ ...pollOf("run-1", "RUNNING", [["a", "RUNNING"], ["c", "PENDING"]]), seq: 5 });
    expect(useEditor.getState().runs.a.status).toBe("COMPLETED");
    expect(useEditor.getState().runs.c.status).toBe("PENDING");
    expect(useEditor.getState().runStatus).toBe("COMPLETED");
    applyPoll({ ...pollOf("run-1", "COMPLETED", [["a", "COMPLETED"], ["b", "CACHED"]]), seq: 14 });
    expect(useEditor.getState().runs.b.status).toBe("CACHED");
    expect(useEditor.getState().runSeq).toBe(14);
    applyPoll({ ...pollOf("run-2", "QUEUED", [["a", "QUEUED"]]), seq: 1 });  // another run
    expect(useEditor.getState()).toMatchObject({ executionId: "run-2", runSeq: 1 });
  });
});

describe("the seed a node used", () => {
  it("comes with the poll, so the node can offer to lock it", () => {
    const poll = pollOf("run-s", "COMPLETED", [["flux", "COMPLETED"]]);
    poll.nodeResults.nodeRuns[0].seed = 424242;
    applyPoll({ ...poll, seq: 3 });
    expect(useEditor.getState().runs.flux).toMatchObject({ status: "COMPLETED", seed: 424242 });
  });
});

describe("a pinned output", () => {
  it("is kept on the node until unpinned, and a poll says when it predates changes", () => {
    const editor = useEditor.getState();
    editor.load({ id: "w", name: "w", updatedAt: "t", webhookUrl: null, edges: [],
                  nodes: [{ id: "flux", type: "basedNode", position: { x: 0, y: 0 },
                            data: { nodeType: "generate:flux_2_pro", config: {} } }] });
    editor.setPinned("flux", "run-p");
    expect(useEditor.getState().nodes[0].data.pinned).toEqual({ executionId: "run-p" });
    expect(useEditor.getState().dirty).toBe(true);
    applyPoll({ ...pollOf("run-q", "COMPLETED", [["flux", "CACHED"]]), seq: 2,
                staleDependencies: [{ nodeId: "flux", nodeLabel: "FLUX", message: "changed",
                                      reason: "pinned_output_outdated", changedNodes: ["p"],
                                      pinnedFrom: { executionId: "run-p" } }] });
    expect(useEditor.getState().stale).toEqual({ flux: "changed" });
    useEditor.getState().setPinned("flux", null);
    expect(useEditor.getState().nodes[0].data).not.toHaveProperty("pinned");
    expect(useEditor.getState().stale).toEqual({});
    useEditor.getState().undo();
    expect(useEditor.getState().nodes[0].data.pinned).toEqual({ executionId: "run-p" });
  });
});

describe("a run started from the editor", () => {
  it("shows every node of the new run at once, without undoing what events said", () => {
    const editor = useEditor.getState();
    editor.startRun("old");
    editor.nodeEvent("a", { status: "COMPLETED" }, 3);
    editor.startRun("new");
    editor.nodeEvent("a", { status: "RUNNING", progress: 0.5 }, 2);  // the socket was first
    applyStarted("new", pollOf("new", "QUEUED", [["a", "QUEUED"], ["b", "PENDING"]])
      .nodeResults.nodeRuns);
    expect(useEditor.getState().runs.a).toMatchObject({ status: "RUNNING", progress: 0.5 });
    expect(useEditor.getState().runs.b.status).toBe("PENDING");
    applyStarted("newer", pollOf("newer", "QUEUED", [["a", "QUEUED"]]).nodeResults.nodeRuns);
    expect(useEditor.getState()).toMatchObject({ executionId: "newer",
                                                 runs: { a: { status: "QUEUED" } } });
  });
});

/** A stand-in server: each request is recorded and answered by `answer` (a promise the test
 * may hold back). */
function fakeServer(answer: (method: string, url: string) => Promise<object>) {
  const requests: string[] = [];
  vi.stubGlobal("document", { cookie: "" });
  vi.stubGlobal("fetch", async (url: string, init: { method: string }) => {
    requests.push(`${init.method} ${url}`);
    const body = await answer(init.method, url);
    const status = "status" in body && typeof body.status === "number" ? body.status : 200;
    return { ok: status < 400, status, text: async () => JSON.stringify(body) };
  });
  return requests;
}

describe("the run lifecycle", () => {
  beforeEach(() => {
    useEditor.setState({ workflowId: "w", canEdit: true, canRun: true, dirty: false,
                         executionId: null, runStatus: null, runs: {}, viewingPast: false,
                         notice: null });
  });
  afterEach(() => vi.unstubAllGlobals());

  it("starts one run at a time: a second start while one starts does nothing", async () => {
    let release = () => {};
    const held = new Promise<void>((resolve) => { release = resolve; });
    const requests = fakeServer(async (method) => {
      if (method === "POST") {
        await held;
        const { nodeRuns } = pollOf("run-1", "QUEUED", [["a", "QUEUED"]]).nodeResults;
        return { executionId: "run-1", status: "QUEUED", executionRuns: [{ id: "r", nodeRuns }] };
      }
      return pollOf("run-1", "RUNNING", [["a", "RUNNING"]]);
    });
    const first = start("w");
    const second = start("w");
    release();
    await Promise.all([first, second]);
    expect(requests).toEqual(["POST /api/v1/workflows/w/execute",
                              "GET /api/v1/workflows/executions/run-1/poll"]);
    expect(useEditor.getState()).toMatchObject({ executionId: "run-1", runStatus: "RUNNING",
                                                 runs: { a: { status: "RUNNING" } } });
    await start("w", "a");  // once started, the next run may start
    expect(requests.filter((r) => r.startsWith("POST"))).toHaveLength(2);
  });

  it("says why a run did not start, and lets the next one try", async () => {
    const requests = fakeServer(async () => ({
      status: 402, error: "Insufficient credits. Required: 3, Available: 0" }));
    await start("w");
    expect(useEditor.getState().notice)
      .toBe("Not started: Insufficient credits. Required: 3, Available: 0");
    await start("w");
    expect(requests).toHaveLength(2);
  });

  it("starts nothing for a viewer", async () => {
    const requests = fakeServer(async () => ({}));
    useEditor.setState({ canRun: false });
    await start("w");
    expect(requests).toEqual([]);
  });

  it("cancels the run on the canvas and shows what the cancel left", async () => {
    const requests = fakeServer(async () => pollOf("run-1", "CANCELLED",
                                                   [["a", "CANCELLED"]]));
    await cancel();
    expect(requests).toEqual([]);  // nothing on the canvas, nothing to cancel
    useEditor.getState().startRun("run-1");
    await cancel();
    expect(requests).toEqual(["POST /api/v1/workflows/executions/run-1/cancel"]);
    expect(useEditor.getState()).toMatchObject({ runStatus: "CANCELLED",
                                                 runs: { a: { status: "CANCELLED" } } });
  });

  it("opens a past run, then goes back to the latest", async () => {
    const then = [{ id: "a", type: "basedNode", position: { x: 0, y: 0 },
                    data: { nodeType: "generate:flux_2_pro" as const,
                            config: { prompt: "then" } } }];
    const requests = fakeServer(async (_, url) => url.endsWith("/old/graph")
      ? { data: { executionId: "old", nodes: then, edges: [] } }
      : url.includes("/old/") ? pollOf("old", "FAILED", [["a", "FAILED"]])
      : url.includes("/new/") ? pollOf("new", "RUNNING", [["a", "RUNNING"]])
      : { executions: [{ executionId: "new" }], total: 2 });
    useEditor.getState().load({ id: "w", name: "w", updatedAt: "t", webhookUrl: null, edges: [],
                                nodes: [{ ...then[0], data: { ...then[0].data,
                                                              config: { prompt: "now" } } }] });
    useEditor.getState().setPermissions({ canEdit: true, canRun: true });
    useEditor.getState().startRun("new");
    await openPast("old");
    expect(useEditor.getState()).toMatchObject({ executionId: "old", viewingPast: true,
                                                 runStatus: "FAILED", canEdit: false });
    // The run's own graph, read-only, not today's.
    expect(useEditor.getState().nodes[0].data.config?.prompt).toBe("then");
    await showLatest();
    expect(useEditor.getState().nodes[0].data.config?.prompt).toBe("now");
    expect(useEditor.getState().canEdit).toBe(true);
    expect(requests.at(-2)).toBe(
      "GET /api/v1/workflows/executions?workflowId=w&limit=1&offset=0");
    expect(useEditor.getState()).toMatchObject({ executionId: "new", viewingPast: false,
                                                 runStatus: "RUNNING" });
  });

  it("lets the history panel say why a past run did not open", async () => {
    fakeServer(async () => ({ status: 404, error: "Execution not found" }));
    await expect(openPast("gone")).rejects.toThrow("Execution not found");
  });
});
