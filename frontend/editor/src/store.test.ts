import { useEditor } from "./store";
import type { NodeSpec } from "./types";

const textSpec: NodeSpec = {
  nodeType: "input:text", label: "Text", category: "input", description: "", credits: 0,
  preview: false, executable: true,
  inputs: [{ id: "prompt", label: "Prompt", type: "text", isPort: false, required: false,
             default: "", min: null, max: null, enum: null, description: "", multiple: false,
             multipleOf: null }],
  outputs: [{ id: "prompt", label: "Prompt", type: "text" }],
};

describe("editor store", () => {
  beforeEach(() => {
    useEditor.getState().setCatalog([textSpec]);
    useEditor.getState().load({ id: "w", name: "w", updatedAt: "t0", webhookUrl: "", nodes: [],
                                edges: [] });
  });

  it("undoes and redoes adding a node and editing it", () => {
    const editor = useEditor.getState();
    editor.addNode("input:text", { x: 0, y: 0 });
    const id = useEditor.getState().nodes[0].id;
    editor.setConfig(id, "prompt", "hello");
    expect(useEditor.getState().nodes[0].data.config).toEqual({ prompt: "hello" });
    editor.undo();
    expect(useEditor.getState().nodes[0].data.config).toEqual({ prompt: "" });
    editor.undo();
    expect(useEditor.getState().nodes).toHaveLength(0);
    editor.redo();
    editor.redo();
    expect(useEditor.getState().nodes[0].data.config).toEqual({ prompt: "hello" });
    expect(useEditor.getState().dirty).toBe(true);
  });

  it("keeps run status per node", () => {
    const editor = useEditor.getState();
    editor.startRun("x");
    editor.nodeEvent("a", { status: "RUNNING", progress: 0.5 });
    editor.nodeEvent("a", { status: "COMPLETED", progress: 1 });
    expect(useEditor.getState().runs.a).toMatchObject({ status: "COMPLETED", progress: 1 });
  });
});

const imageSpec: NodeSpec = {
  ...textSpec, nodeType: "process:upscale_local", label: "Upscale", category: "process",
  inputs: [{ ...textSpec.inputs[0], id: "image", type: "image", isPort: true },
           { ...textSpec.inputs[0], id: "scale", type: "integer", default: 2 }],
  outputs: [{ id: "image", label: "Image", type: "image" }],
};

describe("editor store: editing the graph", () => {
  beforeEach(() => {
    useEditor.getState().setCatalog([textSpec, imageSpec]);
    useEditor.getState().load({ id: "w", name: "w", updatedAt: "t0", webhookUrl: "", nodes: [],
                                edges: [] });
  });
  const select = (...ids: string[]) => useEditor.setState({
    nodes: useEditor.getState().nodes.map((n) => ({ ...n, selected: ids.includes(n.id) })),
  });

  it("refuses a text → image edge with a visible reason, and keeps an equal-type one", () => {
    const editor = useEditor.getState();
    editor.addNode("input:text", { x: 0, y: 0 });
    editor.addNode("process:upscale_local", { x: 300, y: 0 });
    editor.addNode("process:upscale_local", { x: 600, y: 0 });
    editor.connect({ source: "text-1", sourceHandle: "out-prompt", target: "upscale-local-1",
                     targetHandle: "in-image" });
    expect(useEditor.getState().edges).toHaveLength(0);
    expect(useEditor.getState().notice).toContain("gives text");
    editor.connect({ source: "upscale-local-1", sourceHandle: "out-image",
                     target: "upscale-local-2", targetHandle: "in-image" });
    expect(useEditor.getState().edges).toHaveLength(1);
    expect(useEditor.getState().notice).toBeNull();
  });

  it("tells a dragged edge which handles it may join, and says why it was not dropped", () => {
    const editor = useEditor.getState();
    editor.addNode("input:text", { x: 0, y: 0 });
    editor.addNode("process:upscale_local", { x: 300, y: 0 });
    editor.addNode("process:upscale_local", { x: 600, y: 0 });
    const mismatched = { source: "text-1", sourceHandle: "out-prompt",
                         target: "upscale-local-1", targetHandle: "in-image" };
    const matching = { source: "upscale-local-1", sourceHandle: "out-image",
                       target: "upscale-local-2", targetHandle: "in-image" };
    expect(editor.canConnect(mismatched)).toBe(false);
    expect(editor.canConnect(matching)).toBe(true);
    expect(useEditor.getState().notice).toBeNull();  // asking changes nothing
    editor.explainRefusal(mismatched);
    expect(useEditor.getState().notice).toContain("gives text");
    expect(useEditor.getState().edges).toHaveLength(0);
  });

  it("copies, pastes twice and duplicates as new selected nodes, each one undo step", () => {
    const editor = useEditor.getState();
    editor.addNode("process:upscale_local", { x: 0, y: 0 });
    editor.addNode("process:upscale_local", { x: 300, y: 0 });
    editor.connect({ source: "upscale-local-1", sourceHandle: "out-image",
                     target: "upscale-local-2", targetHandle: "in-image" });
    select("upscale-local-1", "upscale-local-2");
    expect(editor.copy()).toBe(2);
    editor.paste();
    editor.paste();
    let state = useEditor.getState();
    expect(state.nodes.map((n) => n.id)).toEqual([
      "upscale-local-1", "upscale-local-2", "upscale-local-3", "upscale-local-4",
      "upscale-local-5", "upscale-local-6"]);
    expect(state.edges).toHaveLength(3);
    expect(state.nodes.filter((n) => n.selected).map((n) => n.id))
      .toEqual(["upscale-local-5", "upscale-local-6"]);
    expect(state.nodes[4].position).toEqual({ x: 80, y: 80 });
    editor.duplicate();
    expect(useEditor.getState().nodes).toHaveLength(8);
    editor.undo();
    editor.undo();
    state = useEditor.getState();
    expect(state.nodes).toHaveLength(4);
    expect(state.edges).toHaveLength(2);
  });

  it("deletes the selection with its edges in one undoable step", () => {
    const editor = useEditor.getState();
    editor.addNode("process:upscale_local", { x: 0, y: 0 });
    editor.addNode("process:upscale_local", { x: 300, y: 0 });
    editor.connect({ source: "upscale-local-1", sourceHandle: "out-image",
                     target: "upscale-local-2", targetHandle: "in-image" });
    select("upscale-local-2");
    editor.deleteSelected();
    expect(useEditor.getState().nodes.map((n) => n.id)).toEqual(["upscale-local-1"]);
    expect(useEditor.getState().edges).toHaveLength(0);
    editor.undo();
    expect(useEditor.getState().nodes).toHaveLength(2);
    expect(useEditor.getState().edges).toHaveLength(1);
  });

  it("makes typing in one field one undo step, and a new field a new one", () => {
    const editor = useEditor.getState();
    editor.addNode("input:text", { x: 0, y: 0 });
    for (const text of ["a", "a l", "a li", "a lig"]) editor.setConfig("text-1", "prompt", text);
    editor.setLabel("text-1", "Idea");
    editor.undo();
    expect(useEditor.getState().nodes[0].data.label).toBe("Text");
    expect(useEditor.getState().nodes[0].data.config).toEqual({ prompt: "a lig" });
    editor.undo();
    expect(useEditor.getState().nodes[0].data.config).toEqual({ prompt: "" });
  });

  it("lays the graph out left to right as one undo step", () => {
    const editor = useEditor.getState();
    editor.addNode("input:text", { x: 900, y: 900 });
    editor.addNode("process:upscale_local", { x: 0, y: 0 });
    editor.autoLayout(new Map());
    const [text, upscale] = useEditor.getState().nodes;
    expect(text.position).not.toEqual({ x: 900, y: 900 });
    expect(upscale.position).not.toEqual({ x: 0, y: 0 });
    editor.undo();
    expect(useEditor.getState().nodes[0].position).toEqual({ x: 900, y: 900 });
  });

  it("keeps edits made during a save unsaved", () => {
    useEditor.getState().addNode("input:text", { x: 0, y: 0 });
    useEditor.getState().saved("t1", false);
    expect(useEditor.getState()).toMatchObject({ updatedAt: "t1", dirty: true });
    useEditor.getState().saved("t2");
    expect(useEditor.getState()).toMatchObject({ updatedAt: "t2", dirty: false });
  });
});

describe("run status", () => {
  it("counts finished nodes for the run bar, and a new run starts clean", async () => {
    const { selectFinishedCount, selectRunTotal } = await import("./store");
    const editor = useEditor.getState();
    editor.startRun("r1");
    for (const [id, status] of [["a", "COMPLETED"], ["b", "RUNNING"], ["c", "CACHED"],
                                ["d", "SKIPPED"]] as const) {
      editor.nodeEvent(id, { status });
    }
    expect(selectFinishedCount(useEditor.getState())).toBe(3);
    expect(selectRunTotal(useEditor.getState())).toBe(4);
    editor.startRun("r2", { past: true });
    expect(useEditor.getState()).toMatchObject({ runs: {}, viewingPast: true, executionId: "r2" });
  });
});

describe("render isolation", () => {
  it("a node status event leaves the graph and the other nodes' status objects alone", () => {
    const editor = useEditor.getState();
    editor.addNode("input:text", { x: 0, y: 0 });
    editor.startRun("r");
    editor.nodeEvent("a", { status: "RUNNING" });
    editor.nodeEvent("b", { status: "RUNNING" });
    const before = useEditor.getState();
    editor.nodeEvent("b", { status: "COMPLETED", progress: 1 });
    const after = useEditor.getState();
    expect(after.nodes).toBe(before.nodes);
    expect(after.edges).toBe(before.edges);
    expect(after.runs.a).toBe(before.runs.a);
    expect(after.runs.b).not.toBe(before.runs.b);
  });
});

describe("estimate", () => {
  it("keeps each node's credits for the canvas, and forgets them when cleared", () => {
    useEditor.getState().setEstimate({
      estimatedCredits: 5, availableCredits: 10, sufficient: true, estimateComplete: true,
      breakdown: [{ nodeId: "flux", nodeLabel: "FLUX", credits: 3 },
                  { nodeId: "up", nodeLabel: "Up", credits: 2 }] });
    expect(useEditor.getState().nodeCredits).toEqual({ flux: 3, up: 2 });
    useEditor.getState().setEstimate(null);
    expect(useEditor.getState().nodeCredits).toEqual({});
  });
});

describe("events out of order", () => {
  it("never lets an older event undo a newer one, for a node or for the run", () => {
    const editor = useEditor.getState();
    editor.startRun("r");
    editor.nodeEvent("a", { status: "COMPLETED", progress: 1 }, 5);
    editor.nodeEvent("a", { status: "RUNNING", progress: 0 }, 4);  // late
    expect(useEditor.getState().runs.a).toMatchObject({ status: "COMPLETED", seq: 5 });
    editor.nodeEvent("b", { status: "RUNNING" }, 3);  // other nodes are not held back
    expect(useEditor.getState().runs.b.status).toBe("RUNNING");
    editor.runEvent("COMPLETED", 9);
    editor.runEvent("RUNNING", 2);
    expect(useEditor.getState().runStatus).toBe("COMPLETED");
  });
});
